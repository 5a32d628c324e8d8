"""Batched 2-D geometry on obstacle footprints, shared by pedestrians, collisions, rewards and the expert,
and the one home of the 2-D robot-frame conversions (world <-> body, yaw <-> Isaac Lab's xyzw quaternions).

Footprints are rows (cx, cy, yaw, half_x, half_y, height, shape) as in `layout.UrbanLayout.obstacles`,
padded per env to one tensor [E, O, 7] with a validity mask. All functions broadcast over leading dims.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from .layout import CYLINDER


def footprint_distance(points: torch.Tensor, footprints: torch.Tensor,
                       valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Signed-ish distance from points to each footprint's boundary and the outward unit normal.

    points [E, N, 2], footprints [E, O, 7], valid [E, O] -> (dist [E, N, O], normal [E, N, O, 2]).
    Inside a footprint the distance is 0 (or negative for cylinders) and the normal points out.
    Invalid (padding) footprints get +inf distance.
    """
    d = points[:, :, None, :] - footprints[:, None, :, :2]  # [E, N, O, 2]
    c, s = torch.cos(footprints[..., 2])[:, None], torch.sin(footprints[..., 2])[:, None]
    lx, ly = c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]
    hx, hy = footprints[..., 3][:, None], footprints[..., 4][:, None]
    # Box: vector from the nearest point of the box to the point, in the box frame.
    qx = lx - lx.clamp(-hx, hx)
    qy = ly - ly.clamp(-hy, hy)
    box_dist = torch.hypot(qx, qy)
    inside = box_dist < 1e-9
    # Inside a box, push out through the nearest face.
    pen_x, pen_y = hx - lx.abs(), hy - ly.abs()
    out_x = torch.where(pen_x < pen_y, torch.sign(lx) + (lx == 0).float(), torch.zeros_like(lx))
    out_y = torch.where(pen_x < pen_y, torch.zeros_like(ly), torch.sign(ly) + (ly == 0).float())
    safe = box_dist.clamp_min(1e-9)
    nlx = torch.where(inside, out_x, qx / safe)
    nly = torch.where(inside, out_y, qy / safe)
    box_normal = torch.stack([c * nlx - s * nly, s * nlx + c * nly], dim=-1)
    box_dist = torch.where(inside, -torch.minimum(pen_x, pen_y), box_dist)
    # Cylinder: radius half_x.
    r = torch.hypot(d[..., 0], d[..., 1])
    cyl_dist = r - hx
    cyl_normal = d / r.clamp_min(1e-9)[..., None]
    is_cyl = (footprints[..., 6] == CYLINDER)[:, None]
    dist = torch.where(is_cyl, cyl_dist, box_dist)
    normal = torch.where(is_cyl[..., None], cyl_normal, box_normal)
    dist = torch.where(valid[:, None, :], dist, torch.full_like(dist, float("inf")))
    return dist, normal


