"""Pedestrians: a batched social-force crowd walking the sidewalks and crosswalks of every env at once.

Each pedestrian walks toward its own goal on the walkable area. The walkable area is a union of
convex rectangles, so a straight line inside one rectangle is always walkable; a pedestrian heads for
the portal (the overlap) into the next rectangle of the shortest rectangle path to its goal, from a
per-layout next-hop table. Forces (Helbing & Molnar 1995): relaxation toward the desired velocity,
exponential repulsion from other pedestrians, obstacles and (optionally) the robot. After each step
pedestrians are projected back onto the walkable area, out of obstacles and apart from each other,
so they never overlap. Everything is tensors over [envs, pedestrians]: no Python loop per env.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .geometry import circle_distance, footprint_distance, points_in_rects, project_into_rects
from .layout import UrbanLayout


@dataclass
class PedestrianCfg:
    count: tuple[int, int] = (0, 0)
    """Range of pedestrians per env (sampled at each reset); the upper bound sizes the pool."""
    speed: tuple[float, float] = (0.8, 1.4)
    """Range of preferred walking speeds (m/s)."""
    radius: float = 0.3
    """Body radius (m): spacing, collisions with the robot and the checks of the expert and the mode labels."""
    react_to_robot: bool = True
    """Whether pedestrians give way to the robot (repulsion from it) or ignore it."""
    relaxation_time: float = 0.5
    """Social force: seconds in which a pedestrian's velocity relaxes to its preferred one (towards its goal)."""
    ped_strength: float = 2.0
    """Repulsion from another pedestrian: strength * exp((2 radius - distance) / range) (m/s^2) ..."""
    ped_range: float = 0.3
    """... and its range (m)."""
    obstacle_strength: float = 3.0
    """Repulsion from the nearest obstacle: strength * exp((radius - distance) / range) ..."""
    obstacle_range: float = 0.2
    """... and its range (m)."""
    robot_strength: float = 3.0
    """Repulsion from the robot (react_to_robot): strength * exp((radius + robot_radius - distance) / range) ..."""
    robot_range: float = 0.4
    """... and its range (m); robot_radius is the robot's own (PedestrianCrowd's argument)."""
    max_speed_factor: float = 1.3
    """A pedestrian never walks faster than this times its preferred speed."""
    goal_tolerance: float = 0.6
    """Distance (m) at which a pedestrian has reached its goal and draws a new one."""
    separation_iters: int = 3
    """Projection sweeps per step that push pedestrians apart, out of obstacles and onto the walkable area."""


