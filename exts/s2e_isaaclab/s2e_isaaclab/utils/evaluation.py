"""Closed-loop evaluation of policies' top modes on a task's fixed episodes, and paired comparisons of two.

`evaluate_top_mode` drives an env with the deterministic policy (the top-scored mode's mean
trajectory, as play.py, the export and NavBench-GS act). `compare_policies` evaluates two policy
files (AGDM or train_ram.py checkpoints) on the same seeds, each (policy, seed) in its own process
(`python -m s2e_isaaclab.utils.evaluation JOB`, one torch thread, `jobs` at a time: Isaac Lab runs one
simulation per process), caches each evaluation under its policy's digest and settings (so the
checkpoint's evaluation is reused by every later comparison and an interrupted one resumes), then
pairs the episodes by (seed, env, env_episode) (s2e.navbench.paired).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import torch

from s2e.utils.processes import popen_worker

from .cli import UserError
from .episodes import EpisodeCounter
from .nav_policies import AGDMPolicy, LabelRerankedAGDMPolicy

DEFAULT_CACHE = "logs/evaluations"
"""Where evaluations are cached (by policy digest, settings and seed), shared by compare_policies.py and train_ram.py."""


def evaluate_top_mode(env, model: torch.nn.Module, episodes_per_env: int, seed: int, progress=None,
                      rerank_temperature: float | None = None) -> dict:
    """Drive `env` (a gym env of an S2E-Urban task) with `model`'s top mode: EpisodeCounter.summary() plus the seed
    in every record. `progress(line)` gets a progress line now and then. `rerank_temperature`: act with the top mode
    re-ranked by the simulator's labels at that temperature (LabelRerankedAGDMPolicy, privileged) instead."""
    nav = env.unwrapped.command_manager.get_term("nav")
    policy = AGDMPolicy(env, model) if rerank_temperature is None else LabelRerankedAGDMPolicy(env, model, rerank_temperature)
    obs, _ = env.reset(seed=seed)
    episodes = EpisodeCounter(nav, episodes_per_env)
    episodes.run(env, policy, obs, log=progress, every_s=30.0)
    summary = episodes.summary()
    summary["per_episode"]["seed"] = [seed] * summary["episodes"]
    return summary


@dataclass
class EpisodeSet:
    """Which episodes an evaluation runs: the task (with its content, control mode and env overrides) and the
    seeds' blocks, `num_envs` envs x `episodes_per_env` episodes each."""

    task: str
    seeds: list[int]
    num_envs: int | None = None
    episodes_per_env: int = 2
    content: str | None = None
    mode: str | None = None
    overrides: list[str] = field(default_factory=list)
    device: str | None = None

    def check(self) -> None:
        if self.episodes_per_env < 1 or (self.num_envs is not None and self.num_envs < 1) or not self.seeds:
            raise UserError(f"an evaluation needs >= 1 env, >= 1 episode per env and >= 1 seed (got num_envs={self.num_envs}, "
                            f"episodes_per_env={self.episodes_per_env}, seeds={self.seeds})")


def _digest(path: str | Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]


def evaluation_spec(episodes: EpisodeSet, policy: str | Path, seed: int, rerank_temperature: float | None = None) -> dict:
    """What one evaluation depends on; a cached one with another spec is recomputed, not reused."""
    spec = {"task": episodes.task, "content": episodes.content, "mode": episodes.mode, "num_envs": episodes.num_envs,
            "episodes_per_env": episodes.episodes_per_env, "overrides": list(episodes.overrides), "seed": seed,
            "policy_sha": _digest(policy)}
    if rerank_temperature is not None:
        spec["rerank_temperature"] = float(rerank_temperature)
    return spec


def _cache_name(spec: dict) -> str:
    rerank = f"_rerank{spec['rerank_temperature']:g}" if "rerank_temperature" in spec else ""
    return f"{spec['policy_sha']}{rerank}_seed{spec['seed']}.json"


def load_cached_result(path: Path, spec: dict) -> dict | None:
    """A finished result saved at `path` for exactly this spec, else None (missing, partial or for another spec)."""
    try:
        saved = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and saved.get("spec") == spec else None


