"""Termination conditions that are not part of the episode state, as plain tensor functions."""

from __future__ import annotations

import torch


def fallen(base_height: torch.Tensor, quat_xyzw: torch.Tensor, min_height: float, max_tilt_cos: float) -> torch.Tensor:
    """Base below `min_height` above the ground, or tilted past acos(max_tilt_cos) from upright.

    The tilt comes from the base orientation (xyzw), not from projected gravity, so it also holds in
    the gravity-free base-velocity mode: cos(tilt) is the world-z component of the base's z axis.
    """
    x, y = quat_xyzw[:, 0], quat_xyzw[:, 1]
    norm2 = (quat_xyzw * quat_xyzw).sum(-1)
    up_z = 1.0 - 2.0 * (x * x + y * y) / norm2
    return (base_height < min_height) | (up_z < max_tilt_cos)


def left_block(xy: torch.Tensor, tile_size: float) -> torch.Tensor:
    """The robot's tile-frame position is outside its square block."""
    return (xy.abs() > tile_size / 2).any(dim=-1)