class PedestrianCrowd:
    """State and dynamics of all pedestrians in all envs."""

    def __init__(self, layouts: list[UrbanLayout], obstacles: list[np.ndarray], cfg: PedestrianCfg,
                 device: str | torch.device = "cpu", seed: int = 0, *, robot_radius: float):
        """`robot_radius` (m): the robot's body radius, which the pedestrians' repulsion from it keeps clear."""
        self.cfg, self.device, self.robot_radius = cfg, torch.device(device), float(robot_radius)
        self.num_envs, self.max_count = len(layouts), int(cfg.count[1])
        e, p = self.num_envs, self.max_count
        r_max = max(len(l.walk_rects) for l in layouts)
        self.rects = torch.zeros(e, r_max, 4, device=self.device)
        self.rect_valid = torch.zeros(e, r_max, dtype=torch.bool, device=self.device)
        self.hops = torch.full((e, r_max, r_max), 10**6, dtype=torch.long, device=self.device)
        self.next_hop = torch.zeros(e, r_max, r_max, dtype=torch.long, device=self.device)
        self.portal = torch.zeros(e, r_max, r_max, 2, device=self.device)
        for i, layout in enumerate(layouts):
            n = len(layout.walk_rects)
            self.rects[i, :n] = torch.as_tensor(layout.walk_rects, device=self.device)
            self.rect_valid[i, :n] = True
            hops, nxt, portal = _rect_graph(layout.walk_rects)
            self.hops[i, :n, :n] = torch.as_tensor(hops, device=self.device)
            self.next_hop[i, :n, :n] = torch.as_tensor(nxt, device=self.device)
            self.portal[i, :n, :n] = torch.as_tensor(portal, device=self.device)
        o_max = max(1, max(len(o) for o in obstacles))
        self.obstacles = torch.zeros(e, o_max, 7, device=self.device)
        self.obstacle_valid = torch.zeros(e, o_max, dtype=torch.bool, device=self.device)
        for i, obs in enumerate(obstacles):
            self.obstacles[i, : len(obs)] = torch.as_tensor(obs, device=self.device)
            self.obstacle_valid[i, : len(obs)] = True
        area = (self.rects[..., 2] - self.rects[..., 0]) * (self.rects[..., 3] - self.rects[..., 1])
        self._rect_weights = torch.where(self.rect_valid, area, torch.zeros_like(area))
        self.pos = torch.zeros(e, p, 2, device=self.device)
        self.vel = torch.zeros(e, p, 2, device=self.device)
        self.goal = torch.zeros(e, p, 2, device=self.device)
        self.goal_rect = torch.zeros(e, p, dtype=torch.long, device=self.device)
        self.speed = torch.ones(e, p, device=self.device)
        self.active = torch.zeros(e, p, dtype=torch.bool, device=self.device)
        self.generator = torch.Generator(device=self.device)
        self.generator.manual_seed(seed)

    @property
    def heading(self) -> torch.Tensor:
        """[E, P] walking direction (yaw)."""
        return torch.atan2(self.vel[..., 1], self.vel[..., 0])

    def reset(self, env_ids: torch.Tensor | None = None, keep_clear: torch.Tensor | None = None,
              clear_radius: float = 2.0) -> None:
        """Place a new random crowd (count, positions, goals, speeds) in the given envs.

        keep_clear [n, 2]: a point per reset env (the robot's start) that no pedestrian starts within
        `clear_radius` of (resampled a few times; any that stay too close are pushed out).
        """
        if self.max_count == 0:
            return
        ids = torch.arange(self.num_envs, device=self.device) if env_ids is None else env_ids.to(self.device)
        n, p, g = len(ids), self.max_count, self.generator
        lo, hi = self.cfg.count
        counts = torch.randint(lo, hi + 1, (n,), generator=g, device=self.device)
        self.active[ids] = torch.arange(p, device=self.device)[None] < counts[:, None]
        pos, _ = self._sample_points(ids)
        if keep_clear is not None:
            keep_clear = keep_clear.to(self.device)[:, None]
            for _ in range(10):
                close = (pos - keep_clear).norm(dim=-1) < clear_radius
                if not close.any():
                    break
                fresh, _ = self._sample_points(ids)
                pos = torch.where(close[..., None], fresh, pos)
            away = pos - keep_clear
            dist = away.norm(dim=-1, keepdim=True)
            pos = torch.where(dist < clear_radius, keep_clear + away / dist.clamp_min(1e-6) * clear_radius, pos)
        self.pos[ids] = pos
        self.goal[ids], self.goal_rect[ids] = self._sample_points(ids)
        self.vel[ids] = 0.0
        s0, s1 = self.cfg.speed
        self.speed[ids] = s0 + (s1 - s0) * torch.rand(n, p, generator=g, device=self.device)
        for _ in range(10):  # spread the initial crowd so that nobody starts overlapping
            self._enforce_constraints()

    def step(self, dt: float, robot_xy: torch.Tensor | None = None) -> None:
        """Advance every pedestrian by dt (robot_xy [E, 2] is needed when they react to the robot)."""
        if self.max_count == 0:
            return
        c = self.cfg
        arrived = (self.goal - self.pos).norm(dim=-1) < c.goal_tolerance
        if arrived.any():
            env_idx = arrived.nonzero()[:, 0]
            new_goal, new_rect = self._sample_points(env_idx, per_ped=False)
            self.goal[arrived], self.goal_rect[arrived] = new_goal, new_rect
        target = self._waypoint()
        to_target = target - self.pos
        desired = to_target / to_target.norm(dim=-1, keepdim=True).clamp_min(1e-6) * self.speed[..., None]
        force = (desired - self.vel) / c.relaxation_time
        # Pedestrian-pedestrian repulsion.
        d, n = circle_distance(self.pos, self.pos, self.active)
        eye = torch.eye(self.max_count, dtype=torch.bool, device=self.device)[None]
        mag = c.ped_strength * torch.exp((2 * c.radius - d) / c.ped_range)
        mag = torch.where(eye | ~torch.isfinite(d), torch.zeros_like(mag), mag)
        force = force + (mag[..., None] * n).sum(2)
        # Obstacles.
        d, n = footprint_distance(self.pos, self.obstacles, self.obstacle_valid)
        mag = c.obstacle_strength * torch.exp((c.radius - d.clamp_min(-1.0)) / c.obstacle_range)
        mag = torch.where(torch.isfinite(d), mag, torch.zeros_like(mag))
        force = force + (mag[..., None] * n).sum(2)
        if c.react_to_robot and robot_xy is not None:
            d, n = circle_distance(self.pos, robot_xy[:, None], torch.ones_like(self.active[:, :1]))
            mag = c.robot_strength * torch.exp((c.radius + self.robot_radius - d) / c.robot_range)
            force = force + (mag[..., None] * n).sum(2)
        vel = self.vel + force * dt
        vmax = (self.speed * c.max_speed_factor)[..., None]
        vel = vel * (vmax / vel.norm(dim=-1, keepdim=True).clamp_min(1e-6)).clamp(max=1.0)
        new_pos = self.pos + vel * dt
        self.pos = torch.where(self.active[..., None], new_pos, self.pos)
        before = self.pos.clone()
        self._enforce_constraints()
        # Velocity is what actually happened after the constraints (no pushing through walls).
        self.vel = torch.where(self.active[..., None], vel + (self.pos - before) / dt, torch.zeros_like(vel))

    def min_separation(self) -> torch.Tensor:
        """[E] smallest centre distance between two active pedestrians (inf with fewer than two)."""
        d, _ = circle_distance(self.pos, self.pos, self.active)
        eye = torch.eye(self.max_count, dtype=torch.bool, device=self.device)[None]
        d = torch.where(eye | ~self.active[..., None], torch.full_like(d, float("inf")), d)
        return d.flatten(1).min(dim=1).values

    def _waypoint(self) -> torch.Tensor:
        """Current target of each pedestrian: its goal, or the portal into the next rectangle."""
        inside = points_in_rects(self.pos, self.rects, self.rect_valid, tol=0.05)  # [E, P, R]
        # [E, R, P]
        hops_to_goal = torch.gather(self.hops, 2, self.goal_rect[:, None, :].expand(-1, self.hops.shape[1], -1))
        hops_to_goal = hops_to_goal.transpose(1, 2)  # [E, P, R]
        cost = torch.where(inside, hops_to_goal, torch.full_like(hops_to_goal, 10**7))
        cur = cost.argmin(dim=-1)  # [E, P]
        e_idx = torch.arange(self.num_envs, device=self.device)[:, None].expand_as(cur)
        nxt = self.next_hop[e_idx, cur, self.goal_rect]
        portal = self.portal[e_idx, cur, nxt]
        same = (cur == self.goal_rect) | (nxt == cur)
        return torch.where(same[..., None], self.goal, portal)

    def _sample_points(self, env_idx: torch.Tensor, per_ped: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """Uniform points on the walkable rectangles of the given envs (area weighted).

        per_ped: one per pedestrian slot ([n, P, 2]); otherwise one per entry of env_idx ([n, 2]).
        """
        w = self._rect_weights[env_idx]
        k = self.max_count if per_ped else 1
        rect = torch.multinomial(w, k, replacement=True, generator=self.generator)  # [n, k]
        r = torch.gather(self.rects[env_idx], 1, rect[..., None].expand(-1, -1, 4))
        m = self.cfg.radius
        u = torch.rand(*rect.shape, 2, generator=self.generator, device=self.device)
        lo, hi = r[..., :2] + m, torch.maximum(r[..., 2:] - m, r[..., :2] + m)
        pts = lo + u * (hi - lo)
        if not per_ped:
            return pts[:, 0], rect[:, 0]
        return pts, rect

    def _enforce_constraints(self) -> None:
        """Walkable area, out of obstacles, apart from each other (a few projection sweeps)."""
        c = self.cfg
        for _ in range(c.separation_iters):
            d, n = circle_distance(self.pos, self.pos, self.active)
            eye = torch.eye(self.max_count, dtype=torch.bool, device=self.device)[None]
            overlap = (2 * c.radius + 1e-3 - d).clamp_min(0)
            overlap = torch.where(eye | ~torch.isfinite(d), torch.zeros_like(overlap), overlap)
            push = (0.5 * overlap[..., None] * n).sum(2)
            d, n = footprint_distance(self.pos, self.obstacles, self.obstacle_valid)
            pen = (c.radius - d).clamp_min(0)
            pen = torch.where(torch.isfinite(d), pen, torch.zeros_like(pen))
            push = push + (pen[..., None] * n).sum(2)
            self.pos = torch.where(self.active[..., None], self.pos + push, self.pos)
            self.pos = project_into_rects(self.pos, self.rects, self.rect_valid, margin=c.radius * 0.5)


def _rect_graph(rects: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hop counts, next hops and portal points between overlapping rectangles (Floyd-Warshall)."""
    n = len(rects)
    lo = np.maximum(rects[:, None, :2], rects[None, :, :2])
    hi = np.minimum(rects[:, None, 2:], rects[None, :, 2:])
    adj = (hi > lo).all(-1) & ~np.eye(n, dtype=bool)
    portal = (lo + hi) / 2
    big = 10**6
    hops = np.where(adj, 1, big)
    np.fill_diagonal(hops, 0)
    nxt = np.where(adj, np.arange(n)[None, :], np.arange(n)[:, None])
    for k in range(n):
        via = hops[:, k : k + 1] + hops[k : k + 1, :]
        better = via < hops
        hops = np.where(better, via, hops)
        nxt = np.where(better, nxt[:, k : k + 1], nxt)
    return hops, nxt, portal
