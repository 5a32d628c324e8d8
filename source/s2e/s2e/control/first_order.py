"""First-order model of a locomotion controller's velocity response, and its fit to measured data.

The fast base-velocity mode moves a robot's base with v' = gain * cmd - v over tau per axis instead of
simulating its joints: the model is fitted to step responses measured on the joint-level controller
(scripts/calibrate_base_velocity.py), so that RL on CPU sees the same lag the real controller has.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class FirstOrderCfg:
    tau: tuple[float, ...] = (0.3, 0.3, 0.2)
    """Time constant per axis (s)."""
    gain: tuple[float, ...] = (1.0, 1.0, 1.0)
    """Steady-state ratio of measured to commanded velocity per axis."""


class FirstOrderVelocity:
    """Batched first-order lag: call `step(cmd, dt)` every physics step; `vel` is the model output."""

    def __init__(self, cfg: FirstOrderCfg, num_envs: int, device: str | torch.device):
        self.tau = torch.tensor(cfg.tau, device=device)
        self.gain = torch.tensor(cfg.gain, device=device)
        self.vel = torch.zeros(num_envs, len(cfg.tau), device=device)

    def reset(self, env_ids=slice(None)) -> None:
        self.vel[env_ids] = 0.0

    def step(self, cmd: torch.Tensor, dt: float) -> torch.Tensor:
        alpha = 1.0 - torch.exp(-dt / self.tau)
        self.vel = self.vel + alpha * (self.gain * cmd - self.vel)
        return self.vel


def simulate_first_order(cmd: np.ndarray, dt: float, tau: float, gain: float) -> np.ndarray:
    """Response of one axis to command sequences [..., T], each starting at rest."""
    cmd = np.asarray(cmd, dtype=float)
    out, v = np.zeros_like(cmd), np.zeros(cmd.shape[:-1])
    alpha = 1.0 - np.exp(-dt / tau)
    for i in range(cmd.shape[-1]):
        v = v + alpha * (gain * cmd[..., i] - v)
        out[..., i] = v
    return out


def fit_first_order(cmd: np.ndarray, measured: np.ndarray, dt: float,
                    taus: np.ndarray | None = None) -> tuple[float, float, float]:
    """Least-squares (tau, gain) for one axis over runs [..., T] (each from rest); returns (tau, gain, rms).

    For each candidate tau the unit-gain response is linear in the gain, so the best gain is closed
    form; tau is searched on a log grid.
    """
    taus = np.geomspace(0.02, 3.0, 120) if taus is None else taus
    best = (float("nan"), float("nan"), float("inf"))
    for tau in taus:
        unit = simulate_first_order(cmd, dt, tau, 1.0)
        denom = float((unit * unit).sum())
        gain = float((unit * measured).sum()) / denom if denom > 0 else 1.0
        rms = float(np.sqrt(np.mean((gain * unit - measured) ** 2)))
        if rms < best[2]:
            best = (float(tau), gain, rms)
    return best
