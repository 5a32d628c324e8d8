"""Termination terms: arrival, collision (optional: NavBench-GS counts and continues), fall, left block."""

from __future__ import annotations

import torch

from s2e.nav import terminations as T

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
    return T.fallen(d.root_pos_w.torch[:, 2] - nav.origins[:, 2], d.root_quat_w.torch, min_height, max_tilt_cos)


def left_block(env, command_name: str = "nav") -> torch.Tensor:
    nav = _nav(env, command_name)
    return T.left_block(nav.robot_pose_2d()[0], nav.layouts[0].size)
