"""Start/goal sampling and reference routes on a block's walkable area, and route completion.

Routes are shortest paths on the walkable grid kept `clearance` away from every edge and obstacle
(Dijkstra over the 8-connected free cells, then line-of-sight shortcutting), resampled to a fixed
number of points so that a batch of routes is one tensor. Route completion (RC) is the arc length of
the robot's projection on its route over the route's length.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from numba import njit
from scipy import ndimage
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from .layout import UrbanLayout


@dataclass
class RouteCfg:
    min_distance: float = 10.0
    """Smallest straight-line start-goal distance (m)."""
    max_distance: float = 40.0
    """Largest straight-line start-goal distance (m)."""
    clearance: float = 0.5
    """Distance the route keeps from obstacles and the edge of the walkable area (robot radius + margin)."""
    num_points: int = 64
    """Points per resampled route (routes are padded to one tensor shape)."""
    max_tries: int = 200
    """Start-goal draws before sampling gives up with an error naming the layout."""
    start_yaw_noise: float = 0.3
    """The start heading faces along the route, +- this (rad); demonstration runs widen it to show recoveries."""


@dataclass
class Episode:
    start: np.ndarray  # (x, y) tile frame
    start_yaw: float
    goal: np.ndarray  # (x, y)
    route: np.ndarray  # [num_points, 2], route[0] == start, route[-1] == goal
    length: float


class RoutePlanner:
    """Caches one layout's free-space graph; samples episodes and plans routes on it."""

    def __init__(self, layout: UrbanLayout, cfg: RouteCfg, clearance: np.ndarray | None = None):
        """`clearance`: the layout's clearance_map when the caller has it already (else computed here)."""
        self.layout, self.cfg = layout, cfg
        self.clearance_map = clearance_map(layout) if clearance is None else clearance
        self.free = self.clearance_map >= cfg.clearance
        n = self.free.shape[0]
        idx = np.flatnonzero(self.free.ravel())
        self._node_of = np.full(n * n, -1, dtype=np.int64)
        self._node_of[idx] = np.arange(len(idx))
        self._cells = idx
        rows, cols, w = [], [], []
        ii, jj = np.divmod(idx, n)
        for di, dj in ((0, 1), (1, 0), (1, 1), (1, -1)):
            ni, nj = ii + di, jj + dj
            ok = (ni >= 0) & (ni < n) & (nj >= 0) & (nj < n)
            nb = np.full(len(idx), -1)
            nb[ok] = self._node_of[ni[ok] * n + nj[ok]]
            ok &= nb >= 0
            rows.append(np.arange(len(idx))[ok])
            cols.append(nb[ok])
            w.append(np.full(ok.sum(), np.hypot(di, dj) * layout.resolution))
        r, c, ww = np.concatenate(rows), np.concatenate(cols), np.concatenate(w)
        self._graph = csr_matrix((np.concatenate([ww, ww]), (np.concatenate([r, c]), np.concatenate([c, r]))),
                                 shape=(len(idx), len(idx)))
        self._centers = layout.cell_centers().reshape(-1, 2)

    def plan(self, start: np.ndarray, goal: np.ndarray) -> np.ndarray | None:
        """Shortest free path start -> goal as a polyline [K, 2] (None if unreachable or not free)."""
        path = self.grid_path(start, goal)
        return None if path is None else self._shortcut(path)

    def grid_path(self, start: np.ndarray, goal: np.ndarray) -> np.ndarray | None:
        """Shortest path start -> goal over the free cells' centres (8-connected), ends replaced by the points."""
        n = self.free.shape[0]
        s_ij, g_ij = self.layout.cell_of(start), self.layout.cell_of(goal)
        s, g = self._node_of[s_ij[0] * n + s_ij[1]], self._node_of[g_ij[0] * n + g_ij[1]]
        if s < 0 or g < 0:
            return None
        dist, pred = dijkstra(self._graph, indices=s, return_predecessors=True, limit=np.inf)
        if not np.isfinite(dist[g]):
            return None
        path = [g]
        while path[-1] != s:
            path.append(pred[path[-1]])
        pts = self._centers[self._cells[np.asarray(path[::-1])]]
        pts[0], pts[-1] = start, goal
        return pts

    def sample_episode(self, rng: np.random.Generator) -> Episode:
        """A start and goal on free cells, min..max apart, connected; raises if none is found."""
        free_cells = np.flatnonzero(self.free.ravel())
        if len(free_cells) < 2:
            raise RuntimeError(f"layout seed {self.layout.seed} has no free walkable cells for clearance "
                               f"{self.cfg.clearance} m")
        for _ in range(self.cfg.max_tries):
            a, b = self._centers[rng.choice(free_cells, size=2)]
            if not self.cfg.min_distance <= np.linalg.norm(b - a) <= self.cfg.max_distance:
                continue
            path = self.plan(a, b)
            if path is None:
                continue
            route = resample_polyline(path, self.cfg.num_points)
            heading = route[min(2, len(route) - 1)] - route[0]
            yaw = float(np.arctan2(heading[1], heading[0])
                        + rng.uniform(-self.cfg.start_yaw_noise, self.cfg.start_yaw_noise))
            return Episode(a.astype(np.float32), yaw, b.astype(np.float32), route.astype(np.float32),
                           polyline_length(path))
        raise RuntimeError(
            f"no start/goal pair {self.cfg.min_distance}-{self.cfg.max_distance} m apart was found on layout seed "
            f"{self.layout.seed} in {self.cfg.max_tries} tries: lower route.min_distance or obstacle density"
        )

    def _shortcut(self, pts: np.ndarray) -> np.ndarray:
        """Greedy string pulling: extend each straight piece while the next point stays in line of sight."""
        keep = _string_pull(np.ascontiguousarray(pts, dtype=np.float64), self.free, self.layout.size / 2,
                            self.layout.resolution)
        return pts[keep]


