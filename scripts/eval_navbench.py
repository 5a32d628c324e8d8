"""NavBench-GS: evaluate a model or baseline on the four benchmark tasks and write the results table.

    ./isaaclab.sh -p scripts/eval_navbench.py                 # the bundled AGDM, wheeled robot, urban split
    ./isaaclab.sh -p scripts/eval_navbench.py --split shift   # held-out looks and block types
    ./isaaclab.sh -p scripts/eval_navbench.py --method agdm --checkpoint logs/pretrain/<run>/agdm.pt \
        --name S2E-BC-Single
    ./isaaclab.sh -p scripts/eval_navbench.py --method run --load_run logs/rsl_rl/s2e_ram_wheeled/<run> --name S2E-RAM
    ./isaaclab.sh -p scripts/eval_navbench.py --method run --load_run '.*_go2_ram' --robot quadruped --name S2E-RAM
    ./isaaclab.sh -p scripts/eval_navbench.py --method expert          # also: straight (straight-to-goal)
    ./isaaclab.sh -p scripts/eval_navbench.py --robot quadruped --tasks Obstacle Mixed
    ./isaaclab.sh -p scripts/eval_navbench.py --episodes_dir logs/bundles/block_3/navbench --tasks Empty Pedestrian \
        --name BC-on-bundle
    # any policy keeping the contract:
    ./isaaclab.sh -p scripts/eval_navbench.py --method policy \
        --policy examples.navbench_policy.route_follower:make_policy --policy_kwargs speed=0.8 --name RouteFollower
    ./isaaclab.sh -p scripts/eval_navbench.py --method policy --policy ws://127.0.0.1:8765 --name MyServedPolicy

Each task runs in its own process (on a CPU one per core side by side: --parallel) over the task's
episode file (the split's, under assets/, or --episodes_dir's) and writes <out>/<split>/<robot>/<name>/<task>.json (with
--episodes_dir: <episodes_dir>/results/<robot>/<name>/; summary with 95 % intervals, per scene, per episode) and a
top-down map of sample episodes. A task whose result exists for the same method, model, mode and episode file
is not run again, and a running task saves its finished episodes as they end
(<out>/<robot>/<name>/.<task>.partial.json), so an interrupted evaluation resumes mid-task; signals reach the worker and
it ends with this process. Afterwards every method under <out>/<split>/<robot>/ goes into results.md / .csv / .json,
verdicts against S2E-BC and bars.png there, and on a split other than urban, split_drop.md: each method's drop from
urban beyond S2E-BC's. The same seed gives the same numbers (the policies act deterministically; episodes are fixed by
the episode file).
--load_run means what it means for train_ram.py and play.py: a run folder, or a regex of run folder
names under the robot's experiment folder (logs/rsl_rl/s2e_ram_<robot>/; the newest matching run).
The evaluation itself is the library s2e_isaaclab.evaluation (navbench, report).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from s2e.navbench.splits import DEFAULT_SPLIT, SPLITS
from s2e.navbench.tasks import ROBOTS, TASKS
from s2e_isaaclab.evaluation.models import resolve_model
from s2e_isaaclab.evaluation.navbench import (
    DEFAULT_NAMES,
    METHODS,
    NavBenchRun,
    evaluate_task,
    evaluate_tasks,
    open_policy,
)
from s2e_isaaclab.evaluation.report import write_report, write_split_drop
from s2e_isaaclab.utils.cli import (
    RUN_CHECKPOINT_PATTERN,
    UserError,
    add_mode_arg,
    add_viz_args,
    check_env_args,
    check_viz_args,
    ensure_writable,
    run_main,
)


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=METHODS, default="agdm",
                        help="agdm checkpoint, fine-tuned run, a baseline, or any policy keeping the contract "
                             "(--policy)")
    parser.add_argument("--name", default=None, help="row name in the results table (default: per method, e.g. S2E-BC)")
    parser.add_argument("--checkpoint", default=None,
                        help="--method agdm: AGDM checkpoint or shipped fine-tuned policy (default: the bundled AGDM)")
    parser.add_argument("--load_run", default=None,
                        help="--method run: the run folder (logs/rsl_rl/<experiment>/<run>), or a regex of run folder "
                             "names under the robot's experiment folder (the newest matching run)")
    parser.add_argument("--load_checkpoint", default=RUN_CHECKPOINT_PATTERN,
                        help="--method run: checkpoint in the run (regex; default: the latest)")
    parser.add_argument("--policy", default=None,
                        help="--method policy: a factory package.module:function, or a policy server ws://host:port "
                             "(docs/navbench.md#enter-your-own-policy)")
    parser.add_argument("--policy_kwargs", nargs="+", default=[], metavar="KEY=VALUE",
                        help="--method policy: keyword arguments of the factory (values read as YAML)")
    parser.add_argument("--robot", choices=ROBOTS, default="wheeled")
    parser.add_argument("--split", choices=list(SPLITS), default=DEFAULT_SPLIT,
                        help="which shipped episodes: urban (v1, in-distribution) or shift (held-out looks and block "
                             "types)")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    add_mode_arg(parser, "base", "robot control: fast base-velocity model or joint-level controllers")
    parser.add_argument("--num_envs", type=int, default=None,
                        help="default: the most the episode file deals evenly (<= 16)")
    parser.add_argument("--episodes_dir", default=None,
                        help="episode files to use instead of the shipped suite (e.g. made for a scene bundle by "
                             "make_navbench_episodes.py --scene_bundle)")
    parser.add_argument("--episodes_per_env", type=int, default=None,
                        help="only the first K episodes of each env's share (a quick look; default: all of the episode "
                             "file's)")
    parser.add_argument("--parallel", type=int, default=None,
                        help="tasks evaluated side by side, sharing the cores (default: one per core on a CPU, 1 on a "
                             "GPU)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", default=None, help="results root (default: logs/navbench, or <episodes_dir>/results)")
    add_viz_args(parser)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # internal: evaluate one task in this process
    return parser.parse_args(argv)


def parse_kwargs(items: list[str]) -> dict:
    """KEY=VALUE strings as a mapping, each value read as YAML (numbers, booleans, lists, strings)."""
    import yaml

    out = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise UserError(f"--policy_kwargs {item!r}: write KEY=VALUE, e.g. speed=0.8")
        out[key] = yaml.safe_load(text)
    return out


def log(line: str) -> None:
    print(f"[navbench] {line}", flush=True)


def main() -> None:
    args = parse_args()
    args.name = args.name or DEFAULT_NAMES[args.method]
    if "/" in args.name or args.name.startswith("."):
        raise UserError(f"--name {args.name!r} is used as a folder name: no '/' and no leading '.'")
    check_env_args(args)
    check_viz_args(args)
    if args.episodes_per_env is not None and args.episodes_per_env < 1:
        raise UserError(f"--episodes_per_env {args.episodes_per_env}: evaluate at least 1 episode per env (or leave it "
                        "out for all)")
    if args.parallel is not None and args.parallel < 1:
        raise UserError(f"--parallel {args.parallel}: run at least 1 task at a time (or leave it out: one per core)")
    if (args.method == "policy") != (args.policy is not None):
        raise UserError("--method policy and --policy go together: --method policy --policy package.module:function "
                        "(or ws://host:port)")
    model = resolve_model(args.method, args.robot, args.checkpoint, args.load_run, args.load_checkpoint)
    run = NavBenchRun(method=args.method, name=args.name, model=model, robot=args.robot, mode=args.mode, seed=args.seed,
                      num_envs=args.num_envs, episodes_per_env=args.episodes_per_env, split=args.split,
                      episodes_dir=args.episodes_dir, policy=args.policy,
                      policy_kwargs=parse_kwargs(args.policy_kwargs),
                      device=args.device, headless=args.headless, visualizer=args.visualizer, viz_port=args.viz_port,
                      viz_host=args.viz_host)
    root = Path(args.out or "logs/navbench") / args.split if args.episodes_dir is None else \
        Path(args.out or Path(args.episodes_dir) / "results")
    out = root / args.robot / args.name
    if args.worker:
        evaluate_task(run, args.worker, out, log)
        return
    if args.method == "policy":  # a factory that does not load or a server that does not answer: one line, now
        policy, _ = open_policy(run)
        getattr(policy, "close", lambda: None)()
    ensure_writable(out, "results")
    t0 = time.time()
    evaluate_tasks(run, args.tasks, out, lambda task: [sys.executable, __file__, *sys.argv[1:], "--worker", task], log,
                   args.parallel)
    table = write_report(out.parent, warn=lambda line: print(f"[navbench] warning: {line}", file=sys.stderr,
                                                             flush=True))
    episodes = args.split if args.episodes_dir is None else args.episodes_dir
    print(f"[navbench] {time.time() - t0:.0f} s; table of all methods for the {args.robot} robot on {episodes}: "
          f"{table}")
    print(table.read_text())
    drop = write_split_drop(root.parent, args.split, args.robot) if args.episodes_dir is None else None
    if drop is not None:
        print(f"[navbench] the drop from {DEFAULT_SPLIT} to {args.split} beyond S2E-BC's: {drop}")


if __name__ == "__main__":
    run_main(main)
