"""Termination terms: arrival, collision (optional: NavBench-GS counts and continues), fall, left block."""

from __future__ import annotations

import torch

__all__ = ["arrived", "collided", "fallen", "left_block"]


def _nav(env, command_name):
    return env.command_manager.get_term(command_name)


def arrived(env, command_name: str = "nav") -> torch.Tensor:
    return _nav(env, command_name).refresh().arrived


def collided(env, command_name: str = "nav") -> torch.Tensor:
    return _nav(env, command_name).refresh().new_collision


def fallen(env, min_height: float = 0.15, max_tilt_cos: float = 0.5, command_name: str = "nav") -> torch.Tensor:
    """Base below min_height above its tile, or tilted more than acos(max_tilt_cos) from upright."""
    nav = _nav(env, command_name)
    d = nav.robot.data
    height = d.root_pos_w.torch[:, 2] - nav.origins[:, 2]
    upright = -d.projected_gravity_b.torch[:, 2]
    return (height < min_height) | (upright < max_tilt_cos)


def left_block(env, command_name: str = "nav") -> torch.Tensor:
    nav = _nav(env, command_name)
    xy, _ = nav.robot_pose_2d()
    return (xy.abs() > nav.layouts[0].size / 2).any(dim=-1)