def _run_jobs(jobs: list[dict], parallel: int, log=print) -> None:
    """Run the evaluations not cached yet as worker processes, `parallel` at a time; a failed one raises UserError.
    The workers end with this process, also when it is killed (s2e.utils.processes)."""
    pending = [j for j in jobs if load_cached_result(Path(j["out"]), j["spec"]) is None]
    running: list[tuple[subprocess.Popen, dict]] = []
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    try:
        while pending or running:
            while pending and len(running) < max(1, parallel):
                job = pending.pop(0)
                if load_cached_result(Path(job["out"]), job["spec"]) is not None:  # finished meanwhile by another comparison
                    continue
                log(f"evaluating {job['name']} on seed {job['spec']['seed']}")
                running.append((popen_worker([sys.executable, "-m", __name__, json.dumps(job)], env=env), job))
            time.sleep(0.5)
            for proc, job in list(running):
                if proc.poll() is not None:
                    running.remove((proc, job))
                    if proc.returncode != 0:
                        raise UserError(f"the evaluation of {job['name']} on seed {job['spec']['seed']} failed (exit code {proc.returncode}); "
                                        f"finished evaluations are kept in {Path(job['out']).parent}: run again to resume")
    finally:
        for proc, _ in running:
            proc.terminate()
            proc.wait()


def compare_records(policies: dict[str, str | Path], episodes: EpisodeSet, cache_dir: str | Path, parallel: int = 2,
                    log=print, rerank: dict[str, float] | None = None) -> dict[str, dict[str, list]]:
    """{name: per-episode records over every seed} for each policy file, evaluating what is not cached.
    `rerank`: {name: temperature} of the policies that act re-ranked by the simulator's labels (evaluate_top_mode)."""
    episodes.check()
    cache = Path(cache_dir)
    jobs = []
    for seed in episodes.seeds:
        for name, policy in policies.items():
            spec = evaluation_spec(episodes, policy, seed, (rerank or {}).get(name))
            jobs.append({"name": name, "policy": str(Path(policy).resolve()), "spec": spec, "episodes": vars(episodes),
                         "out": str(cache / _cache_name(spec))})
    _run_jobs(jobs, parallel, log)
    records: dict[str, dict[str, list]] = {name: {} for name in policies}
    for job in jobs:
        for key, values in json.loads(Path(job["out"]).read_text())["per_episode"].items():
            records[job["name"]].setdefault(key, []).extend(values)
    return records


def compare_policies(a: str | Path, b: str | Path, episodes: EpisodeSet, cache_dir: str | Path, names=("A", "B"),
                     parallel: int = 2, log=print, rerank_b: float | None = None):
    """(overall, {seed: per-seed}) PairedComparison of policy b against policy a on the same episodes; `rerank_b`:
    policy b acts re-ranked by the simulator's labels at that temperature (a privileged diagnostic)."""
    from s2e.navbench.paired import compare

    rerank = {names[1]: rerank_b} if rerank_b is not None else None
    records = compare_records(dict(zip(names, (a, b))), episodes, cache_dir, parallel, log, rerank)
    ra, rb = records[names[0]], records[names[1]]

    def of_seed(r, seed):
        return {k: [v for v, s in zip(values, r["seed"]) if s == seed] for k, values in r.items()}

    try:
        overall = compare(ra, rb, *names)
        per_seed = {seed: compare(of_seed(ra, seed), of_seed(rb, seed), *names) for seed in episodes.seeds}
    except ValueError as err:
        raise UserError(str(err)) from None
    return overall, per_seed


def _worker(job: dict) -> None:
    """One (policy, seed) evaluation in this process; writes its JSON atomically."""
    import gymnasium as gym

    from s2e.models.checkpoint import CheckpointError
    from s2e.rl.runner import RunnerCheckpointError
    from s2e.rl.trained_policy import load_policy_model
    from s2e.utils.files import write_json_atomic

    from .cli import build_cfgs

    ep = EpisodeSet(**job["episodes"])
    seed = job["spec"]["seed"]
    cli = argparse.Namespace(task=ep.task, num_envs=ep.num_envs, seed=seed, device=ep.device, mode=ep.mode, content=ep.content,
                             camera=True, overrides=list(ep.overrides))
    cfg, _ = build_cfgs(cli)
    try:
        model, info = load_policy_model(job["policy"])
    except (CheckpointError, RunnerCheckpointError) as err:
        raise UserError(str(err)) from None
    env = gym.make(ep.task, cfg=cfg)
    tag = f"[evaluate {job['name']} seed {seed}]"
    try:
        result = evaluate_top_mode(env, model, ep.episodes_per_env, seed, progress=lambda line: print(f"{tag} {line}", flush=True),
                                   rerank_temperature=job["spec"].get("rerank_temperature"))
    except ValueError as err:  # camera vs checkpoint mismatch
        raise UserError(str(err)) from None
    write_json_atomic(job["out"], {"spec": job["spec"], "policy": job["policy"], "policy_info": info,
                                   "torch_threads": torch.get_num_threads(), **result})
    print(f"{tag} SR {result['SR']:.3f} | CT {result['CT']:.3f} ({result['episodes']} episodes, {result['wall_time_s']:.0f} s)", flush=True)
    env.close()


if __name__ == "__main__":
    from .cli import run_main

    run_main(lambda: _worker(json.loads(sys.argv[1])))
