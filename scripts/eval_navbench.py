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
is not run again, so an interrupted evaluation resumes where it stopped. Afterwards every method
under <out>/<robot>/ goes into results.md / .csv / .json and bars.png there. The same seed gives
the same numbers (the policies act deterministically; episodes are fixed by the episode file).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import subprocess
import sys
import time
from pathlib import Path

from s2e_isaaclab.utils.cli import RUN_CHECKPOINT_PATTERN, UserError, run_main
from s2e_isaaclab.utils.evaluation import load_cached_result

TASKS = ("Empty", "Obstacle", "Pedestrian", "Mixed")
METHODS = ("agdm", "run", "expert", "straight")
DEFAULT_NAMES = {"agdm": "S2E-BC", "run": "S2E-RL", "expert": "Expert", "straight": "Straight-to-goal"}
BUNDLED_CHECKPOINT = "agdm/agdm_wheeled.pt"
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
    parser.add_argument("--mode", choices=("base", "joint"), default="base", help="robot control: fast base-velocity model or joint-level controllers")
    parser.add_argument("--num_envs", type=int, default=None, help="default: the most the episode file deals evenly (<= 16)")
    parser.add_argument("--episodes_dir", default=None,
                        help="episode files to use instead of the shipped suite (e.g. made for a scene bundle by make_navbench_episodes.py --scene_bundle)")
    parser.add_argument("--episodes_per_env", type=int, default=None,
                        help="only the first K episodes of each env's share (a quick look; default: all of the episode file's)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default=None)
    parser.add_argument("--out", default="logs/navbench")
    parser.add_argument("--headless", action="store_true", help="accepted for Isaac Lab compatibility")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)  # internal: evaluate one task in this process
    return parser.parse_args(argv)


def resolve_model(args: argparse.Namespace) -> str | None:
    """The model file the method evaluates (None for the baselines); UserError if it is missing."""
    if args.method == "agdm":
        if args.checkpoint is None:
            from s2e_isaaclab.paths import asset_path

            return asset_path(BUNDLED_CHECKPOINT)
        if not Path(args.checkpoint).is_file():
            raise UserError(f"AGDM checkpoint {args.checkpoint} not found: pass --checkpoint <file.pt> or leave it out for the bundled one")
        return str(Path(args.checkpoint).resolve())
    if args.method == "run":
        from isaaclab_tasks.utils import get_checkpoint_path

        run = Path(args.load_run or "")
        if not args.load_run or not run.is_dir():
            raise UserError(f"--method run needs --load_run <run folder> (got {args.load_run!r}), e.g. logs/rsl_rl/s2e_ram_wheeled/<date>_<name>")
        try:
            return str(Path(get_checkpoint_path(str(run.resolve().parent), f"^{re.escape(run.resolve().name)}$", args.load_checkpoint)).resolve())
        except ValueError:
            raise UserError(f"no checkpoint matching {args.load_checkpoint!r} in {args.load_run}: train with train_ram.py first") from None
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
    import gymnasium as gym
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
    from s2e_isaaclab.tasks.urban.urban_env_cfg import apply_control_mode, disable_camera
    from s2e_isaaclab.utils.cli import build_cfgs
    from s2e_isaaclab.utils.episodes import EpisodeCounter
    from s2e_isaaclab.utils.nav_policies import AGDMPolicy, ScriptedExpertPolicy, StraightToGoalPolicy

    spec = task_spec(args, task, model)
    cli = argparse.Namespace(task=spec["task"], num_envs=args.num_envs, seed=args.seed, device=args.device, mode=None,
                             content=None, camera=args.method in ("agdm", "run"), overrides=[])
    try:
        cfg, _ = build_cfgs(cli)
        if args.episodes_dir is not None:
            path = task_episode_file(args, task)
            make_navbench(cfg, load_suite(path), spec["task"], path)
            if args.num_envs is not None:
                cfg.scene.num_envs = args.num_envs
    except EpisodeFileError as err:
        raise UserError(str(err)) from None
    apply_control_mode(cfg, args.mode)
    if not cli.camera:
        disable_camera(cfg)
    try:
        if args.method == "agdm":  # an AGDM checkpoint or a shipped fine-tuned policy (scripts/ship_policy.py)
            net, _ = load_policy_model(model)
        elif args.method == "run":
            net, _ = load_trained_model(model)
    except (CheckpointError, RunnerCheckpointError) as err:
        raise UserError(str(err)) from None
    env = gym.make(spec["task"], cfg=cfg)
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
        quota = max(1, min(quota, args.episodes_per_env))
    obs, _ = env.reset(seed=args.seed)
    episodes = EpisodeCounter(nav, quota, max_panels=quota * env.unwrapped.num_envs)
    bar = tqdm(total=episodes.target, desc=f"{spec['task']} ({args.name})", unit="ep", dynamic_ncols=True, mininterval=2.0)
    while not episodes.finished:
        with torch.inference_mode():
            action = policy(obs)
        episodes.before_step()
        obs, _, terminated, truncated, _ = env.step(action)
        done_before = bar.n
        episodes.after_step(terminated, truncated)
        bar.update(int(episodes.counted.sum()) - done_before)
    bar.close()
    records = episodes.records()
    step_dt = env.unwrapped.step_dt
    result = {"spec": spec, "name": args.name, "robot": args.robot, "step_dt": step_dt, "torch_threads": torch.get_num_threads(), "episodes": len(records["success"]),
              "env_steps": episodes.steps * env.unwrapped.num_envs, "wall_time_s": time.time() - episodes.t0,
              "summary": summarize(records, step_dt), "per_scene": summarize_by(records, "scene", step_dt),
              "per_episode": {k: v.tolist() for k, v in records.items()}}
    if episodes.panels:
        save_topdown_grid(out / f"{task}_episodes.png", sample_panels(episodes.panels))
    write_json_atomic(out / f"{task}.json", result)
    env.close()


def sample_panels(panels: list[dict], count: int = 8) -> list[dict]:
    """Top-down maps worth looking at: up to half failures, the rest successes, in finishing order."""
    failed = [p for p in panels if p["title"].endswith("failure")]
    succeeded = [p for p in panels if not p["title"].endswith("failure")]
    picked = failed[: count // 2]
    return picked + succeeded[: count - len(picked)]


def write_report(robot_dir: Path) -> Path:
    """Collect every method's task results under <out>/<robot>/ into the tables and the bar chart."""
    from s2e.navbench.report import save_bar_charts, write_tables

    results: dict[str, dict[str, dict]] = {}
    for method_dir in sorted(p for p in robot_dir.iterdir() if p.is_dir()):
        for task in TASKS:
            path = method_dir / f"{task}.json"
            if path.is_file():
                saved = json.loads(path.read_text())
                results.setdefault(saved.get("name", method_dir.name), {})[task] = saved["summary"]
    if not results:
        raise UserError(f"no results under {robot_dir}")
    rank = {name: k for k, name in enumerate(TABLE_ORDER)}
    results = dict(sorted(results.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))
    paths = write_tables(robot_dir, results)
    save_bar_charts(robot_dir / "bars.png", results)
    return paths["md"]


def main() -> None:
    args = parse_args()
    args.name = args.name or DEFAULT_NAMES[args.method]
    if "/" in args.name or args.name.startswith("."):
        raise UserError(f"--name {args.name!r} is used as a folder name: no '/' and no leading '.'")
    model = resolve_model(args)
    out = Path(args.out) / args.robot / args.name
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
            proc = subprocess.run([sys.executable, __file__, *sys.argv[1:], "--worker", task])
            if proc.returncode != 0:
                sys.exit(proc.returncode)
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
