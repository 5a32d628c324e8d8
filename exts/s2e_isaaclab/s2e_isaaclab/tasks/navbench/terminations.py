"""NavBench-GS's time-out: each fixed episode has its own time limit (from its route length)."""

from __future__ import annotations

import torch


def episode_time_limit(env, command_name: str = "nav") -> torch.Tensor:
    nav = env.command_manager.get_term(command_name)
    return nav.refresh().steps >= nav.time_limit_steps
