"""Paired comparisons of two policy files (AGDM or train_ram.py checkpoints) on the same fixed episodes.

`compare_policies` evaluates both policies' top modes on the same seeds, each (policy, seed) in its own
process (`python -m s2e_isaaclab.evaluation.compare JOB`, workers.run_jobs), caches each evaluation under
its policy's digest and settings (so the checkpoint's evaluation is reused by every later comparison and an
interrupted one resumes), then pairs the episodes by (seed, env, env_episode) (s2e.navbench.paired).
compare_policies.py and train_ram.py's held-out check run it.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from pathlib import Path

from ..utils.cli import UserError
from .results import file_digest
from .workers import Job, run_jobs

DEFAULT_CACHE = "logs/evaluations"
"""Where evaluations are cached (by policy digest, settings and seed); compare_policies.py and train_ram.py share it."""


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
            raise UserError("an evaluation needs >= 1 env, >= 1 episode per env and >= 1 seed (got "
                            f"num_envs={self.num_envs}, episodes_per_env={self.episodes_per_env}, seeds={self.seeds})")


def evaluation_spec(episodes: EpisodeSet, policy: str | Path, seed: int, rerank_temperature: float | None = None,
                    numerics: str | None = None) -> dict:
    """What one evaluation depends on, the float rounding it runs with included (`numerics`:
    s2e.utils.numerics.numerics_fingerprint with the workers' one torch thread); a cached one with another spec is
    recomputed, not reused, so a comparison never pairs episodes that ran with different rounding."""
    spec = {"task": episodes.task, "content": episodes.content, "mode": episodes.mode, "num_envs": episodes.num_envs,
            "episodes_per_env": episodes.episodes_per_env, "overrides": list(episodes.overrides), "seed": seed,
            "policy_sha": file_digest(policy), "numerics": numerics}
    if rerank_temperature is not None:
        spec["rerank_temperature"] = float(rerank_temperature)
    return spec


def _cache_name(spec: dict) -> str:
    rerank = f"_rerank{spec['rerank_temperature']:g}" if "rerank_temperature" in spec else ""
    return f"{spec['policy_sha']}{rerank}_seed{spec['seed']}.json"


def compare_records(policies: dict[str, str | Path], episodes: EpisodeSet, cache_dir: str | Path, parallel: int = 2,
                    log=print, rerank: dict[str, float] | None = None) -> dict[str, dict[str, list]]:
    """{name: per-episode records over every seed} for each policy file, evaluating what is not cached.
    `rerank`: {name: temperature} of the policies that act re-ranked by the simulator's labels (evaluate_top_mode)."""
    episodes.check()
    cache = Path(cache_dir)
    numerics = _worker_numerics(episodes.device)
    jobs: list[tuple[str, Job]] = []
    for seed in episodes.seeds:
        for name, policy in policies.items():
            spec = evaluation_spec(episodes, policy, seed, (rerank or {}).get(name), numerics)
            out = cache / _cache_name(spec)
            job = {"name": name, "policy": str(Path(policy).resolve()), "spec": spec, "episodes": vars(episodes),
                   "out": str(out)}
            cmd = [sys.executable, "-m", __name__, json.dumps(job)]
            jobs.append((name, Job(cmd, f"{name} on seed {seed}", out, spec)))
    run_jobs([job for _, job in jobs], parallel, log)
    records: dict[str, dict[str, list]] = {name: {} for name in policies}
    for name, job in jobs:
        for key, values in json.loads(job.out.read_text())["per_episode"].items():
            records[name].setdefault(key, []).extend(values)
    return records


def _worker_numerics(device: str | None) -> str:
    """The numerics fingerprint the workers (one torch thread each, run_jobs' default) run with."""
    import torch

    from s2e.utils.numerics import numerics_fingerprint

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return numerics_fingerprint(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    finally:
        torch.set_num_threads(threads)


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


def save_comparison(out: str | Path, a: str | Path, b: str | Path, episodes: EpisodeSet, overall,
                    per_seed: dict) -> Path:
    """compare_policies' figures as <out>/comparison.json and the report <out>/comparison.md (returned)."""
    from s2e.navbench.paired import markdown_report
    from s2e.utils.files import write_json_atomic, write_text_atomic

    out = Path(out)
    write_json_atomic(out / "comparison.json", {"a": str(Path(a).resolve()), "b": str(Path(b).resolve()),
                                                "episodes": vars(episodes), "overall": overall.to_dict(),
                                                "per_seed": {str(s): c.to_dict() for s, c in per_seed.items()}})
    write_text_atomic(out / "comparison.md", markdown_report(overall, per_seed))
    return out / "comparison.md"


def _worker(job: dict) -> None:
    """One (policy, seed) evaluation in this process; writes its JSON atomically."""
    import gymnasium as gym
    import torch

    from s2e.utils.files import write_json_atomic
    from s2e.utils.machine import describe_machine

    from ..utils.cli import build_cfgs
    from .closed_loop import evaluate_top_mode
    from .models import load_policy

    ep = EpisodeSet(**job["episodes"])
    seed = job["spec"]["seed"]
    cli = argparse.Namespace(task=ep.task, num_envs=ep.num_envs, seed=seed, device=ep.device, mode=ep.mode,
                             content=ep.content, camera=True, overrides=list(ep.overrides))
    cfg, _ = build_cfgs(cli)
    model, info = load_policy(job["policy"])
    env = gym.make(ep.task, cfg=cfg)
    tag = f"[evaluate {job['name']} seed {seed}]"
    try:
        result = evaluate_top_mode(env, model, ep.episodes_per_env, seed,
                                   progress=lambda line: print(f"{tag} {line}", flush=True),
                                   rerank_temperature=job["spec"].get("rerank_temperature"))
    except ValueError as err:  # camera vs checkpoint mismatch
        raise UserError(str(err)) from None
    write_json_atomic(job["out"], {"spec": job["spec"], "policy": job["policy"], "policy_info": info,
                                   "machine": describe_machine(), "torch_threads": torch.get_num_threads(),
                                   "numerics": job["spec"]["numerics"], **result})
    print(f"{tag} SR {result['SR']:.3f} | CT {result['CT']:.3f} ({result['episodes']} episodes, "
          f"{result['wall_time_s']:.0f} s)", flush=True)
    env.close()


if __name__ == "__main__":
    from ..utils.cli import run_main

    run_main(lambda: _worker(json.loads(sys.argv[1])))
