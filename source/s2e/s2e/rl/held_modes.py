"""Temporally coherent mode draws for PPO rollouts: Gumbel noise held per env for k policy steps.

At 10 Hz a fresh draw from the anchor scores at every step dithers between the few plausible
modes whenever no single score dominates: the robot then follows
their average, and one step's choice changes too little of the outcome for its advantage to be
told from noise. Drawing mode m_t = argmax_m(log q_m(o_t) + g_m) with the Gumbel vector g held
for k steps keeps the env on one intent (e.g. "pass left") for k steps, while each step's mode is
still exactly a draw from q(o_t) (Gumbel-max), so the stored log-probabilities and PPO's ratio are
those of the policy. Like gSDE's held exploration matrix for Gaussian policies, the correlation
across steps is the behaviour's only departure from independent draws.

A row draws fresh noise every k steps and at the first step after its episode ended.
"""

from __future__ import annotations

import torch


class HeldGumbelModes:
    """Per-env Gumbel noise over M modes, redrawn every `hold_steps` steps and after an episode end."""

    def __init__(self, hold_steps: int):
        if hold_steps < 1:
            raise ValueError(f"mode_hold_steps must be >= 1 (1: an independent draw at every step), got {hold_steps}")
        self.hold_steps = int(hold_steps)
        self.noise: torch.Tensor | None = None  # [E, M]
        self.age: torch.Tensor | None = None  # [E] steps since the row's noise was drawn

    def draw(self, log_weights: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """One mode per env from log q [E, M]: [E]. Each call is one policy step."""
        if self.noise is None or self.noise.shape != log_weights.shape:
            self.noise = torch.zeros_like(log_weights)
            self.age = torch.zeros(log_weights.shape[0], dtype=torch.long, device=log_weights.device)
        redraw = self.age % self.hold_steps == 0
        u = torch.rand(log_weights.shape, generator=generator, device=log_weights.device, dtype=log_weights.dtype)
        fresh = -torch.log(-torch.log(u.clamp(1e-12, 1.0 - 1e-7)))
        self.noise = torch.where(redraw[:, None], fresh, self.noise)
        self.age += 1
        return (log_weights.detach() + self.noise).argmax(-1)

    def reset(self, dones: torch.Tensor | None = None) -> None:
        """Rows whose episode ended draw fresh noise at their next step (None: every row)."""
        if self.age is None:
            return
        if dones is None:
            self.age.zero_()
        else:
            self.age[dones.to(self.age.device).bool().view(-1)] = 0

    def state_dict(self) -> dict:
        """The held noise and ages (saved with a training checkpoint so that a resumed run continues identically)."""
        return {"noise": self.noise, "age": self.age}

    def load_state_dict(self, state: dict) -> None:
        self.noise, self.age = state.get("noise"), state.get("age")
