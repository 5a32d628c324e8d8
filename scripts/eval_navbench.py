"""NavBench-GS: evaluate a model or baseline on the four benchmark tasks and write the results table.

    ./isaaclab.sh -p scripts/eval_navbench.py                                  # the bundled AGDM, wheeled robot
    ./isaaclab.sh -p scripts/eval_navbench.py --method agdm --checkpoint logs/pretrain/<run>/agdm.pt --name S2E-BC-Single
    ./isaaclab.sh -p scripts/eval_navbench.py --method run --load_run logs/rsl_rl/s2e_ram_wheeled/<run> --name S2E-RAM
    ./isaaclab.sh -p scripts/eval_navbench.py --method expert          # also: straight (straight-to-goal)
    ./isaaclab.sh -p scripts/eval_navbench.py --robot quadruped --tasks Obstacle Mixed
    ./isaaclab.sh -p scripts/eval_navbench.py --episodes_dir logs/bundles/block_3/navbench --tasks Empty Pedestrian --name BC-on-bundle

Each task runs in its own process over the task's episode file (assets/navbench/v1) and writes
<out>/<robot>/<name>/<task>.json (summary with 95 % intervals, per scene, per episode) and a top-down
map of sample episodes. A task whose result exists for the same method, model, mode and episode file
is not run again, and a running task saves its finished episodes as they end (<out>/<robot>/<name>/.<task>.partial.json),
so an interrupted evaluation resumes mid-task; signals reach the worker and it ends with this process. Afterwards every method
under <out>/<robot>/ goes into results.md / .csv / .json and bars.png there. The same seed gives
the same numbers (the policies act deterministically; episodes are fixed by the episode file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

from s2e_isaaclab.utils.cli import RUN_CHECKPOINT_PATTERN, UserError, add_mode_arg, add_viz_args, check_env_args, check_viz_args, ensure_writable, run_main
from s2e_isaaclab.utils.evaluation import load_cached_result

TASKS = ("Empty", "Obstacle", "Pedestrian", "Mixed")
METHODS = ("agdm", "run", "expert", "straight")
DEFAULT_NAMES = {"agdm": "S2E-BC", "run": "S2E-RL", "expert": "Expert", "straight": "Straight-to-goal"}
TABLE_ORDER = ("Expert", "Straight-to-goal", "S2E-BC-Single", "S2E-BC", "SFT", "RL-Full", "RL-Decoder", "S2E-RAM")
"""Rows of the results table in the paper's order (baselines, BC, the fine-tuning strategies); other names follow."""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", choices=METHODS, default="agdm", help="agdm checkpoint, fine-tuned run, or a baseline")
    parser.add_argument("--name", default=None, help="row name in the results table (default: per method, e.g. S2E-BC)")
    parser.add_argument("--checkpoint", default=None, help="--method agdm: AGDM checkpoint or shipped fine-tuned policy (default: the bundled AGDM)")
    parser.add_argument("--load_run", default=None, help="--method run: the run folder (logs/rsl_rl/<experiment>/<run>)")
    parser.add_argument("--load_checkpoint", default=RUN_CHECKPOINT_PATTERN, help="--method run: checkpoint in the run (regex; default: the latest)")
    parser.add_argument("--robot", choices=("wheeled", "quadruped"), default="wheeled")
    parser.add_argument("--tasks", nargs="+", choices=TASKS, default=list(TASKS))
    add_mode_arg(parser, "base", "robot control: fast base-velocity model or joint-level controllers")
    parser.add_argument("--num_envs", type=int, default=None, help="default: the most the episode file deals evenly (<= 16)")
    parser.add_argument("--episodes_dir", default=None,
                        help="episode files to use instead of the shipped suite (e.g. made for a scene bundle by make_navbench_episodes.py --scene_bundle)")
    parser.add_argument("--episodes_per_env", type=int, default=None,
                        help="only the first K episodes of each env's share (a quick look; default: all of the episode file's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", default="logs/navbench")
    add_viz_args(parser)
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # internal: evaluate one task in this process
    return parser.parse_args(argv)


