"""Short random perturbations of the expert's actions, so demonstrations show recoveries (DART-style).

A policy cloned from clean demonstrations never sees itself off the route, so its small errors
compound in closed loop. Here each env starts, with probability `prob` per step, a burst of `steps`
steps in which the expert's waypoints are rotated by one random angle in +-[angle/2, angle]: the
robot veers off and the expert then steers it back. Given a learned policy's actions, a burst
executes those instead (DAgger-style: the data then shows the states that policy drifts into, each
followed by the expert's correction). The mask says which steps carried the expert's
own action; the dataset reader keeps only samples whose future waypoints come from expert actions,
so the perturbed states appear as inputs with recovery labels, never as labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class PerturbationCfg:
    prob: float = 0.0
    """Per-step, per-env probability that a burst starts (0 disables)."""
    steps: int = 6
    """Steps per burst."""
    angle: float = 0.6
    """Largest rotation (rad) of the waypoints during a burst; the smallest is half of it."""


class ActionPerturbation:
    """Batched burst state over E envs; `apply` maps expert actions [E, 2W+1] to executed ones."""

    def __init__(self, cfg: PerturbationCfg, num_envs: int, device: str | torch.device = "cpu", seed: int = 0):
        if not 0.0 <= cfg.prob <= 1.0 or cfg.steps < 1 or cfg.angle < 0.0:
            raise ValueError(f"perturbation needs 0 <= prob <= 1, steps >= 1 and angle >= 0, got {cfg}")
        self.cfg = cfg
        self.left = torch.zeros(num_envs, dtype=torch.long, device=device)
        self.angle = torch.zeros(num_envs, device=device)
        self.gen = torch.Generator(device=device).manual_seed(seed)

    def reset(self, env_ids: torch.Tensor) -> None:
        """End any burst of these envs (their episode ended)."""
        self.left[env_ids] = 0

    def apply(self, action: torch.Tensor, learner: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """(executed action [E, 2W+1], expert mask [E] bool: True where the action is the expert's).
        A burst rotates the expert's waypoints, or executes `learner` [E, 2W+1] when given."""
        e, device = action.shape[0], action.device
        start = (self.left == 0) & (torch.rand(e, generator=self.gen, device=device) < self.cfg.prob)
        if start.any():
            mag = self.cfg.angle * (0.5 + 0.5 * torch.rand(e, generator=self.gen, device=device))
            sign = torch.where(torch.rand(e, generator=self.gen, device=device) < 0.5, -1.0, 1.0)
            self.angle = torch.where(start, sign * mag, self.angle)
            self.left = torch.where(start, torch.full_like(self.left, self.cfg.steps), self.left)
        active = self.left > 0
        self.left = (self.left - 1).clamp_min(0)
        if not active.any():
            return action, ~active
        if learner is not None:
            return torch.where(active[:, None], learner, action), ~active
        out = action.clone()
        w = out[:, :-1].reshape(e, -1, 2)
        c, s = torch.cos(self.angle)[:, None], torch.sin(self.angle)[:, None]
        rotated = torch.stack([c * w[..., 0] - s * w[..., 1], s * w[..., 0] + c * w[..., 1]], dim=-1)
        out[:, :-1] = torch.where(active[:, None, None], rotated, w).reshape(e, -1)
        return out, ~active
