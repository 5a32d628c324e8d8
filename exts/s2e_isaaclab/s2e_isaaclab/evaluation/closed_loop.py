"""Driving an S2E-Urban or NavBench-GS env with a policy until every env has run its episodes."""

from __future__ import annotations

import torch

from ..utils.episodes import EpisodeCounter
from ..utils.nav_policies import AGDMPolicy, LabelRerankedAGDMPolicy


def run_episodes(env, policy, episodes_per_env: int, seed: int, log=None, every_s: float = 10.0) -> EpisodeCounter:
    """Reset `env` with `seed` and act with `policy(obs)` until every env has run `episodes_per_env` counted episodes
    (EpisodeCounter: the same episodes for the same seed and env count); `log(line)` gets a progress line at most
    every `every_s` seconds. Returns the counter (records, summary, top-down panels)."""
    nav = env.unwrapped.command_manager.get_term("nav")
    obs, _ = env.reset(seed=seed)
    episodes = EpisodeCounter(nav, episodes_per_env)
    episodes.run(env, policy, obs, log=log, every_s=every_s)
    return episodes


def evaluate_top_mode(env, model: torch.nn.Module, episodes_per_env: int, seed: int, progress=None,
                      rerank_temperature: float | None = None) -> dict:
    """Drive `env` with `model`'s top mode (the deterministic policy play.py, the export and NavBench-GS run):
    EpisodeCounter.summary() plus the seed in every record. `progress(line)` gets a progress line now and then.
    `rerank_temperature`: act with the top mode re-ranked by the simulator's labels at that temperature
    (LabelRerankedAGDMPolicy, privileged) instead. ValueError if the model does not fit the env's camera."""
    if rerank_temperature is None:
        policy = AGDMPolicy(env, model)
    else:
        policy = LabelRerankedAGDMPolicy(env, model, rerank_temperature)
    summary = run_episodes(env, policy, episodes_per_env, seed, log=progress, every_s=30.0).summary()
    summary["per_episode"]["seed"] = [seed] * summary["episodes"]
    return summary
