"""Per-env geometric episode state: route progress, arrival and collisions, for all envs at once.

A collision is the robot's footprint circle coming within `margin` of a static footprint (obstacle,
furniture, building, curb) or of a pedestrian. `collision_count` counts contacts, not steps in
contact: a contact is counted when it begins (NavBench-GS's CT).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch

from ..urban.geometry import circle_distance, footprint_distance
from ..urban.routes import route_lengths, update_route_progress
from .metrics import contact_onsets


def robot_clearances(xy, footprints, footprint_valid, ped_xy, ped_valid, robot_radius, ped_radius):
    """Free distance from the robot's footprint circle to the nearest static footprint and pedestrian ([E], [E])."""
    d_static, _ = footprint_distance(xy[:, None], footprints, footprint_valid)
    static = (d_static[:, 0].min(dim=-1).values - robot_radius if footprints.shape[1]
              else torch.full_like(xy[:, 0], float("inf")))
    if ped_xy is not None and ped_xy.shape[1] > 0:
        d_ped, _ = circle_distance(xy[:, None], ped_xy, ped_valid)
        ped = d_ped[:, 0].min(dim=-1).values - robot_radius - ped_radius
    else:
        ped = torch.full_like(static, float("inf"))
    return static, ped


def robot_collision(xy, footprints, footprint_valid, ped_xy, ped_valid, robot_radius, ped_radius, margin=0.02):
    """[E] bool: the robot touches a static footprint or a pedestrian."""
    static, ped = robot_clearances(xy, footprints, footprint_valid, ped_xy, ped_valid, robot_radius, ped_radius)
    return (static < margin) | (ped < margin)


@dataclass
class EpisodeState:
    progress: torch.Tensor  # metres along the route
    prev_progress: torch.Tensor
    route_length: torch.Tensor
    dist_to_goal: torch.Tensor
    prev_dist_to_goal: torch.Tensor
    arrived: torch.Tensor  # bool, within the arrival radius now
    arrived_ever: torch.Tensor
    colliding: torch.Tensor  # bool, in contact now
    new_collision: torch.Tensor  # bool, a contact began this step
    collision_count: torch.Tensor  # long
    static_clearance: torch.Tensor
    ped_clearance: torch.Tensor
    steps: torch.Tensor  # long, steps since reset
    path_length: torch.Tensor  # metres driven since reset
    arrival_step: torch.Tensor  # long, the step the robot first arrived (0: not yet)
    last_xy: torch.Tensor  # [n, 2] position at the last update (the start after a reset)

    @classmethod
    def zeros(cls, n: int, device) -> EpisodeState:
        out = {}
        for f in fields(cls):
            if f.name in ("arrived", "arrived_ever", "colliding", "new_collision"):
                out[f.name] = torch.zeros(n, dtype=torch.bool, device=device)
            elif f.name in ("collision_count", "steps", "arrival_step"):
                out[f.name] = torch.zeros(n, dtype=torch.long, device=device)
            elif f.name == "last_xy":
                out[f.name] = torch.zeros(n, 2, device=device)
            else:
                out[f.name] = torch.zeros(n, device=device)
        return cls(**out)

    def reset(self, ids: torch.Tensor, start_xy: torch.Tensor, routes: torch.Tensor) -> None:
        for f in fields(self):
            getattr(self, f.name)[ids] = 0
        self.route_length[ids] = route_lengths(routes)
        d = (routes[:, -1] - start_xy).norm(dim=-1)
        self.dist_to_goal[ids] = d
        self.prev_dist_to_goal[ids] = d
        self.static_clearance[ids] = float("inf")
        self.ped_clearance[ids] = float("inf")
        self.last_xy[ids] = start_xy

    def update(self, xy, goal, routes, footprints, footprint_valid, ped_xy, ped_valid, robot_radius, ped_radius,
               arrival_radius, margin) -> None:
        self.prev_progress = self.progress.clone()
        self.prev_dist_to_goal = self.dist_to_goal.clone()
        self.progress = update_route_progress(self.progress, xy, routes)
        self.dist_to_goal = (goal - xy).norm(dim=-1)
        self.arrived = self.dist_to_goal <= arrival_radius
        self.steps += 1
        self.arrival_step = torch.where(self.arrived & ~self.arrived_ever, self.steps, self.arrival_step)
        self.arrived_ever |= self.arrived
        self.path_length += (xy - self.last_xy).norm(dim=-1)
        self.last_xy = xy.clone()
        self.static_clearance, self.ped_clearance = robot_clearances(xy, footprints, footprint_valid, ped_xy, ped_valid,
                                                                     robot_radius, ped_radius)
        colliding = (self.static_clearance < margin) | (self.ped_clearance < margin)
        self.new_collision = contact_onsets(colliding, self.colliding)
        self.colliding = colliding
        self.collision_count += self.new_collision.long()
