"""Reward terms: thin wrappers that feed the episode state to `s2e.nav.rewards` (R_G + R_R + R_H)."""

from __future__ import annotations

import torch

from s2e.nav import rewards as R

__all__ = [
    "arrived_reward", "collision_penalty", "route_progress", "velocity_towards_goal", "position_tracking",
    "sidewalk_centering", "social_distance", "command_smoothness", "spin_penalty",
]


def _state(env, command_name):
    return env.command_manager.get_term(command_name).refresh()


def arrived_reward(env, command_name: str = "nav") -> torch.Tensor:
    return R.arrival(_state(env, command_name))


def collision_penalty(env, command_name: str = "nav") -> torch.Tensor:
    return R.collision(_state(env, command_name))


def route_progress(env, command_name: str = "nav") -> torch.Tensor:
    return R.route_progress(_state(env, command_name), env.step_dt)


def velocity_towards_goal(env, command_name: str = "nav") -> torch.Tensor:
    return R.velocity_towards_goal(_state(env, command_name), env.step_dt)


def position_tracking(env, std: float, command_name: str = "nav") -> torch.Tensor:
    return R.position_tracking(_state(env, command_name), std)


def sidewalk_centering(env, comfortable: float = 1.0, command_name: str = "nav") -> torch.Tensor:
    nav = env.command_manager.get_term(command_name)
    xy, _ = nav.robot_pose_2d()
    clearance = R.sample_grid(nav.clearance, xy, nav.layouts[0].size)
    return R.sidewalk_centering(clearance, comfortable)


def social_distance(env, comfortable: float = 1.0, command_name: str = "nav") -> torch.Tensor:
    return R.social_distance(_state(env, command_name).ped_clearance, comfortable)


def command_smoothness(env, action_name: str = "nav") -> torch.Tensor:
    term = env.action_manager.get_term(action_name)
    return R.command_smoothness(term.cmd, term.prev_cmd)


def spin_penalty(env, action_name: str = "nav") -> torch.Tensor:
    return R.spin(env.action_manager.get_term(action_name).cmd)