@njit(cache=True)
def _string_pull(pts, free, half_size, resolution):
    """Points kept by greedy string pulling over a polyline [K, 2] (mask [K]): from each kept point, the
    piece goes on while the point after its current end is in line of sight over the `free` grid.

    Line of sight samples the segment every half cell (at least its two ends), the way the layout's
    `cell_of` maps tile-frame points to (row, col); compiled because a route makes ~100 such checks.
    """
    n = free.shape[0]
    keep = np.zeros(len(pts), dtype=np.bool_)
    keep[0] = keep[len(pts) - 1] = True
    i, j = 0, 1
    while j < len(pts) - 1:
        ax, ay = pts[i, 0], pts[i, 1]
        dx, dy = pts[j + 1, 0] - ax, pts[j + 1, 1] - ay
        count = max(2, int(np.ceil(np.sqrt(dx * dx + dy * dy) / (resolution * 0.5))))
        step = 1.0 / (count - 1)
        visible = True
        for s in range(count):
            t = 1.0 if s == count - 1 else s * step
            row = min(max(int(np.floor((ay + t * dy + half_size) / resolution)), 0), n - 1)
            col = min(max(int(np.floor((ax + t * dx + half_size) / resolution)), 0), n - 1)
            if not free[row, col]:
                visible = False
                break
        if visible:
            j += 1
        else:
            keep[j] = True
            i, j = j, j + 1
    return keep


def clearance_map(layout: UrbanLayout) -> np.ndarray:
    """[H, W] lower bound of the distance (m) from each cell centre to the non-walkable area (0 off it).

    The distance transform measures centre to centre; the edge of a blocked cell (or an obstacle
    inside it) can be up to half a cell diagonal closer, which is subtracted.
    """
    edt = ndimage.distance_transform_edt(layout.walkable)
    return (np.clip(edt - 0.71, 0.0, None) * layout.resolution).astype(np.float32)


def polyline_length(pts: np.ndarray) -> float:
    return float(np.linalg.norm(np.diff(pts, axis=0), axis=1).sum())


