"""First-person views of a NavBench-GS split without a simulator: its blocks in its appearance family, seen from
points along its episodes' reference routes, looking along the route.

The views go through the task camera's own steps (the rasterizer, the sky-and-ground backdrop, the family's haze
and white balance), so they are the images a policy would see there, minus the robots' motion and the crowd.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import torch

from ..rendering import render
from ..rendering.backdrop import fill_backdrop
from ..rendering.cameras import intrinsics_from_fov, mount_rotation, viewmats_from_body
from ..urban.families import appearance_family, family_blocks_gaussians, finish_image
from ..urban.layout import generate_layout
from .episodes import EpisodeSuite


@dataclass(frozen=True)
class ViewCfg:
    height: int = 64
    width: int = 64
    hfov_deg: float = 90.0
    camera_offset: tuple[float, float, float] = (0.33, 0.0, 0.45)
    """Camera position on a body 0.1 m above the ground (the delivery robot's)."""
    pitch_deg: float = 10.0
    max_depth: float = 50.0


def route_poses(route: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """`count` (x, y) points evenly along a route [K, 2] (its start first) and the route's heading at each."""
    seg = np.diff(route, axis=0)
    cum = np.concatenate([[0.0], np.cumsum(np.linalg.norm(seg, axis=1))])
    at = np.linspace(0.0, cum[-1] * (count - 1) / count, count)
    k = np.clip(np.searchsorted(cum, at, side="right") - 1, 0, len(seg) - 1)
    t = ((at - cum[k]) / np.maximum(cum[k + 1] - cum[k], 1e-9))[:, None]
    return route[k] + t * seg[k], np.arctan2(seg[k, 1], seg[k, 0])


def split_views(suite: EpisodeSuite, cfg: ViewCfg = ViewCfg(), scenes: int | None = None, episodes_per_scene: int = 1,
                views_per_episode: int = 1) -> torch.Tensor:
    """uint8 [N, H, W, 3] views of the suite's procedural blocks (the first `scenes`), from `views_per_episode` points
    along each of the first `episodes_per_scene` episodes of each block, block by block."""
    family = appearance_family(suite.family)
    chosen = suite.scenes[: scenes or len(suite.scenes)]
    if any(s.bundle for s in chosen):
        raise ValueError(f"{suite.task}: views are made of procedural blocks; this suite is a scene bundle's")
    layout_cfg = replace(family.layout, obstacles=replace(family.layout.obstacles, density=chosen[0].obstacle_density))
    blocks = family_blocks_gaussians([generate_layout(layout_cfg, s.layout_seed) for s in chosen], family)
    k = intrinsics_from_fov(cfg.width, cfg.height, cfg.hfov_deg)
    mount = mount_rotation(math.radians(cfg.pitch_deg))
    sky, ground = torch.tensor(family.sky), torch.tensor(family.ground_plane)
    out = []
    for j, block in enumerate(blocks):
        episodes = [e for e in suite.episodes if e.scene == j][:episodes_per_scene]
        poses = [route_poses(np.asarray(e.route), views_per_episode) for e in episodes]
        xy = torch.as_tensor(np.concatenate([p[0] for p in poses]), dtype=torch.float32)
        yaw = torch.as_tensor(np.concatenate([p[1] for p in poses]), dtype=torch.float32)
        c, s = torch.cos(yaw), torch.sin(yaw)
        zero, one = torch.zeros_like(c), torch.ones_like(c)
        rot = torch.stack([torch.stack([c, -s, zero], -1), torch.stack([s, c, zero], -1),
                           torch.stack([zero, zero, one], -1)], -2)
        pos = torch.cat([xy, torch.full((len(xy), 1), 0.1)], dim=1)
        view = viewmats_from_body(pos, rot, torch.tensor(cfg.camera_offset), mount)
        ks = k.expand(len(view), 3, 3)
        rendered = render(block, view, ks, cfg.width, cfg.height, near_plane=0.25)
        rgb, depth = fill_backdrop(rendered.rgb, rendered.alpha, rendered.depth, view, ks, sky, ground, cfg.max_depth)
        out.append((finish_image(rgb, depth, family).clamp(0, 1) * 255 + 0.5).to(torch.uint8))
    return torch.cat(out)
