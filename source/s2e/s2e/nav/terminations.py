"""Termination conditions that are not part of the episode state, as plain tensor functions."""

from __future__ import annotations

import torch


def fallen(base_height: torch.Tensor, gravity_b: torch.Tensor, min_height: float, max_tilt_cos: float) -> torch.Tensor:
    """Base below `min_height` above the ground, or tilted past acos(max_tilt_cos) from upright.

    gravity_b is the unit gravity direction in the base frame ([0, 0, -1] when upright).
    """
    return (base_height < min_height) | (-gravity_b[:, 2] < max_tilt_cos)


def left_block(xy: torch.Tensor, tile_size: float) -> torch.Tensor:
    """The robot's tile-frame position is outside its square block."""
    return (xy.abs() > tile_size / 2).any(dim=-1)
