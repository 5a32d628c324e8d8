"""NavBench-GS: one method (a model, a baseline or any policy keeping the contract) evaluated on the benchmark's
tasks, a task per process, several side by side on a multi-core CPU.

Each task runs over its episode file (a shipped split's, s2e.navbench.splits, or a user's --episodes_dir) and
writes <out>/<task>.json (summary with 95 % intervals, per scene, per episode) and a top-down map of
sample episodes. A task whose result exists for the same spec (`task_spec`: method, model, mode, episode
file, ...) is not run again; a running task saves its finished episodes as they end
(`partial_result_path`), so an interrupted evaluation resumes mid-task.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from s2e.navbench.contract import ContractError, PolicyClient, PolicySpec, load_factory
from s2e.navbench.splits import DEFAULT_SPLIT
from s2e_isaaclab.tasks.navbench.navbench_env_cfg import episode_file, task_id

from ..utils.cli import UserError
from .results import file_digest, load_cached_result
from .workers import Job, run_jobs, worker_slot

METHODS = ("agdm", "run", "expert", "straight", "policy")
DEFAULT_NAMES = {"agdm": "S2E-BC", "run": "S2E-RL", "expert": "Expert", "straight": "Straight-to-goal",
                 "policy": "Policy"}
CAMERA_METHODS = ("agdm", "run", "policy")


@dataclass
class NavBenchRun:
    """One method's evaluation: what its results depend on and how its simulations run."""

    method: str
    """One of METHODS: an AGDM checkpoint or shipped policy, a train_ram.py checkpoint, or a scripted baseline."""
    name: str
    """The row in the results table and the name of its results folder."""
    model: str | None
    """The model file (models.resolve_model); None for the baselines."""
    robot: str = "wheeled"
    mode: str = "base"
    seed: int = 0
    num_envs: int | None = None
    episodes_per_env: int | None = None
    """Only the first K episodes of each env's share; None: all of the episode file's."""
    split: str = DEFAULT_SPLIT
    """Which shipped episode files (s2e.navbench.splits)."""
    episodes_dir: str | None = None
    """Episode files to use instead of the split's."""
    policy: str | None = None
    """method "policy": a factory (package.module:function) or a policy server's URL (ws://host:port)."""
    policy_kwargs: dict | None = None
    """Keyword arguments of the policy factory."""
    device: str | None = None
    headless: bool = False
    visualizer: list[str] | None = None
    viz_port: int = 8080
    viz_host: str = "127.0.0.1"


def navbench_task_id(run: NavBenchRun, task: str) -> str:
    return task_id(task, run.robot.capitalize())


def task_episode_file(run: NavBenchRun, task: str) -> str:
    """The task's episode file: from the run's episodes_dir, else the split's shipped one."""
    if run.episodes_dir is None:
        return episode_file(task, run.robot.capitalize(), run.split)
    path = Path(run.episodes_dir) / f"{navbench_task_id(run, task)}.json"
    if not path.is_file():
        raise UserError(f"{path} not found: make it with scripts/make_navbench_episodes.py --scene_bundle <bundle> "
                        f"--out {run.episodes_dir}")
    return str(path.resolve())


def task_spec(run: NavBenchRun, task: str) -> dict:
    """What a task result depends on; a saved result with another spec is recomputed, not reused."""
    episodes = task_episode_file(run, task)
    spec = {"task": navbench_task_id(run, task), "method": run.method, "model": run.model,
            "model_sha": file_digest(run.model), "episode_file_sha": file_digest(episodes), "mode": run.mode,
            "seed": run.seed, "num_envs": run.num_envs, "episodes_per_env": run.episodes_per_env}
    if run.method == "policy":  # its code is not digested: a changed policy needs another --name or --out
        spec.update(policy=run.policy, policy_kwargs=run.policy_kwargs or {})
    return spec


def open_policy(run: NavBenchRun):
    """(policy, its PolicySpec) of a "policy" run: the factory's object, or a client of the policy server."""
    try:
        if run.policy.startswith(("ws://", "wss://")):
            policy = PolicyClient(run.policy)
        else:
            policy = load_factory(run.policy, **(run.policy_kwargs or {}))
        return policy, PolicySpec.from_mapping(policy.spec)
    except ContractError as err:
        raise UserError(str(err)) from None


def partial_result_path(out: Path, task: str) -> Path:
    """Where a running task keeps its finished episodes until the task's result is written (hidden: not a result)."""
    return out / f".{task}.partial.json"


