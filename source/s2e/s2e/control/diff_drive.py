"""Differential-drive kinematics of the wheeled delivery robot: (v, omega) <-> wheel speeds."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class DiffDriveCfg:
    wheel_radius: float = 0.1
    track_width: float = 0.5
    """Distance between the left and right wheels (m)."""
    max_wheel_speed: float = 15.0
    """Wheel angular speed limit (rad/s)."""


def body_to_wheel_speeds(cmd: torch.Tensor, cfg: DiffDriveCfg) -> torch.Tensor:
    """(v, omega) [N, 2] -> (left, right) wheel angular speeds [N, 2] (rad/s), saturated.

    When a wheel would exceed its limit both are scaled by the same factor, which keeps the
    commanded curvature (the path) and gives up speed instead.
    """
    v, w = cmd[:, 0], cmd[:, 1]
    half = cfg.track_width / 2
    wheels = torch.stack([(v - w * half), (v + w * half)], dim=-1) / cfg.wheel_radius
    peak = wheels.abs().amax(dim=-1, keepdim=True)
    return wheels * (cfg.max_wheel_speed / peak.clamp_min(cfg.max_wheel_speed))


def wheel_to_body_speeds(wheels: torch.Tensor, cfg: DiffDriveCfg) -> torch.Tensor:
    """(left, right) wheel speeds [N, 2] -> (v, omega) [N, 2]."""
    left, right = wheels[:, 0] * cfg.wheel_radius, wheels[:, 1] * cfg.wheel_radius
    return torch.stack([(left + right) / 2, (right - left) / cfg.track_width], dim=-1)
