"""The rasterizer backends behind `render`: our CPU rasterizer, gsplat on CUDA, and the exact reference.

All take a scene with batch dims [..., N] (or none: one scene for every camera), cameras
[..., C, 4, 4] / [..., C, 3, 3], and return rgb, accumulated depth and alpha as [..., C, H, W, 5].
"""

from __future__ import annotations

import time

import numpy as np
import torch

from .culling import FrustumCuller
from .gaussians import GaussianScene
from .scratch import scratch


def _images_of(scene: GaussianScene, viewmats: torch.Tensor) -> tuple[tuple[torch.Tensor, ...], np.ndarray, tuple]:
    """Flatten scene and camera batch dims: the scene's means, quats, scales, opacities and sh as [S, N, ...] and,
    per image, the index of its scene."""
    cam_lead = tuple(viewmats.shape[:-2])  # [..., C]
    lead = tuple(scene.batch_shape)
    if lead and lead != cam_lead[:-1]:
        raise ValueError(f"scene batch shape {lead} does not match the cameras' {cam_lead[:-1]} (viewmats [..., C, 4, "
                         "4])")
    num_scenes = int(np.prod(lead)) if lead else 1
    n = scene.num_gaussians
    flat = (scene.means.reshape(num_scenes, n, 3), scene.quats.reshape(num_scenes, n, 4),
            scene.scales.reshape(num_scenes, n, 3), scene.opacities.reshape(num_scenes, n),
            scene.sh.reshape(num_scenes, n, scene.sh.shape[-2], 3))
    per_scene = cam_lead[-1]
    scene_of_image = np.arange(num_scenes * per_scene, dtype=np.int64) // per_scene if lead \
        else np.zeros(int(np.prod(cam_lead)), dtype=np.int64)
    return flat, scene_of_image, cam_lead


_ASCENDING = np.arange(0, dtype=np.int64)


def _ascending(n: int) -> np.ndarray:
    """0..n-1 as a read-only int64 view of one array kept from call to call (every image's candidates when nothing
    is culled), instead of a fresh scene-long arange per call."""
    global _ASCENDING
    if _ASCENDING.size < n:
        _ASCENDING = np.arange(n, dtype=np.int64)
        _ASCENDING.flags.writeable = False
    return _ASCENDING[:n]


class _StageClock:
    """Adds the seconds since the previous mark to `times[stage]` (nothing when times is None)."""

    def __init__(self, times: dict[str, float] | None):
        self.times, self.last = times, time.perf_counter()

    def mark(self, stage: str) -> None:
        if self.times is not None:
            now = time.perf_counter()
            self.times[stage] = self.times.get(stage, 0.0) + now - self.last
            self.last = now


CPU_STAGES = ("cull", "project", "sort", "tile lists", "composite", "glue")
"""The stages `render_cpu` times into `stage_times`: culling (the candidates of each image), projection + SH,
depth sort + packing + per-tile counts, the tile lists, compositing, and the conversions in and out."""


