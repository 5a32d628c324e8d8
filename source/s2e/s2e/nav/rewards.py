"""Navigation reward terms R = R_G + R_R + R_H as plain tensor functions (weights live in the env cfg).

R_G (goal): arrival, collision, route progress, position tracking, velocity towards the goal.
R_R (rules): sidewalk centering (stay away from the walkable area's edge), social distance to pedestrians.
R_H (human-likeness): smooth velocity commands, little spinning.
Each returns [E] per-step values; penalties are returned negative so that weights are positive.
"""

from __future__ import annotations

import torch

from .episode_state import EpisodeState


def arrival(state: EpisodeState) -> torch.Tensor:
    return state.arrived.float()


def collision(state: EpisodeState) -> torch.Tensor:
    """-1 when a contact begins."""
    return -state.new_collision.float()


def route_progress(state: EpisodeState, dt: float) -> torch.Tensor:
    """Speed along the reference route (m/s), from the monotone projection."""
    return (state.progress - state.prev_progress) / dt


def velocity_towards_goal(state: EpisodeState, dt: float) -> torch.Tensor:
    """Rate at which the straight-line distance to the goal shrinks (m/s)."""
    return (state.prev_dist_to_goal - state.dist_to_goal) / dt


def position_tracking(state: EpisodeState, std: float) -> torch.Tensor:
    """1 - tanh(d / std): dense attraction to the goal (URBAN-SIM uses std 5 and std 1)."""
    return 1.0 - torch.tanh(state.dist_to_goal / std)


def sample_grid(maps: torch.Tensor, xy: torch.Tensor, size: float) -> torch.Tensor:
    """Nearest-cell value of per-env square maps [E, H, W] (row = y) covering [-size/2, size/2]^2 at xy [E, ..., 2]."""
    n = maps.shape[-1]
    ij = ((xy + size / 2) / size * n).long().clamp(0, n - 1)
    env = torch.arange(maps.shape[0], device=maps.device).view(-1, *([1] * (xy.dim() - 2)))
    return maps[env, ij[..., 1], ij[..., 0]]


def sidewalk_centering(clearance: torch.Tensor, comfortable: float) -> torch.Tensor:
    """-(1 - clearance / comfortable) below the comfortable distance to the walkable edge, 0 beyond; -1 off it."""
    return -(1.0 - clearance / comfortable).clamp(0.0, 1.0)


def social_distance(ped_clearance: torch.Tensor, comfortable: float) -> torch.Tensor:
    """-(1 - gap / comfortable) when a pedestrian is closer than the comfortable gap."""
    gap = torch.nan_to_num(ped_clearance, posinf=1e6)
    return -(1.0 - gap / comfortable).clamp(0.0, 1.0)


def command_smoothness(cmd: torch.Tensor, prev_cmd: torch.Tensor) -> torch.Tensor:
    """-||cmd - prev_cmd||^2 of the (v, omega) command."""
    return -(cmd - prev_cmd).pow(2).sum(dim=-1)


def spin(cmd: torch.Tensor) -> torch.Tensor:
    """-omega^2: people do not spin on the spot."""
    return -cmd[:, 1].pow(2)
