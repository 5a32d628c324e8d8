"""Scripted expert: follows the reference route and avoids obstacles (and, optionally, pedestrians).

A batched sampling planner (DWA-like): from a carrot point a few metres ahead on the route, score
constant-curvature arcs at two speeds by how close they end to the carrot and reject arcs whose
swept footprint hits a static footprint, a pedestrian (predicted at constant velocity), or leaves
the walkable area. The chosen arc is emitted as the task's action: 10 normalized robot-frame
waypoints and a velocity scale, so the expert drives the same controller a learned policy does.
Like passive video, `avoid_pedestrians=False` makes it blind to people (for demonstration data).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch

from ..control.waypoint_controller import WaypointControllerCfg, normalize_waypoints
from ..urban.geometry import body_to_tile, world_to_body
from ..urban.routes import point_along_route
from .trajectory_checks import TrajectoryCheckCfg, blocked_waypoints


@dataclass
class ExpertCfg(TrajectoryCheckCfg):
    speed: float = 0.9
    lookahead: float = field(kw_only=True)
    """Metres ahead along the route of the carrot point. No default: the task cfg's route look-ahead
    (s2e_isaaclab's urban_env_cfg.route_lookahead), the same the policies' route guidance uses."""
    num_curvatures: int = 21
    max_curvature: float = 2.0
    avoid_pedestrians: bool = True
    route_weight: float = 1.0
    """Cost per metre of mean distance between an arc and the reference route."""


def distance_to_polyline(points: torch.Tensor, routes: torch.Tensor) -> torch.Tensor:
    """Distance from points [E, N, 2] to polylines [E, K, 2] -> [E, N]."""
    a, b = routes[:, None, :-1], routes[:, None, 1:]
    ab = b - a
    t = (((points[:, :, None] - a) * ab).sum(-1) / ab.pow(2).sum(-1).clamp_min(1e-9)).clamp(0, 1)
    return (points[:, :, None] - (a + t[..., None] * ab)).norm(dim=-1).min(dim=-1).values


class ScriptedExpert:
    def __init__(self, cfg: ExpertCfg, ctrl: WaypointControllerCfg, robot_radius: float, ped_radius: float):
        self.cfg, self.ctrl, self.r, self.ped_r = cfg, ctrl, robot_radius, ped_radius

    def _candidates(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        """Robot-frame waypoints [C, W, 2] of each candidate arc and its speed [C]."""
        c, w = self.cfg, self.ctrl.num_waypoints
        kappa = torch.linspace(-c.max_curvature, c.max_curvature, c.num_curvatures, device=device)
        speeds = torch.tensor([c.speed, 0.5 * c.speed], device=device)
        kappa, v = torch.meshgrid(kappa, speeds, indexing="ij")
        kappa, v = kappa.flatten(), v.flatten()
        t = (torch.arange(w, device=device) + 1) * self.ctrl.waypoint_dt
        s = v[:, None] * t[None]  # arc length [C, W]
        k = kappa[:, None]
        small = k.abs() < 1e-4
        ks = torch.where(small, torch.ones_like(k), k)
        x = torch.where(small, s, torch.sin(k * s) / ks)
        y = torch.where(small, 0.5 * k * s * s, (1 - torch.cos(k * s)) / ks)
        return torch.stack([x, y], dim=-1), v

    @torch.no_grad()
    def act(self, xy, yaw, routes, progress, footprints, footprint_valid, clearance_maps, tile_size, ped_xy=None,
            ped_vel=None, ped_valid=None) -> torch.Tensor:
        """Actions [E, 2W+1] for robots at xy [E, 2] (tile frame), heading yaw [E]."""
        e = xy.shape[0]
        wps, speeds = self._candidates(xy.device)  # [C, W, 2]
        cnum, w = wps.shape[:2]
        world = body_to_tile(wps[None].expand(e, -1, -1, -1), xy, yaw)  # [E, C, W, 2]
        pts = world.reshape(e, cnum * w, 2)
        peds = (ped_xy, ped_vel, ped_valid) if self.cfg.avoid_pedestrians else (None, None, None)
        first_block = blocked_waypoints(
            world, xy, footprints, footprint_valid, clearance_maps, tile_size, self.cfg, robot_radius=self.r,
            waypoint_dt=self.ctrl.waypoint_dt, ped_xy=peds[0], ped_vel=peds[1], ped_valid=peds[2],
            ped_radius=self.ped_r).first_blocked()
        # An arc is usable up to its first blocked waypoint; score by where it ends up.
        carrot = point_along_route(routes, progress + self.cfg.lookahead)
        end_idx = (first_block - 1).clamp_min(0)
        end = world.gather(2, end_idx[..., None, None].expand(-1, -1, 1, 2)).squeeze(2)
        cost = (end - carrot[:, None]).norm(dim=-1)
        # Stay near the reference route: cutting its corners is what brings the robot onto curbs.
        deviation = distance_to_polyline(pts, routes).reshape(e, cnum, w).mean(-1)
        cost = cost + self.cfg.route_weight * deviation
        # Prefer any fully free arc; only when none is free, the one that stays free the longest.
        partial = first_block < w
        cost = cost + 100.0 * partial.float() + 5.0 * (w - first_block).float() + 1e3 * (first_block == 0).float()
        best = cost.argmin(dim=-1)
        chosen = wps[best]  # [E, W, 2]
        speed = speeds[best]
        # Nothing safe at all: turn on the spot toward the carrot.
        stuck = first_block.gather(1, best[:, None])[:, 0] == 0
        if stuck.any():
            to_carrot = world_to_body(carrot - xy, yaw)
            side = torch.sign(to_carrot[:, 1] + 1e-6)
            turn = torch.zeros_like(chosen)
            turn[..., 1] = side[:, None] * 0.05 * (torch.arange(w, device=xy.device) + 1)
            chosen = torch.where(stuck[:, None, None], turn, chosen)
            speed = torch.where(stuck, torch.full_like(speed, 0.3), speed)
        return normalize_waypoints(chosen, speed, self.ctrl)
