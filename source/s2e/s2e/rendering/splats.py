"""Numpy building blocks for procedural Gaussian scenes: flat surface tiles, boxes, cylinders, blobs.

Procedural content (the urban block, its props) is assembled from many small primitive sets; doing it
in numpy and converting once to a `GaussianScene` keeps generation fast and vectorized. Each set also
carries a surface normal per Gaussian so that a fixed sun can shade faces differently (a flat-colour
box reads as 3D only when its sides differ in brightness).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
import torch

from .gaussians import GaussianScene, rgb_to_sh0
from .transforms import quat_mul, yaw_quats

SUN = np.array([0.45, 0.3, 0.84]) / np.linalg.norm([0.45, 0.3, 0.84])
"""Unit direction towards the sun (z up) for the shading baked into the colours."""
THIN = 0.01
"""Standard deviation of a flat Gaussian along its normal (m)."""


@dataclass
class Splats:
    """A set of Gaussians as numpy arrays; `normals` are zero for volumetric blobs."""

    means: np.ndarray
    scales: np.ndarray
    quats: np.ndarray
    rgb: np.ndarray
    opacity: np.ndarray
    normals: np.ndarray

    def __len__(self) -> int:
        return len(self.means)

    @staticmethod
    def cat(items: list[Splats]) -> Splats:
        items = [s for s in items if len(s)] or [empty()]
        return Splats(**{f.name: np.concatenate([getattr(s, f.name) for s in items]) for f in fields(Splats)})

    def subset(self, index: np.ndarray) -> Splats:
        return Splats(**{f.name: getattr(self, f.name)[index] for f in fields(Splats)})

    def placed(self, cx: float, cy: float, yaw: float, z: float = 0.0) -> Splats:
        """The set rotated by `yaw` about +z and moved to (cx, cy, z)."""
        c, s = np.cos(yaw), np.sin(yaw)
        rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
        q = yaw_quats(np.full(len(self), yaw))
        return Splats(self.means @ rot.T + (cx, cy, z), self.scales, quat_mul(q, self.quats), self.rgb,
                      self.opacity, self.normals @ rot.T)

    def to_scene(self, ambient: float = 0.72) -> GaussianScene:
        """Shade by the sun and convert to a float32 CPU `GaussianScene` (SH degree 0)."""
        n_dot = self.normals @ SUN
        has_normal = np.linalg.norm(self.normals, axis=1) > 0
        shade = np.where(has_normal, ambient + (1 - ambient) * n_dot, 0.5 * (1 + ambient))
        rgb = np.clip(self.rgb * shade[:, None], 0.0, 1.0)
        t = lambda a: torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32))
        return GaussianScene(t(self.means), t(self.quats), t(self.scales), t(self.opacity),
                             rgb_to_sh0(t(rgb))[:, None, :])


def empty() -> Splats:
    z3 = np.zeros((0, 3))
    return Splats(z3, z3, np.zeros((0, 4)), z3, np.zeros(0), z3)


def grid(lo: float, hi: float, pitch: float, min_count: int = 1) -> tuple[np.ndarray, float]:
    """Cell centres covering [lo, hi] with the largest pitch <= `pitch` that fits exactly."""
    n = max(min_count, int(np.ceil((hi - lo) / pitch - 1e-6)))
    step = (hi - lo) / n
    return lo + (np.arange(n) + 0.5) * step, step


def rect_points(u0: float, u1: float, v0: float, v1: float, pitch_u: float, pitch_v: float, min_count: int = 1):
    """Grid centres [n, 2] over a rectangle (at least `min_count` per side) and the fitted pitches."""
    us, pu = grid(u0, u1, pitch_u, min_count)
    vs, pv = grid(v0, v1, pitch_v, min_count)
    uu, vv = np.meshgrid(us, vs, indexing="ij")
    return np.stack([uu.ravel(), vv.ravel()], axis=1), pu, pv


def flat(means: np.ndarray, normal_axis: int, sign: float, sigma_a: np.ndarray | float, sigma_b: np.ndarray | float,
         rgb: np.ndarray, opacity: float) -> Splats:
    """Axis-aligned flat Gaussians facing `sign` * e_axis; sigma_a/b are the in-plane std-devs in axis order."""
    n = len(means)
    scales = np.full((n, 3), THIN)
    others = [a for a in range(3) if a != normal_axis]
    scales[:, others[0]] = sigma_a
    scales[:, others[1]] = sigma_b
    normals = np.zeros((n, 3))
    normals[:, normal_axis] = sign
    quats = np.tile([1.0, 0.0, 0.0, 0.0], (n, 1))
    return Splats(means.astype(np.float64), scales, quats, np.broadcast_to(rgb, (n, 3)).copy(), np.full(n, opacity),
                  normals)


def blobs(means: np.ndarray, sigma: np.ndarray, rgb: np.ndarray, opacity: float,
          normals: np.ndarray | None = None) -> Splats:
    """Volumetric ellipsoids (axis-aligned std-devs `sigma` [n, 3] or [3])."""
    n = len(means)
    normals = np.zeros((n, 3)) if normals is None else normals
    return Splats(np.asarray(means, float), np.broadcast_to(sigma, (n, 3)).astype(float),
                  np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)), np.broadcast_to(rgb, (n, 3)).copy(), np.full(n, opacity),
                  normals)


def box(hx: float, hy: float, z0: float, z1: float, pitch: float, rgb, opacity: float, overlap: float,
        bottom: bool = False) -> Splats:
    """Surface of an axis-aligned box centred on the local origin (top and four sides).

    Every face gets at least two rows each way: one row would have to be as wide as the face and
    would blur a thin face (a curb's side) far beyond its edges.
    """
    parts = []
    for axis, half in ((0, hx), (1, hy)):
        other = hy if axis == 0 else hx
        pts, pa, pz = rect_points(-other, other, z0, z1, pitch, pitch, 2)
        for sign in (-1.0, 1.0):
            m = np.zeros((len(pts), 3))
            m[:, axis], m[:, 1 - axis], m[:, 2] = sign * half, pts[:, 0], pts[:, 1]
            parts.append(flat(m, axis, sign, overlap * pa, overlap * pz, rgb, opacity))
    pts, px, py = rect_points(-hx, hx, -hy, hy, pitch, pitch, 2)
    for z, sign in [(z1, 1.0)] + ([(z0, -1.0)] if bottom else []):
        m = np.column_stack([pts, np.full(len(pts), z)])
        parts.append(flat(m, 2, sign, overlap * px, overlap * py, rgb, opacity))
    return Splats.cat(parts)


def cylinder(radius: float, z0: float, z1: float, pitch: float, rgb, opacity: float, overlap: float,
             top: bool = True) -> Splats:
    """Side (flat Gaussians tangent to it) and optional top disc of a vertical cylinder at the origin."""
    n_around = max(6, int(np.ceil(2 * np.pi * radius / pitch)))
    zs, pz = grid(z0, z1, pitch)
    ang = (np.arange(n_around) + 0.5) * 2 * np.pi / n_around
    aa, zz = np.meshgrid(ang, zs, indexing="ij")
    aa, zz = aa.ravel(), zz.ravel()
    normals = np.stack([np.cos(aa), np.sin(aa), np.zeros_like(aa)], axis=1)
    scales = np.column_stack([np.full(len(aa), THIN), np.full(len(aa), overlap * 2 * np.pi * radius / n_around),
                              np.full(len(aa), overlap * pz)])
    side = Splats(np.column_stack([radius * normals[:, :2], zz]), scales, yaw_quats(aa),
                  np.broadcast_to(rgb, (len(aa), 3)).copy(), np.full(len(aa), opacity), normals)
    if not top:
        return side
    pts, px, py = rect_points(-radius, radius, -radius, radius, pitch, pitch)
    pts = pts[np.hypot(pts[:, 0], pts[:, 1]) <= radius - 0.3 * px] if len(pts) > 1 else pts
    cap = flat(np.column_stack([pts, np.full(len(pts), z1)]), 2, 1.0, overlap * px, overlap * py, rgb, opacity)
    return Splats.cat([side, cap])


def chain(p0, p1, radius: float, pitch: float, rgb, opacity: float) -> Splats:
    """A rod from p0 to p1 as a row of ellipsoids elongated along it (poles, slats, handlebars)."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    length = max(float(np.linalg.norm(p1 - p0)), 1e-6)
    ts, step = grid(0.0, 1.0, pitch / length)
    means = p0 + ts[:, None] * (p1 - p0)
    out = blobs(means, np.array([max(0.7 * step * length, 0.8 * radius), 0.8 * radius, 0.8 * radius]), rgb, opacity)
    out.quats[:] = rotation_from_x((p1 - p0) / length)
    return out


def rotation_from_x(direction: np.ndarray) -> np.ndarray:
    """wxyz quaternion turning +x onto the unit `direction`."""
    w = 1.0 + direction[0]
    if w < 1e-6:
        return np.array([0.0, 0.0, 0.0, 1.0])
    q = np.array([w, 0.0, -direction[2], direction[1]])
    return q / np.linalg.norm(q)


def jitter_rgb(rgb: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Per-Gaussian brightness noise (and a little hue noise) for texture."""
    n = len(rgb)
    return rgb * (1 + amount * rng.standard_normal((n, 1))) + 0.25 * amount * rng.standard_normal((n, 3))
