"""The differentiable waypoint controller F_d: a 10x2 trajectory plus a velocity scale -> (v, omega).

Like visualnav-transformer's `pd_controller`: aim at one look-ahead waypoint, v = dx / t, omega =
heading error / t, clipped to the robot's limits. The AGDM policy predicts *normalized* waypoints
(units of one waypoint spacing) and a velocity scale v_s (m/s); metric waypoints are
normalized * v_s * waypoint_dt, which is what makes the model embodiment-agnostic.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class WaypointControllerCfg:
    num_waypoints: int = 10
    """W: waypoints per action (the model's prediction horizon is W * waypoint_dt)."""
    waypoint_dt: float = 0.25
    """Seconds between consecutive predicted waypoints."""
    lookahead: int = 2
    """Index of the waypoint the controller aims at (0-based)."""
    min_lin_vel: float = 0.0
    """Lowest forward speed command (m/s; 0: no reversing). The top speed and yaw rate are the robot's."""
    max_speed_scale: float = 1.5
    """Largest speed scale (m/s) an action's last value may give: metric waypoints = normalized * scale *
    waypoint_dt."""


def metric_waypoints(action: torch.Tensor, cfg: WaypointControllerCfg) -> torch.Tensor:
    """Action [N, 2*W + 1] (normalized waypoints, velocity scale) -> metric waypoints [N, W, 2]."""
    w = cfg.num_waypoints
    if action.shape[-1] != 2 * w + 1:
        raise ValueError(f"waypoint action has {action.shape[-1]} values, expected {2 * w + 1} (= {w} waypoints x 2 + "
                         "velocity scale)")
    scale = action[:, 2 * w].clamp(0.0, cfg.max_speed_scale)
    return action[:, : 2 * w].reshape(-1, w, 2) * (scale * cfg.waypoint_dt)[:, None, None]


def normalize_waypoints(waypoints: torch.Tensor, speed: torch.Tensor, cfg: WaypointControllerCfg) -> torch.Tensor:
    """Inverse of `metric_waypoints`: metric waypoints [N, W, 2] and speed [N] -> action [N, 2W+1]."""
    denom = (speed.clamp_min(1e-3) * cfg.waypoint_dt)[:, None, None]
    return torch.cat([(waypoints / denom).flatten(1), speed[:, None]], dim=-1)


def waypoints_to_velocity(waypoints: torch.Tensor, cfg: WaypointControllerCfg, *, max_lin_vel: float,
                          max_ang_vel: float) -> torch.Tensor:
    """Metric waypoints [N, W, 2] in the robot frame -> body velocity command [N, 2] = (v, omega).

    The command is clipped to the robot's top speed `max_lin_vel` (m/s) and yaw rate `max_ang_vel`
    (rad/s), which belong to the robot (its RobotSpec), not to the controller.
    """
    target = waypoints[:, cfg.lookahead]
    t = (cfg.lookahead + 1) * cfg.waypoint_dt
    dx, dy = target[:, 0], target[:, 1]
    heading = torch.atan2(dy, dx)
    # Turn in place when the target is behind or beside the robot; drive forward otherwise.
    forward = dx.clamp_min(0.0) / t
    v = forward * torch.cos(heading).clamp_min(0.0)
    omega = heading / t
    v = v.clamp(cfg.min_lin_vel, max_lin_vel)
    omega = omega.clamp(-max_ang_vel, max_ang_vel)
    return torch.stack([v, omega], dim=-1)
