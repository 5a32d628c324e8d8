"""A procedural block exported as a scene bundle: the example bundle, and the tests' bundle.

It has what a real capture has: Gaussians (the block's procedural splats), a collision mesh shaped
like a TSDF export (ground where streets and sidewalks are, walls, roofs and object tops, but no
floor under buildings or objects), walkable polygons and sampled routes. Everything is stored in a
made-up capture frame (y up, rotated, offset and scaled, as a COLMAP/3DGS reconstruction would be)
with the inverse transform as the bundle's alignment, so loading it exercises the alignment path.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from .appearance import urban_scene_gaussians
from .appearance_cfg import UrbanGaussianCfg
from .layout import CYLINDER, UrbanLayout, UrbanLayoutCfg, boxes_as_footprints, generate_layout
from .routes import RouteCfg, RoutePlanner
from .scene_bundle import Alignment, BundleRoute, save_scene_bundle

CYLINDER_SEGMENTS = 16
EXAMPLE_CAPTURE = Alignment(
    # task -> capture: yaw 35 deg about z, then z-up to y-up (x, y, z) -> (x, z, -y), times 0.4, offset
    rotation=np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]) @ np.array(
        [[math.cos(0.61), -math.sin(0.61), 0.0], [math.sin(0.61), math.cos(0.61), 0.0], [0.0, 0.0, 1.0]]),
    translation=np.array([3.0, -1.5, 7.0]),
    scale=0.4,
)
"""How the example bundle's capture frame sits relative to the task frame (the bundle stores the inverse)."""


def layout_mesh(layout: UrbanLayout) -> tuple[np.ndarray, np.ndarray]:
    """Triangle mesh (tile frame) of a layout: ground quads, open-bottom boxes and cylinders."""
    verts, faces = [], []

    def add(v, f):
        faces.append(np.asarray(f, np.int64) + sum(len(x) for x in verts))
        verts.append(np.asarray(v, np.float64))

    for x0, y0, x1, y1 in np.concatenate([layout.road_rects, layout.walk_rects]):
        add([[x0, y0, 0], [x1, y0, 0], [x1, y1, 0], [x0, y1, 0]], [[0, 1, 2], [0, 2, 3]])
    boxes = np.concatenate([boxes_as_footprints(layout.buildings), boxes_as_footprints(layout.curbs), layout.obstacles])
    for cx, cy, yaw, hx, hy, h, shape in boxes:
        if shape == CYLINDER:
            add(*_cylinder(cx, cy, hx, h))
        else:
            add(*_box(cx, cy, yaw, hx, hy, h))
    return np.concatenate(verts), np.concatenate(faces)


def _box(cx, cy, yaw, hx, hy, h):
    """Four walls and a top (no bottom: a TSDF never sees under an object)."""
    c, s = math.cos(yaw), math.sin(yaw)
    corners = [(-hx, -hy), (hx, -hy), (hx, hy), (-hx, hy)]
    xy = [(cx + c * x - s * y, cy + s * x + c * y) for x, y in corners]
    v = [[x, y, 0.0] for x, y in xy] + [[x, y, h] for x, y in xy]
    f = [[4, 5, 6], [4, 6, 7]]
    for k in range(4):
        a, b = k, (k + 1) % 4
        f += [[a, b, b + 4], [a, b + 4, a + 4]]
    return v, f


def _cylinder(cx, cy, r, h):
    t = np.linspace(0, 2 * np.pi, CYLINDER_SEGMENTS, endpoint=False)
    ring = np.stack([cx + r * np.cos(t), cy + r * np.sin(t)], axis=1)
    n = CYLINDER_SEGMENTS
    v = np.concatenate([np.c_[ring, np.zeros(n)], np.c_[ring, np.full(n, h)], [[cx, cy, h]]])
    f = []
    for k in range(n):
        a, b = k, (k + 1) % n
        f += [[a, b, b + n], [a, b + n, a + n], [a + n, b + n, 2 * n]]
    return v, f


def export_procedural_bundle(out: str | Path, seed: int = 0, obstacle_density: float = 0.0, num_routes: int = 6,
                             route_clearance: float = 1.0, capture: Alignment = EXAMPLE_CAPTURE,
                             mesh_file: str = "collision.ply", gaussians=None) -> Path:
    """Write block `seed` as a bundle at `out` (stored in the `capture` frame, aligned back by the bundle).

    `gaussians` (tile frame) defaults to the block's procedural splats.
    """
    cfg = UrbanLayoutCfg()
    cfg.obstacles.density = obstacle_density
    layout = generate_layout(cfg, seed)
    if gaussians is None:
        gaussians = urban_scene_gaussians(layout, UrbanGaussianCfg(), seed)
    planner = RoutePlanner(layout, RouteCfg(clearance=route_clearance))
    rng = np.random.default_rng(seed)
    routes = []
    for _ in range(num_routes):
        ep = planner.sample_episode(rng)
        routes.append((ep.start, ep.goal))
    vertices, faces = layout_mesh(layout)
    to_capture = lambda xy: capture.apply(np.c_[np.asarray(xy, np.float64).reshape(-1, 2),
                                                np.zeros(len(np.asarray(xy).reshape(-1, 2)))])
    polygons = [to_capture([[x0, y0], [x1, y0], [x1, y1], [x0, y1]]) for x0, y0, x1, y1 in layout.walk_rects]
    rot = torch.as_tensor(capture.rotation, dtype=torch.float32)
    return save_scene_bundle(
        out,
        name=f"procedural-block-{seed}",
        gaussians=gaussians.transformed(rot, torch.as_tensor(capture.translation, dtype=torch.float32), capture.scale),
        vertices=capture.apply(vertices),
        faces=faces,
        size=layout.size,
        walkable=polygons,
        routes=[BundleRoute(to_capture(s)[0], to_capture(g)[0]) for s, g in routes],
        alignment=capture.inverse(),
        mesh_file=mesh_file,
    )
