"""Observation terms. The policy sees the goal, its own motion and the camera's last k frames (the
`camera` group: RGB and depth history of the Gaussian-splat sensor); the critic may also read
privileged geometry (clearances, route progress)."""

from __future__ import annotations

import torch

from isaaclab.managers import SceneEntityCfg

from .navigation_command import heading_velocity

__all__ = ["goal_in_robot_frame", "route_guidance", "base_velocity_2d", "last_velocity_command",
           "privileged_navigation", "rgb_history", "depth_history"]


def _nav(env, command_name: str):
    return env.command_manager.get_term(command_name)


def goal_in_robot_frame(env, command_name: str = "nav") -> torch.Tensor:
    """(x, y, distance) of the goal in the robot frame [E, 3]."""
    return _nav(env, command_name).command


def route_guidance(env, command_name: str = "nav", *, lookahead: float) -> torch.Tensor:
    """(x, y) of the point `lookahead` m ahead on the reference route, robot frame [E, 2]: the AGDM
    policy's goal input (what its pretraining goals look like; the goal itself near the end). `lookahead`
    comes from the task cfg (observations.route.goal.params, see urban_env_cfg.route_lookahead)."""
    return _nav(env, command_name).route_goal(lookahead)


def base_velocity_2d(env, command_name: str = "nav") -> torch.Tensor:
    """(v_forward, v_lateral, yaw rate) in the heading frame [E, 3]."""
    return heading_velocity(_nav(env, command_name).robot)


def last_velocity_command(env, action_name: str = "nav") -> torch.Tensor:
    """The (v, omega) the waypoint controller sent last step [E, 2]."""
    return env.action_manager.get_term(action_name).cmd


def privileged_navigation(env, command_name: str = "nav", clip: float = 5.0) -> torch.Tensor:
    """Critic-only: clearances to static geometry and pedestrians, route progress fraction, steps [E, 4]."""
    nav = _nav(env, command_name)
    s = nav.refresh()
    return torch.stack([
        s.static_clearance.clamp(max=clip),
        torch.nan_to_num(s.ped_clearance, posinf=clip).clamp(max=clip),
        s.progress / s.route_length.clamp_min(1e-6),
        s.steps.float() / env.max_episode_length,
    ], dim=-1)


def rgb_history(env, sensor_cfg: SceneEntityCfg = SceneEntityCfg("camera")) -> torch.Tensor:
    """The camera's last k RGB frames, oldest first, as [E, k, 3, H, W] floats in [0, 1]."""
    rgb = env.scene.sensors[sensor_cfg.name].data.rgb
    return rgb.permute(0, 1, 4, 2, 3).float() / 255.0


def depth_history(env, sensor_cfg: SceneEntityCfg = SceneEntityCfg("camera"), max_depth: float = 20.0) -> torch.Tensor:
    """The camera's last k depth frames as [E, k, 1, H, W], divided by max_depth and clipped to [0, 1]."""
    depth = env.scene.sensors[sensor_cfg.name].data.depth
    return (depth.permute(0, 1, 4, 2, 3) / max_depth).clamp(0.0, 1.0)
