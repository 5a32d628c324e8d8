"""Which waypoints of candidate trajectories are blocked: by a static footprint, a pedestrian predicted
forward at constant velocity, or the edge of the walkable area.

One home for the check that the scripted expert applies to its arcs and the mode labeler
(s2e.nav.mode_labels) applies to the policy's modes. Trajectories are world-frame (tile-frame)
waypoints [E, C, W, 2]; waypoint j is reached at time (j + 1) * waypoint_dt, which is when a
pedestrian's predicted position is compared with it.

Where the robot already stands too close (pushed there, or a bad start), a waypoint only counts as
blocked if it is closer still, so that the way out stays open.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..urban.geometry import footprint_distance, nearest_footprints
from .rewards import sample_grid


@dataclass
class TrajectoryCheckCfg:
    safety_margin: float = 0.2
    """Clearance (m) below which a waypoint counts as colliding (on top of the robot and pedestrian radii)."""
    min_walkable_clearance: float = 0.05
    """Walkable clearance (m) below which a waypoint counts as off the walkable area."""
    neighbours: int = 16
    """Footprints checked per env: the nearest ones to the robot (a 2.5 s trajectory stays within a few metres)."""


@dataclass
class BlockedWaypoints:
    """Per waypoint [E, C, W]: hits a footprint or a pedestrian (`collides`), leaves the walkable area
    (`off_walkable`)."""

    collides: torch.Tensor
    off_walkable: torch.Tensor

    @property
    def blocked(self) -> torch.Tensor:
        return self.collides | self.off_walkable

    def first_blocked(self) -> torch.Tensor:
        """Index of each trajectory's first blocked waypoint, W when none is: [E, C]."""
        blocked = self.blocked
        w = blocked.shape[-1]
        return torch.where(blocked.any(-1), blocked.float().argmax(-1),
                           torch.full(blocked.shape[:-1], w, device=blocked.device))


def blocked_waypoints(world: torch.Tensor, xy: torch.Tensor, footprints: torch.Tensor, footprint_valid: torch.Tensor,
                      clearance_maps: torch.Tensor, tile_size: float, cfg: TrajectoryCheckCfg, *, robot_radius: float,
                      ped_radius: float, waypoint_dt: float, ped_xy: torch.Tensor | None = None,
                      ped_vel: torch.Tensor | None = None, ped_valid: torch.Tensor | None = None) -> BlockedWaypoints:
    """world [E, C, W, 2] trajectories of robots at xy [E, 2]; footprints [E, O, 7] (+ valid [E, O]);
    clearance_maps [E, H, W] (walkable clearance, m); pedestrians ped_xy / ped_vel [E, P, 2], ped_valid [E, P]
    (None: none considered). A waypoint is blocked when its clearance is below the margin."""
    e, cnum, w = world.shape[:3]
    pts = world.reshape(e, cnum * w, 2)
    near, near_valid = nearest_footprints(xy, footprints, footprint_valid, cfg.neighbours)
    d, _ = footprint_distance(pts, near, near_valid)
    clear = (d.min(dim=-1).values - robot_radius).reshape(e, cnum, w)
    if ped_xy is not None and ped_xy.shape[1] > 0:
        t = (torch.arange(w, device=xy.device) + 1) * waypoint_dt
        future = ped_xy[:, None] + ped_vel[:, None] * t[None, :, None, None]  # [E, W, P, 2]
        dp = (world[:, :, :, None, :] - future[:, None]).norm(dim=-1)  # [E, C, W, P]
        dp = torch.where(ped_valid[:, None, None, :], dp, torch.full_like(dp, float("inf")))
        clear = torch.minimum(clear, dp.min(dim=-1).values - robot_radius - ped_radius)
    walk = sample_grid(clearance_maps, pts, tile_size).reshape(e, cnum, w)
    here, _ = footprint_distance(xy[:, None], near, near_valid)
    clear_now = (here[:, 0].min(dim=-1).values - robot_radius)[:, None, None]
    walk_now = sample_grid(clearance_maps, xy, tile_size)[:, None, None]
    collides = clear < torch.clamp(clear_now - 0.01, max=cfg.safety_margin)
    off_walkable = walk < torch.clamp(walk_now - 0.01, max=cfg.min_walkable_clearance)
    return BlockedWaypoints(collides, off_walkable)