def render_cpu(scene: GaussianScene, viewmats, Ks, width, height, near_plane=0.01, far_plane=1e10, eps2d=0.3,
               antialiased: bool = False, culler: FrustumCuller | None = None,
               stage_times: dict[str, float] | None = None) -> torch.Tensor:
    """Our rasterizer (Numba, all cores). Returns [..., C, H, W, 5]: rgb, depth sum, alpha.

    `culler` (built on this scene's batch) restricts each image to the Gaussians that can reach it;
    the result is the same as without it, only cheaper for cameras inside large scenes. `stage_times`, when
    given, accumulates each stage's seconds (CPU_STAGES; scripts/benchmark_render.py --stages).
    """
    import numba

    from . import cpu_kernels as k

    workers = numba.get_num_threads()  # job takers of the kernels' work queues (work_queue), one per thread
    clock = _StageClock(stage_times)
    flat, scene_of_image, cam_lead = _images_of(scene, viewmats)
    arr = lambda t: np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())
    means, quats, scales, opac, sh = map(arr, flat)
    views = arr(viewmats.reshape(-1, 4, 4))
    intr = arr(Ks.reshape(-1, 3, 3))
    clock.mark("glue")
    if culler is not None:
        if culler.num_scenes != means.shape[0] or culler.cell_of.shape[1] != means.shape[1]:
            raise ValueError(f"the culler was built for {culler.num_scenes} scenes of {culler.cell_of.shape[1]} "
                             f"Gaussians, the scene has {means.shape[0]} of {means.shape[1]}: build it on the scene "
                             "rendered (or select())")
        cand_ids, cand_counts = culler.candidates(views, intr, width, height, near_plane, scene_of_image)
    else:
        cand_ids = np.broadcast_to(_ascending(means.shape[1]), (views.shape[0], means.shape[1]))
        cand_counts = np.full(views.shape[0], means.shape[1], np.int64)
    clock.mark("cull")
    num_images, n = views.shape[0], cand_ids.shape[1]
    means2d = scratch("means2d", (num_images, n, 2), np.float32)
    conics = scratch("conics", (num_images, n, 3), np.float32)
    depths = scratch("depths", (num_images, n), np.float32)
    radii = scratch("radii", (num_images, n, 2), np.int32)
    colors = scratch("colors", (num_images, n, 3), np.float32)
    image_opac = scratch("opacities", (num_images, n), np.float32)
    k.project_kernel(means, quats, scales, opac, sh, scene_of_image, cand_ids, cand_counts, views, intr, width, height,
                     near_plane, far_plane, eps2d, sh.shape[2], antialiased, means2d, conics, depths, radii, colors,
                     image_opac, workers)
    clock.mark("project")
    tiles_x, tiles_y = -(-width // k.TILE), -(-height // k.TILE)
    ids = scratch("ids", (num_images, n), np.int32)
    num_visible = np.empty(num_images, np.int64)
    k.visible_kernel(radii, ids, num_visible)
    most = max(int(num_visible.max(initial=0)), 1)
    records = scratch("records", (num_images, most, k.RECORD), np.float32)
    boxes = scratch("boxes", (num_images, most, k.BOX), np.int32)
    counts = np.empty((num_images, tiles_x * tiles_y), np.int64)
    k.sort_kernel(means2d, conics, colors, image_opac, depths, radii, tiles_x, tiles_y, ids, num_visible, records,
                  boxes, counts, workers)
    clock.mark("sort")
    offsets = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts.reshape(-1), out=offsets[1:])
    flat_ids = scratch("tile_lists", (int(offsets[-1]),), np.int32)
    k.fill_kernel(boxes, num_visible, tiles_x, tiles_y, offsets, flat_ids, workers)
    clock.mark("tile lists")
    out = np.empty((num_images, height, width, 5), np.float32)
    k.raster_kernel(records, boxes, offsets, flat_ids, tiles_x, tiles_y, width, height, out, workers)
    clock.mark("composite")
    image = torch.from_numpy(out).reshape(cam_lead + (height, width, 5)).to(viewmats.device)
    clock.mark("glue")
    return image


def render_reference(scene: GaussianScene, viewmats, Ks, width, height, near_plane=0.01, far_plane=1e10,
                     eps2d=0.3, antialiased: bool = False) -> torch.Tensor:
    """Exact per-pixel compositing in plain torch (small scenes only)."""
    from .projection import project
    from .reference import composite_reference

    flat, scene_of_image, cam_lead = _images_of(scene, viewmats)
    idx = torch.as_tensor(scene_of_image, device=scene.device)
    per_image = GaussianScene(*(t[idx] for t in flat))
    views, intr = viewmats.reshape(-1, 1, 4, 4), Ks.reshape(-1, 1, 3, 3)
    proj = project(per_image, views, intr, width, height, near_plane, far_plane, eps2d, antialiased)
    rgb, depth, alpha = composite_reference(proj, width, height)
    out = torch.cat([rgb, depth * alpha, alpha], -1)
    return out.reshape(cam_lead + (height, width, 5))


def gsplat_available() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        import gsplat  # noqa: F401
    except ImportError:
        return False
    return True


def render_gsplat(scene: GaussianScene, viewmats, Ks, width, height, near_plane=0.01, far_plane=1e10,
                  eps2d=0.3, antialiased: bool = False, tile_size: int = 16) -> torch.Tensor:
    """gsplat 1.5.3 `rasterization` (CUDA; its kernels compile on first use)."""
    from gsplat import rasterization

    lead = tuple(scene.batch_shape)
    scene_b = scene
    if not lead and viewmats.dim() > 3:
        expand = lambda t: t.expand(viewmats.shape[:-3] + t.shape)
        scene_b = GaussianScene(expand(scene.means), expand(scene.quats), expand(scene.scales),
                                expand(scene.opacities), expand(scene.sh))
    colors, alphas, _ = rasterization(
        scene_b.means, scene_b.quats, scene_b.scales, scene_b.opacities, scene_b.sh, viewmats, Ks, width, height,
        near_plane=near_plane, far_plane=far_plane, eps2d=eps2d, sh_degree=scene.sh_degree, packed=False,
        tile_size=tile_size, render_mode="RGB+D",
        rasterize_mode="antialiased" if antialiased else "classic")
    return torch.cat([colors, alphas], -1)