def sample_panels(panels: list[dict], count: int = 8) -> list[dict]:
    """Top-down maps worth looking at: up to half failures, the rest successes, in finishing order."""
    failed = [p for p in panels if p["title"].endswith("failure")]
    succeeded = [p for p in panels if not p["title"].endswith("failure")]
    picked = failed[: count // 2]
    return picked + succeeded[: count - len(picked)]


def summary_line(result: dict) -> str:
    """A task result in one line: SR with its interval, RC, CT, PLR, TTG, episodes and wall time."""
    s = result["summary"]
    return (f"{result['spec']['task']}: SR {s['SR']['mean']:.2f} [{s['SR']['lo']:.2f}, {s['SR']['hi']:.2f}] | "
            f"RC {s['RC']['mean']:.2f} | CT {s['CT']['mean']:.2f} | PLR {s['PLR']['mean']:.2f} | "
            f"TTG {s['TTG']['mean']:.1f} s ({result['episodes']} episodes, {result['wall_time_s']:.0f} s)")


def default_parallel(run: NavBenchRun) -> int:
    """How many tasks run side by side by default: one per usable core on a CPU (each simulation is mostly serial
    Python, NumPy and Numba work), one on a GPU (the simulations would share its memory)."""
    import torch

    from s2e.utils.processes import usable_cores

    on_gpu = (run.device or ("cuda" if torch.cuda.is_available() else "cpu")).startswith("cuda")
    return 1 if on_gpu else usable_cores()


def evaluate_tasks(run: NavBenchRun, tasks: list[str], out: Path, worker_cmd, log=print,
                   parallel: int | None = None) -> None:
    """Evaluate the run on the tasks into the folder `out`: a task with a saved result for its spec is kept, the
    others run in worker processes `worker_cmd(task)` (which call evaluate_task), up to `parallel` at a time
    (default: default_parallel) with the usable cores shared out as torch threads (workers.run_jobs). The thread
    count depends on `parallel` only, not on how many tasks are left, so a resumed task runs as it began (threads
    change float rounding). `log(line)` gets what is run or kept and each task's summary line."""
    from s2e.utils.processes import usable_cores

    parallel = parallel or default_parallel(run)
    specs = {task: task_spec(run, task) for task in tasks}  # each digests the model and episode files: once
    jobs = []
    for task, spec in specs.items():
        path = out / f"{task}.json"
        if load_cached_result(path, spec) is not None:
            log(f"{spec['task']}: already evaluated for this spec, kept ({path})")
        else:
            jobs.append(Job(worker_cmd(task), spec["task"], path, spec, partial_result_path(out, task)))
    if jobs:
        threads = max(1, usable_cores() // parallel)
        log(f"{len(jobs)} task(s) with {run.name}, up to {parallel} at a time, {threads} torch thread(s) each")
        run_jobs(jobs, parallel, log, threads=threads)
    for task in tasks:
        log(summary_line(load_cached_result(out / f"{task}.json", specs[task])))


def evaluate_task(run: NavBenchRun, task: str, out: Path, log=print) -> None:
    """Run one task in this process (a worker of evaluate_tasks) and write its result atomically; finished episodes
    are saved as they end and an earlier run's saved episodes are kept (the envs start after them)."""
    import torch
    from tqdm import tqdm

    import s2e_isaaclab.tasks  # noqa: F401
    from s2e.navbench.episodes import EpisodeFileError, load_suite
    from s2e.navbench.summary import summarize, summarize_by
    from s2e.urban.topdown import save_topdown_grid
    from s2e.utils.files import write_json_atomic
    from s2e.utils.machine import describe_machine
    from s2e.utils.numerics import numerics_fingerprint
    from s2e_isaaclab.tasks.navbench.navbench_env_cfg import make_navbench

    from ..utils.cli import apply_env_args, build_cfgs, create_env
    from ..utils.episodes import EpisodeCounter
    from ..utils.nav_policies import AGDMPolicy, ScriptedExpertPolicy, StraightToGoalPolicy
    from .contract_policy import ContractPolicy, apply_policy_spec
    from .models import load_policy

    spec = task_spec(run, task)
    cli = argparse.Namespace(task=spec["task"], num_envs=run.num_envs, seed=run.seed, device=run.device, mode=run.mode,
                             content=None, camera=run.method in CAMERA_METHODS, overrides=[], headless=run.headless,
                             visualizer=run.visualizer, viz_port=run.viz_port, viz_host=run.viz_host)
    try:
        cfg, _ = build_cfgs(cli)
        path = task_episode_file(run, task)
        if path != episode_file(task, run.robot.capitalize()):  # not the registered task's own file
            make_navbench(cfg, load_suite(path), spec["task"], path)
            apply_env_args(cfg, cli)  # again: make_navbench sets the benchmark's own control mode
            if run.num_envs is not None:
                cfg.scene.num_envs = run.num_envs
    except EpisodeFileError as err:
        raise UserError(str(err)) from None
    if run.method in ("agdm", "run"):  # an AGDM checkpoint or a shipped fine-tuned policy (scripts/ship_policy.py)
        net, _ = load_policy(run.model, trained_only=run.method == "run")
    if run.method == "policy":  # the camera and the waypoint action as the policy declares them
        contract_policy, policy_spec = open_policy(run)
        apply_policy_spec(cfg, policy_spec)
    env = create_env(spec["task"], cfg, cli)
    nav = env.unwrapped.command_manager.get_term("nav")
    try:
        if run.method in ("agdm", "run"):
            policy = AGDMPolicy(env, net)
        elif run.method == "policy":
            policy = ContractPolicy(env, contract_policy, policy_spec)
        else:
            policy = ScriptedExpertPolicy(env) if run.method == "expert" else StraightToGoalPolicy(env)
    except ValueError as err:
        raise UserError(str(err)) from None
    num_envs = env.unwrapped.num_envs
    quota = nav.suite.episodes_per_env(num_envs)
    if run.episodes_per_env is not None:
        quota = min(quota, run.episodes_per_env)
    numerics = numerics_fingerprint(str(env.unwrapped.device))  # the float rounding of this run (camera, network)
    partial = partial_result_path(out, task)
    earlier = load_cached_result(partial, spec)  # an interrupted run of this task: its finished episodes count
    if earlier is not None and earlier.get("numerics") != numerics:
        log(f"{spec['task']}: the saved episodes of {partial} ran with other float rounding (another machine kind, "
            "kernels or libraries): starting over, so that one result never mixes the two")
        earlier = None
    kept = {k: np.asarray(v) for k, v in earlier["per_episode"].items()} if earlier is not None else None
    # read by the reset below: env i starts at the first episode of its queue that has no saved result
    nav.cursor[:] = torch.as_tensor(np.bincount(kept["env"].astype(int), minlength=num_envs)) if kept is not None else 0
    steps_before, wall_before = (earlier or {}).get("env_steps", 0), (earlier or {}).get("wall_time_s", 0.0)
    obs, _ = env.reset(seed=run.seed)
    episodes = EpisodeCounter(nav, quota, max_panels=quota * num_envs)  # after the reset: it clears its log
    if kept is not None:
        episodes.resume(kept)
        log(f"{spec['task']}: resuming, {int(episodes.counted.sum())} of {episodes.target} episodes kept from "
            f"{partial}")
    bar = tqdm(total=episodes.target, initial=int(episodes.counted.sum()), desc=f"{spec['task']} ({run.name})",
               unit="ep", dynamic_ncols=True, mininterval=2.0, position=worker_slot())
    while not episodes.finished:
        try:
            with torch.inference_mode():
                action = policy(obs)
        except ContractError as err:
            raise UserError(str(err)) from None
        obs = episodes.step(env, action)[0]
        done_before = bar.n
        if int(episodes.counted.sum()) > done_before:  # save finished episodes as they come: an interruption keeps them
            bar.update(int(episodes.counted.sum()) - done_before)
            if not episodes.finished:
                write_json_atomic(partial, {"spec": spec, "numerics": numerics,
                                            "env_steps": steps_before + episodes.steps * num_envs,
                                            "wall_time_s": wall_before + time.time() - episodes.t0,
                                            "per_episode": {k: v.tolist() for k, v in episodes.records().items()}})
    bar.close()
    records = episodes.records()
    step_dt = env.unwrapped.step_dt
    result = {"spec": spec, "name": run.name, "robot": run.robot, "step_dt": step_dt, "machine": describe_machine(),
              "torch_threads": torch.get_num_threads(), "numerics": numerics, "episodes": len(records["success"]),
              "env_steps": steps_before + episodes.steps * num_envs,
              "wall_time_s": wall_before + time.time() - episodes.t0,
              "summary": summarize(records, step_dt), "per_scene": summarize_by(records, "scene", step_dt),
              "per_episode": {k: v.tolist() for k, v in records.items()}}
    if episodes.panels:
        save_topdown_grid(out / f"{task}_episodes.png", sample_panels(episodes.panels))
    write_json_atomic(out / f"{task}.json", result)
    partial.unlink(missing_ok=True)
    env.close()
