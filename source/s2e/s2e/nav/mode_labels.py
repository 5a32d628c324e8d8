"""Per-mode experience labels: what the simulator knows about each of the policy's M modes at a state.

PPO's gradient reaches one drawn mode per step; the simulator can tell the outcome of every mode at
once. For each mode's predicted mean trajectory (its W waypoints, metric, robot frame) the labeler
uses the privileged state, like the scripted expert does for its arcs (s2e.nav.trajectory_checks):

- `collides`: a waypoint's swept footprint (robot radius + margin) meets a static footprint or a
  pedestrian predicted forward at constant velocity;
- `off_walkable`: a waypoint leaves the walkable area (curb, road, building);
- `progress`: metres gained along the reference route by the trajectory's last waypoint before the
  first blocked one (the monotone route projection, so cutting across a bend earns nothing).

The score of mode m is progress_m - collision_penalty * collides_m - off_walkable_penalty * off_m (in
metres of progress); a ranking loss (s2e.rl.mode_ranking) fits the anchor scores to softmax(score / tau).
Everything is batched over envs and modes and renders nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ..urban.geometry import body_to_tile
from ..urban.routes import update_route_progress
from .trajectory_checks import TrajectoryCheckCfg, blocked_waypoints


@dataclass
class ModeLabelCfg(TrajectoryCheckCfg):
    collision_penalty: float = 3.0
    """Score subtracted (metres of route progress) from a mode whose trajectory hits an obstacle or a pedestrian."""
    off_walkable_penalty: float = 2.0
    """Score subtracted from a mode whose trajectory leaves the walkable area."""
    safety_margin: float = 0.1
    pedestrians: bool = True
    """Check pedestrians predicted forward at constant velocity."""


@dataclass
class ModeLabels:
    """[E, M] each: the score and its parts."""

    score: torch.Tensor
    progress: torch.Tensor
    collides: torch.Tensor
    off_walkable: torch.Tensor


class ModeLabeler:
    def __init__(self, cfg: ModeLabelCfg, robot_radius: float, waypoint_dt: float, ped_radius: float):
        self.cfg, self.r, self.dt, self.ped_r = cfg, robot_radius, waypoint_dt, ped_radius

    @torch.no_grad()
    def __call__(self, waypoints: torch.Tensor, xy: torch.Tensor, yaw: torch.Tensor, routes: torch.Tensor,
                 progress: torch.Tensor, footprints: torch.Tensor, footprint_valid: torch.Tensor,
                 clearance_maps: torch.Tensor, tile_size: float, ped_xy: torch.Tensor | None = None,
                 ped_vel: torch.Tensor | None = None, ped_valid: torch.Tensor | None = None) -> ModeLabels:
        """waypoints [E, M, W, 2]: each mode's metric robot-frame trajectory; robots at xy [E, 2] (tile frame),
        heading yaw [E], on routes [E, K, 2] with progress [E] (m)."""
        c = self.cfg
        e, m, w = waypoints.shape[:3]
        world = body_to_tile(waypoints, xy, yaw)
        peds = (ped_xy, ped_vel, ped_valid) if c.pedestrians else (None, None, None)
        checks = blocked_waypoints(world, xy, footprints, footprint_valid, clearance_maps, tile_size, c,
                                   robot_radius=self.r,
                                   waypoint_dt=self.dt, ped_xy=peds[0], ped_vel=peds[1], ped_valid=peds[2],
                                   ped_radius=self.ped_r)
        first = checks.first_blocked()  # [E, M]
        # The usable part of a trajectory ends before its first blocked waypoint (at the robot if that is the first).
        with_start = torch.cat([xy[:, None, None].expand(e, m, 1, 2), world], dim=2)  # [E, M, W + 1, 2]
        end = with_start.gather(2, first[..., None, None].expand(-1, -1, 1, 2)).squeeze(2)  # [E, M, 2]
        # the projection may advance as far as the trajectory reaches (+1 m), not to a later part of a bent route
        reach = waypoints.norm(dim=-1).amax(-1).reshape(e * m, 1) + 1.0
        p0 = progress.repeat_interleave(m)
        gained = update_route_progress(p0, end.reshape(e * m, 2), routes.repeat_interleave(m, dim=0), window=reach) - p0
        gained = gained.reshape(e, m)
        collides, off = checks.collides.any(-1), checks.off_walkable.any(-1)
        score = gained - c.collision_penalty * collides.float() - c.off_walkable_penalty * off.float()
        return ModeLabels(score=score, progress=gained, collides=collides, off_walkable=off)
