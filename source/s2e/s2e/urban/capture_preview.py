"""Pictures to check a scene bundle made from a capture: a top-down map and a first-person frame.

The map is what a user judges the bundle by before using it, so it is drawn at least `min_px` wide with
a legend and a scale bar: the Gaussians' colours seen from above (the highest on top), the walkable
cells tinted green, the collision mesh's cells red, free ground left out of the walkable area (roads)
untinted, and each route as the task plans it (the planner's path with the task's clearance, not the
straight start-goal line) from a white start dot to a yellow goal dot.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from ..rendering.gaussians import SH_C0
from .layout import BUILDING
from .routes import RouteCfg, RoutePlanner
from .scene_bundle import BundleRoute, SceneBundle, plan_bundle_route

WALKABLE, BLOCKED, ROUTE = (0.1, 0.9, 0.2), (0.9, 0.1, 0.1), (0.2, 0.4, 1.0)
START, GOAL = (1.0, 1.0, 1.0), (1.0, 0.9, 0.0)


def preview_image(bundle: SceneBundle, route_clearance: float, min_px: int = 800) -> np.ndarray:
    """[H, W, 3] uint8 top-down check image of the tile (x right, y up), map at least `min_px` wide, with a title,
    a legend and a scale bar (see the module docstring)."""
    layout = bundle.layout
    n = layout.walkable.shape[0]
    px_per_cell = max(1, math.ceil(min_px / n))
    size_px = n * px_per_cell
    g = bundle.gaussians
    p = g.means.numpy()
    keep = (g.opacities.numpy() >= 0.2) & (np.abs(p[:, :2]) < bundle.size / 2).all(axis=1)
    p = p[keep]
    rgb = np.clip(0.5 + SH_C0 * g.sh[keep, 0].numpy(), 0, 1)
    img = np.full((size_px, size_px, 3), 0.1)
    order = np.argsort(p[:, 2])  # the highest Gaussian of a pixel is drawn last
    ij = np.clip(((p[order, :2] + bundle.size / 2) / bundle.size * size_px).astype(int), 0, size_px - 1)
    dot = max(1, px_per_cell // 2)  # a Gaussian covers a few pixels, so a sparse capture still reads as a picture
    for di in range(dot):
        for dj in range(dot):
            img[np.minimum(ij[:, 1] + di, size_px - 1), np.minimum(ij[:, 0] + dj, size_px - 1)] = rgb[order]
    cells = lambda mask: np.kron(mask, np.ones((px_per_cell, px_per_cell), bool))
    walk, blocked = cells(layout.walkable), cells(layout.semantic == BUILDING)
    img[walk] = 0.6 * img[walk] + 0.4 * np.array(WALKABLE)
    img[blocked] = 0.6 * img[blocked] + 0.4 * np.array(BLOCKED)
    pic = Image.fromarray((img[::-1] * 255).astype(np.uint8))  # rows: y up
    draw = ImageDraw.Draw(pic)
    to_px = lambda xy: [((x + bundle.size / 2) / bundle.size * size_px, (bundle.size / 2 - y) / bundle.size * size_px)
                        for x, y in xy]
    planner = RoutePlanner(layout, RouteCfg(clearance=route_clearance))
    r_dot = max(4, px_per_cell * 2)
    for k, route in enumerate(bundle.routes):
        path, _ = plan_bundle_route(planner, route, k)
        draw.line(to_px(path), fill=_rgb(ROUTE), width=max(2, px_per_cell))
        for point, colour in ((path[0], START), (path[-1], GOAL)):
            (x, y), = to_px([point])
            draw.ellipse([x - r_dot, y - r_dot, x + r_dot, y + r_dot], fill=_rgb(colour), outline=(0, 0, 0))
    return np.asarray(_frame(pic, bundle, route_clearance))


def _rgb(c) -> tuple[int, int, int]:
    return tuple(int(round(255 * v)) for v in c)


def _frame(pic: Image.Image, bundle: SceneBundle, route_clearance: float) -> Image.Image:
    """The map with a title above and the legend and scale bar below."""
    font = ImageFont.load_default(size=16)
    w = pic.width
    out = Image.new("RGB", (w, pic.height + 90), (255, 255, 255))
    out.paste(pic, (0, 30))
    draw = ImageDraw.Draw(out)
    draw.text((8, 6), f"{bundle.name}: {bundle.size:g} m tile, {len(bundle.routes)} routes planned with "
                      f"{route_clearance:g} m clearance",
              fill=(0, 0, 0), font=font)
    y = pic.height + 40
    x = 8
    for label, colour in (("walkable", WALKABLE), ("obstacle (collision mesh)", BLOCKED), ("route", ROUTE),
                          ("start", START), ("goal", GOAL)):
        draw.rectangle([x, y, x + 16, y + 16], fill=_rgb(colour), outline=(0, 0, 0))
        draw.text((x + 22, y), label, fill=(0, 0, 0), font=font)
        x += 30 + int(draw.textlength(label, font=font))
    bar_m = _nice_length(bundle.size / 5)
    bar_px = bar_m / bundle.size * w
    x0, yb = w - bar_px - 16, pic.height + 68
    draw.rectangle([x0, yb, x0 + bar_px, yb + 6], fill=(0, 0, 0))
    draw.text((x0, yb - 22), f"{bar_m:g} m", fill=(0, 0, 0), font=font)
    draw.text((8, yb - 4), "untinted ground: free but not walkable (roads)", fill=(90, 90, 90), font=font)
    return out


def _nice_length(target: float) -> float:
    """1, 2 or 5 times a power of ten, at most `target` (m)."""
    base = 10 ** math.floor(math.log10(target))
    return max(m * base for m in (1, 2, 5) if m * base <= target)


def first_person_image(bundle: SceneBundle, width: int = 320, height: int = 240, eye_height: float = 0.5,
                       hfov_deg: float = 90.0) -> np.ndarray:
    """[H, W, 3] uint8 render from the first route's start, looking along its straight line to the goal
    (eye_height m up, as a robot camera), to check that the scene stands upright and at metric scale."""
    from ..rendering.cameras import intrinsics_from_fov, look_at
    from ..rendering.render import render

    r = bundle.routes[0] if bundle.routes else BundleRoute(np.zeros(2), np.array([1.0, 0.0]))
    d = (r.points[1] - r.start) / max(1e-6, float(np.linalg.norm(r.points[1] - r.start)))
    eye = [float(r.start[0]), float(r.start[1]), eye_height]
    target = [eye[0] + float(d[0]), eye[1] + float(d[1]), eye_height]
    out = render(bundle.gaussians, look_at(eye, target)[None], intrinsics_from_fov(width, height, hfov_deg)[None],
                 width, height, background=torch.tensor([0.6, 0.75, 0.9]), near_plane=0.2)
    return (out.rgb[0].clamp(0, 1).numpy() * 255).astype(np.uint8)


def write_previews(bundle: SceneBundle, route_clearance: float, render: bool = True) -> list:
    """preview.png (and first_person.png unless `render` is False: a CPU render of a big capture takes a while) in the
    bundle's folder; returns their paths."""
    paths = [bundle.path / "preview.png"]
    Image.fromarray(preview_image(bundle, route_clearance)).save(paths[0])
    if render:
        paths.append(bundle.path / "first_person.png")
        Image.fromarray(first_person_image(bundle)).save(paths[1])
    return paths