def resolve_model(args: argparse.Namespace) -> str | None:
    """The model file the method evaluates (None for the baselines); UserError if it is missing."""
    if args.method == "agdm":
        if args.checkpoint is None:
            from s2e_isaaclab.paths import BUNDLED_CHECKPOINT, asset_path

            return asset_path(BUNDLED_CHECKPOINT)
        if not Path(args.checkpoint).is_file():
            raise UserError(f"AGDM checkpoint {args.checkpoint} not found: pass --checkpoint <file.pt> or leave it out for the bundled one")
        return str(Path(args.checkpoint).resolve())
    if args.method == "run":
        from s2e.rl.run_folders import run_checkpoints

        run = Path(args.load_run or "")
        if not args.load_run or not run.is_dir():
            raise UserError(f"--method run needs --load_run <run folder> (got {args.load_run!r}), e.g. logs/rsl_rl/s2e_ram_wheeled/<date>_<name>")
        checkpoints = run_checkpoints(run, args.load_checkpoint)
        if not checkpoints:
            raise UserError(f"no checkpoint matching {args.load_checkpoint!r} in {args.load_run}: train with train_ram.py first")
        return str(checkpoints[-1].resolve())
    return None


def _file_digest(path: str | None) -> str | None:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else None


def navbench_task_id(args: argparse.Namespace, task: str) -> str:
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import task_id

    return task_id(task, args.robot.capitalize())


def task_episode_file(args: argparse.Namespace, task: str) -> str:
    """The task's episode file: from --episodes_dir, else the shipped one."""
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import episode_file

    if args.episodes_dir is None:
        return episode_file(task, args.robot.capitalize())
    path = Path(args.episodes_dir) / f"{navbench_task_id(args, task)}.json"
    if not path.is_file():
        raise UserError(f"{path} not found: make it with scripts/make_navbench_episodes.py --scene_bundle <bundle> --out {args.episodes_dir}")
    return str(path.resolve())


def task_spec(args: argparse.Namespace, task: str, model: str | None) -> dict:
    """What a task result depends on; a saved result with another spec is recomputed, not reused."""
    episodes = task_episode_file(args, task)
    return {"task": navbench_task_id(args, task), "method": args.method, "model": model, "model_sha": _file_digest(model),
            "episode_file_sha": _file_digest(episodes), "mode": args.mode, "seed": args.seed, "num_envs": args.num_envs, "episodes_per_env": args.episodes_per_env}


