"""Non-learned driving baselines: what a learned navigation policy is compared against, open loop
(scripts/eval_open_loop.py) and closed loop (NavBench-GS's Straight-to-goal row)."""

from __future__ import annotations

import torch


def straight_to_goal(goal: torch.Tensor, speed: float, num_waypoints: int, waypoint_dt: float) -> torch.Tensor:
    """Metric waypoints [B, W, 2] of driving straight at the goal [B, 2] (robot frame, m) at a constant
    `speed` (m/s), stopping on it: waypoint j is min(j * speed * dt, |goal|) along the goal direction."""
    dist = goal.norm(dim=-1, keepdim=True)  # [B, 1]
    direction = torch.where(dist > 1e-6, goal / dist.clamp_min(1e-6),
                            torch.tensor([1.0, 0.0], dtype=goal.dtype, device=goal.device))
    steps = torch.arange(1, num_waypoints + 1, dtype=goal.dtype, device=goal.device) * (speed * waypoint_dt)  # [W]
    reach = torch.minimum(steps[None], dist)  # [B, W]
    return reach[..., None] * direction[:, None]