def resample_polyline(pts: np.ndarray, num: int) -> np.ndarray:
    """`num` points equally spaced by arc length along a polyline."""
    seg = np.linalg.norm(np.diff(pts, axis=0), axis=1)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    t = np.linspace(0.0, s[-1], num)
    return np.stack([np.interp(t, s, pts[:, 0]), np.interp(t, s, pts[:, 1])], axis=1)


def project_on_route(points: torch.Tensor, routes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Arc length of the nearest point on each route and the distance to it.

    points [E, 2], routes [E, K, 2] -> (arc [E], dist [E]).
    """
    a, b = routes[:, :-1], routes[:, 1:]
    ab = b - a
    seg_len = ab.norm(dim=-1)
    t = ((points[:, None] - a) * ab).sum(-1) / seg_len.pow(2).clamp_min(1e-9)
    t = t.clamp(0, 1)
    nearest = a + t[..., None] * ab
    dist = (points[:, None] - nearest).norm(dim=-1)
    cum = torch.cat([torch.zeros_like(seg_len[:, :1]), seg_len.cumsum(-1)[:, :-1]], dim=-1)
    best = dist.argmin(dim=-1, keepdim=True)
    arc = (cum + t * seg_len).gather(1, best).squeeze(1)
    return arc, dist.gather(1, best).squeeze(1)


def route_lengths(routes: torch.Tensor) -> torch.Tensor:
    return (routes[:, 1:] - routes[:, :-1]).norm(dim=-1).sum(-1)


def update_route_progress(progress: torch.Tensor, points: torch.Tensor, routes: torch.Tensor,
                          window: float | torch.Tensor = 3.0) -> torch.Tensor:
    """Monotone progress (m) along routes: the projection may advance at most `window` metres per update
    (a float, or per row [N, 1]).

    Restricting the projection to arc <= progress + window stops a bent (U-shaped) route from
    crediting a robot that cuts across to a later part of the route.
    """
    a, b = routes[:, :-1], routes[:, 1:]
    ab = b - a
    seg_len = ab.norm(dim=-1)
    cum = torch.cat([torch.zeros_like(seg_len[:, :1]), seg_len.cumsum(-1)[:, :-1]], dim=-1)
    t = (((points[:, None] - a) * ab).sum(-1) / seg_len.pow(2).clamp_min(1e-9)).clamp(0, 1)
    arc = cum + t * seg_len
    limit = progress[:, None] + window
    # Segments starting beyond the window are out of reach; clip arc within a reachable segment.
    reachable = cum <= limit
    arc = torch.minimum(arc, limit)
    tt = ((arc - cum) / seg_len.clamp_min(1e-9)).clamp(0, 1)
    nearest = a + tt[..., None] * ab
    dist = (points[:, None] - nearest).norm(dim=-1)
    dist = torch.where(reachable, dist, torch.full_like(dist, float("inf")))
    best = dist.argmin(dim=-1, keepdim=True)
    return torch.maximum(progress, arc.gather(1, best).squeeze(1))


def point_along_route(routes: torch.Tensor, arc: torch.Tensor) -> torch.Tensor:
    """Point at arc length `arc` [E] along routes [E, K, 2] (clamped to the ends)."""
    seg = (routes[:, 1:] - routes[:, :-1]).norm(dim=-1)
    cum = torch.cat([torch.zeros_like(seg[:, :1]), seg.cumsum(-1)], dim=-1)  # [E, K]
    arc = torch.minimum(arc.clamp_min(0), cum[:, -1])
    idx = torch.searchsorted(cum, arc[:, None]).clamp(1, routes.shape[1] - 1)  # [E, 1]
    a, b = routes.gather(1, (idx - 1)[..., None].expand(-1, -1, 2)), routes.gather(1, idx[..., None].expand(-1, -1, 2))
    c0, c1 = cum.gather(1, idx - 1), cum.gather(1, idx)
    t = ((arc[:, None] - c0) / (c1 - c0).clamp_min(1e-6))[..., None]
    return (a + t * (b - a))[:, 0]