def evaluate_task(args: argparse.Namespace, task: str, model: str | None, out: Path) -> None:
    """Run one task in this process (the --worker side) and write its result atomically."""
    import torch
    from tqdm import tqdm

    import s2e_isaaclab.tasks  # noqa: F401
    from s2e.models.checkpoint import CheckpointError
    from s2e.navbench.episodes import EpisodeFileError, load_suite
    from s2e.navbench.summary import summarize, summarize_by
    from s2e.rl.runner import RunnerCheckpointError
    from s2e.rl.trained_policy import load_policy_model, load_trained_model
    from s2e.urban.topdown import save_topdown_grid
    from s2e.utils.files import write_json_atomic
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import make_navbench
    from s2e_isaaclab.utils.cli import apply_env_args, build_cfgs, create_env
    from s2e_isaaclab.utils.episodes import EpisodeCounter
    from s2e_isaaclab.utils.nav_policies import AGDMPolicy, ScriptedExpertPolicy, StraightToGoalPolicy

    spec = task_spec(args, task, model)
    cli = argparse.Namespace(task=spec["task"], num_envs=args.num_envs, seed=args.seed, device=args.device, mode=args.mode,
                             content=None, camera=args.method in ("agdm", "run"), overrides=[], headless=args.headless,
                             visualizer=args.visualizer, viz_port=args.viz_port)
    try:
        cfg, _ = build_cfgs(cli)
        if args.episodes_dir is not None:
            path = task_episode_file(args, task)
            make_navbench(cfg, load_suite(path), spec["task"], path)
            apply_env_args(cfg, cli)  # again: make_navbench sets the benchmark's own control mode
            if args.num_envs is not None:
                cfg.scene.num_envs = args.num_envs
    except EpisodeFileError as err:
        raise UserError(str(err)) from None
    try:
        if args.method == "agdm":  # an AGDM checkpoint or a shipped fine-tuned policy (scripts/ship_policy.py)
            net, _ = load_policy_model(model)
        elif args.method == "run":
            net, _ = load_trained_model(model)
    except (CheckpointError, RunnerCheckpointError) as err:
        raise UserError(str(err)) from None
    env = create_env(spec["task"], cfg, cli)
    nav = env.unwrapped.command_manager.get_term("nav")
    try:
        if args.method in ("agdm", "run"):
            policy = AGDMPolicy(env, net)
        else:
            policy = ScriptedExpertPolicy(env) if args.method == "expert" else StraightToGoalPolicy(env)
    except ValueError as err:
        raise UserError(str(err)) from None
    quota = nav.suite.episodes_per_env(env.unwrapped.num_envs)
    if args.episodes_per_env is not None:
        quota = min(quota, args.episodes_per_env)
    partial = partial_result_path(out, task)
    earlier = load_cached_result(partial, spec)  # an interrupted run of this task: its finished episodes count
    kept = {k: np.asarray(v) for k, v in earlier["per_episode"].items()} if earlier is not None else None
    # read by the reset below: env i starts at the first episode of its queue that has no saved result
    nav.cursor[:] = torch.as_tensor(np.bincount(kept["env"].astype(int), minlength=env.unwrapped.num_envs)) if kept is not None else 0
    steps_before, wall_before = (earlier or {}).get("env_steps", 0), (earlier or {}).get("wall_time_s", 0.0)
    obs, _ = env.reset(seed=args.seed)
    episodes = EpisodeCounter(nav, quota, max_panels=quota * env.unwrapped.num_envs)  # after the reset: it clears its log
    if kept is not None:
        episodes.resume(kept)
        print(f"[navbench] {spec['task']}: resuming, {int(episodes.counted.sum())} of {episodes.target} episodes kept from "
              f"{partial}", flush=True)
    bar = tqdm(total=episodes.target, initial=int(episodes.counted.sum()), desc=f"{spec['task']} ({args.name})", unit="ep",
               dynamic_ncols=True, mininterval=2.0)
    while not episodes.finished:
        with torch.inference_mode():
            action = policy(obs)
        obs = episodes.step(env, action)[0]
        done_before = bar.n
        if int(episodes.counted.sum()) > done_before:  # save finished episodes as they come: an interruption keeps them
            bar.update(int(episodes.counted.sum()) - done_before)
            if not episodes.finished:
                write_json_atomic(partial, {"spec": spec, "env_steps": steps_before + episodes.steps * env.unwrapped.num_envs,
                                            "wall_time_s": wall_before + time.time() - episodes.t0,
                                            "per_episode": {k: v.tolist() for k, v in episodes.records().items()}})
    bar.close()
    records = episodes.records()
    step_dt = env.unwrapped.step_dt
    result = {"spec": spec, "name": args.name, "robot": args.robot, "step_dt": step_dt, "torch_threads": torch.get_num_threads(), "episodes": len(records["success"]),
              "env_steps": steps_before + episodes.steps * env.unwrapped.num_envs, "wall_time_s": wall_before + time.time() - episodes.t0,
              "summary": summarize(records, step_dt), "per_scene": summarize_by(records, "scene", step_dt),
              "per_episode": {k: v.tolist() for k, v in records.items()}}
    if episodes.panels:
        save_topdown_grid(out / f"{task}_episodes.png", sample_panels(episodes.panels))
    write_json_atomic(out / f"{task}.json", result)
    partial.unlink(missing_ok=True)
    env.close()


def partial_result_path(out: Path, task: str) -> Path:
    """Where a running task keeps its finished episodes until the task's result is written (hidden: not a result)."""
    return out / f".{task}.partial.json"