def nearest_footprints(xy: torch.Tensor, footprints: torch.Tensor, valid: torch.Tensor,
                       k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The k footprints per env nearest to xy [E, 2] (exact distance): ([E, k, 7], valid [E, k]).

    Cheap culling before `footprint_distance` over many points when only a robot's neighbourhood
    matters. (Ranking by bounding circles would let long curbs and facades crowd out a small
    curb piece right next to the robot.)
    """
    if footprints.shape[1] <= k:
        return footprints, valid
    dist, _ = footprint_distance(xy[:, None], footprints, valid)
    idx = dist[:, 0].topk(k, dim=1, largest=False).indices
    return footprints.gather(1, idx[..., None].expand(-1, -1, footprints.shape[-1])), valid.gather(1, idx)


def circle_distance(points: torch.Tensor, centers: torch.Tensor,
                    valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre distances points [E, N, 2] -> centers [E, M, 2] as ([E, N, M], unit normals [E, N, M, 2]).

    Invalid centres get +inf distance.
    """
    d = points[:, :, None, :] - centers[:, None, :, :]
    r = torch.hypot(d[..., 0], d[..., 1])
    normal = d / r.clamp_min(1e-9)[..., None]
    r = torch.where(valid[:, None, :], r, torch.full_like(r, float("inf")))
    return r, normal


def points_in_rects(points: torch.Tensor, rects: torch.Tensor, valid: torch.Tensor, tol: float = 0.0) -> torch.Tensor:
    """points [E, N, 2], rects [E, R, 4] (xmin, ymin, xmax, ymax) -> inside [E, N, R]."""
    p = points[:, :, None, :]
    r = rects[:, None, :, :]
    inside = (p[..., 0] >= r[..., 0] - tol) & (p[..., 0] <= r[..., 2] + tol)
    inside &= (p[..., 1] >= r[..., 1] - tol) & (p[..., 1] <= r[..., 3] + tol)
    return inside & valid[:, None, :]


def project_into_rects(points: torch.Tensor, rects: torch.Tensor, valid: torch.Tensor,
                       margin: float = 0.0) -> torch.Tensor:
    """Nearest point of the union of rectangles (each shrunk by `margin`) to each point [E, N, 2]."""
    lo = rects[:, None, :, :2] + margin
    hi = torch.maximum(rects[:, None, :, 2:] - margin, lo)
    clamped = torch.minimum(torch.maximum(points[:, :, None, :], lo), hi)  # [E, N, R, 2]
    dist = (clamped - points[:, :, None, :]).norm(dim=-1)
    dist = torch.where(valid[:, None, :], dist, torch.full_like(dist, float("inf")))
    best = dist.argmin(dim=-1)
    return torch.gather(clamped, 2, best[..., None, None].expand(-1, -1, 1, 2)).squeeze(2)


def world_to_body(vec_xy: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """Rotate world-frame 2-D vectors [..., 2] into the frame of heading `yaw` [...]."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    return torch.stack([c * vec_xy[..., 0] + s * vec_xy[..., 1], -s * vec_xy[..., 0] + c * vec_xy[..., 1]], dim=-1)


def body_to_world(vec_xy: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """Inverse of `world_to_body`."""
    c, s = torch.cos(yaw), torch.sin(yaw)
    return torch.stack([c * vec_xy[..., 0] - s * vec_xy[..., 1], s * vec_xy[..., 0] + c * vec_xy[..., 1]], dim=-1)


def body_to_tile(waypoints: torch.Tensor, xy: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """Robot-frame waypoints [E, C, W, 2] of robots at xy [E, 2], heading yaw [E] -> tile frame [E, C, W, 2]."""
    c, s = torch.cos(yaw)[:, None, None], torch.sin(yaw)[:, None, None]
    wx, wy = waypoints[..., 0], waypoints[..., 1]
    return torch.stack([xy[:, None, None, 0] + c * wx - s * wy, xy[:, None, None, 1] + s * wx + c * wy], dim=-1)


def world_to_body_np(vec_xy: np.ndarray, yaw: float) -> np.ndarray:
    """NumPy `world_to_body` of vectors [..., 2] for one heading `yaw` (data pipelines that work in NumPy)."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.stack([c * vec_xy[..., 0] + s * vec_xy[..., 1], -s * vec_xy[..., 0] + c * vec_xy[..., 1]], axis=-1)


def wrap_angle(a: torch.Tensor) -> torch.Tensor:
    return torch.atan2(torch.sin(a), torch.cos(a))


def yaw_from_quat_xyzw(q: torch.Tensor) -> torch.Tensor:
    """Heading of (x, y, z, w) quaternions [..., 4] (Isaac Lab 3.0's convention)."""
    x, y, z, w = q.unbind(-1)
    return torch.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z))


def quat_xyzw_from_yaw(yaw: torch.Tensor) -> torch.Tensor:
    """(x, y, z, w) quaternions of pure rotations about z."""
    z = torch.zeros_like(yaw)
    return torch.stack([z, z, torch.sin(yaw / 2), torch.cos(yaw / 2)], dim=-1)