def sample_panels(panels: list[dict], count: int = 8) -> list[dict]:
    """Top-down maps worth looking at: up to half failures, the rest successes, in finishing order."""
    failed = [p for p in panels if p["title"].endswith("failure")]
    succeeded = [p for p in panels if not p["title"].endswith("failure")]
    picked = failed[: count // 2]
    return picked + succeeded[: count - len(picked)]


def read_task_result(path: Path, default_name: str) -> tuple[str, dict]:
    """(method name, summary) of a saved task result; ValueError saying what is wrong with the file."""
    from s2e.navbench.summary import METRICS

    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{type(err).__name__}: {str(err)[:120]}") from None
    summary = saved.get("summary") if isinstance(saved, dict) else None
    missing = [m for m in METRICS if not isinstance(summary, dict) or not isinstance(summary.get(m), dict) or "mean" not in summary[m]]
    if missing:
        raise ValueError(f"no summary of {', '.join(missing)}")
    return str(saved.get("name", default_name)), summary


def write_report(robot_dir: Path) -> Path:
    """Collect every method's task results under <out>/<robot>/ into the tables and the bar chart."""
    from s2e.navbench.report import save_bar_charts, write_tables

    results: dict[str, dict[str, dict]] = {}
    for method_dir in sorted(p for p in robot_dir.iterdir() if p.is_dir()):
        for task in TASKS:
            path = method_dir / f"{task}.json"
            if path.is_file():
                try:
                    name, summary = read_task_result(path, default_name=method_dir.name)
                except ValueError as err:
                    print(f"[navbench] warning: {path} is not a readable result ({err}), left out of the table: delete it, "
                          "or re-run that method to replace it", file=sys.stderr, flush=True)
                    continue
                results.setdefault(name, {})[task] = summary
    if not results:
        raise UserError(f"no results under {robot_dir}")
    rank = {name: k for k, name in enumerate(TABLE_ORDER)}
    results = dict(sorted(results.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))
    paths = write_tables(robot_dir, results)
    save_bar_charts(robot_dir / "bars.png", results)
    return paths["md"]


def run_worker(cmd: list[str], task: str, partial: Path) -> None:
    """Evaluate one task in a child process that ends with this one: SIGINT / SIGTERM / SIGHUP are passed on to it,
    and it gets SIGTERM if this process dies (kill -9 included). A worker that ends by a signal or an error ends the
    evaluation with one line saying what is kept (the finished episodes in `partial`) and how to resume."""
    import signal

    from s2e.utils.processes import popen_worker

    proc = popen_worker(cmd)
    caught: list[int] = []

    def forward(signum, _frame):
        caught.append(signum)
        if proc.poll() is None:
            proc.send_signal(signum)

    handlers = {sig: signal.signal(sig, forward) for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        code = proc.wait()
    finally:
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    kept = f"the finished episodes are kept in {partial}" if partial.is_file() else "no episode had finished"
    if caught or code < 0:
        print(file=sys.stderr)  # end the worker's progress bar line
    if caught:
        print(f"error: interrupted by {signal.Signals(caught[0]).name} while evaluating {task}; {kept}: run the same command "
              "again to resume", file=sys.stderr, flush=True)
        sys.exit(128 + caught[0])
    if code < 0:
        print(f"error: the worker evaluating {task} was killed by {signal.Signals(-code).name}; {kept}: run the same command "
              "again to resume", file=sys.stderr, flush=True)
        sys.exit(1)
    if code != 0:
        sys.exit(code)  # the worker printed its own error line (exit code 2 for bad input)


def main() -> None:
    args = parse_args()
    args.name = args.name or DEFAULT_NAMES[args.method]
    if "/" in args.name or args.name.startswith("."):
        raise UserError(f"--name {args.name!r} is used as a folder name: no '/' and no leading '.'")
    check_env_args(args)
    check_viz_args(args)
    if args.episodes_per_env is not None and args.episodes_per_env < 1:
        raise UserError(f"--episodes_per_env {args.episodes_per_env}: evaluate at least 1 episode per env (or leave it out for all)")
    model = resolve_model(args)
    out = Path(args.out) / args.robot / args.name
    if not args.worker:
        ensure_writable(out, "results")
    if args.worker:
        evaluate_task(args, args.worker, model, out)
        return
    t0 = time.time()
    for k, task in enumerate(args.tasks):
        spec = task_spec(args, task, model)
        done = load_cached_result(out / f"{task}.json", spec)
        if done is None:
            elapsed = time.time() - t0
            print(f"[navbench] {spec['task']} ({k + 1}/{len(args.tasks)}) with {args.name}, {elapsed:.0f} s so far", flush=True)
            run_worker([sys.executable, __file__, *sys.argv[1:], "--worker", task], spec["task"], partial_result_path(out, task))
            done = load_cached_result(out / f"{task}.json", spec)
        else:
            print(f"[navbench] {spec['task']}: already evaluated for this spec, kept ({out / f'{task}.json'})", flush=True)
        s = done["summary"]
        print(f"[navbench] {spec['task']}: SR {s['SR']['mean']:.2f} [{s['SR']['lo']:.2f}, {s['SR']['hi']:.2f}] | RC {s['RC']['mean']:.2f} | "
              f"CT {s['CT']['mean']:.2f} | PLR {s['PLR']['mean']:.2f} | TTG {s['TTG']['mean']:.1f} s ({done['episodes']} episodes, "
              f"{done['wall_time_s']:.0f} s)", flush=True)
    table = write_report(out.parent)
    print(f"[navbench] {time.time() - t0:.0f} s; table of all methods for the {args.robot} robot: {table}")
    print(table.read_text())


if __name__ == "__main__":
    run_main(main)
