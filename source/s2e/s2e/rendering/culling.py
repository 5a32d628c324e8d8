"""Frustum culling for the CPU rasterizer: an image costs what can reach it, not the whole scene.

`FrustumCuller` bins each scene's Gaussians once into a 2D grid of columns (x, y cells) and keeps,
per cell, the box bounding its Gaussians' 3-sigma spheres (3.33 sigma: the rasterizer's own
cut-off). Per image, cells whose box lies entirely outside the camera's frustum (widened by a
margin) are dropped, and the projection runs over the Gaussians of the other cells only, in their
original order. The margin covers the rasterizer's footprint dilation (eps2d, the clamped EWA
Jacobian), so a culled render equals an unculled one bit for bit: a conservative test, not an
approximation (tests/test_culling.py checks equality on city blocks).

The last `num_dynamic` Gaussians of every scene (e.g. walking people, re-posed each step) skip the
grid and are always candidates. gsplat culls on the GPU itself; this is for `render_cpu`.
"""

from __future__ import annotations

import numpy as np
import torch

from .gaussians import GaussianScene
from .scratch import scratch

EXTENT_SIGMAS = 3.33
"""The rasterizer draws a Gaussian out to at most 3.33 sigma (cpu_kernels.project_kernel)."""
ALPHA_THRESHOLD = 1.0 / 255.0


class FrustumCuller:
    """Per-scene grid of Gaussian cells for batched scenes [S, N, ...] (see module docstring)."""

    def __init__(self, scene: GaussianScene, cell_size: float = 2.0, num_dynamic: int = 0, margin: float = 0.1):
        if cell_size <= 0 or margin < 0 or not 0 <= num_dynamic <= scene.num_gaussians:
            raise ValueError(f"FrustumCuller: cell_size must be > 0, margin >= 0 and 0 <= num_dynamic <= N, "
                             f"got {cell_size}, {margin}, {num_dynamic}")
        batched = scene.means.dim() == 3
        means = (scene.means if batched else scene.means[None]).detach().to("cpu", torch.float32)
        scales = (scene.scales if batched else scene.scales[None]).detach().to("cpu", torch.float32)
        opac = (scene.opacities if batched else scene.opacities[None]).detach().to("cpu", torch.float32)
        num_scenes, n = means.shape[:2]
        static = n - num_dynamic
        self.margin = float(margin)
        radius = EXTENT_SIGMAS * scales[:, :static].amax(-1)  # [S, Ns]
        xy = means[:, :static, :2]
        drawn = opac[:, :static] >= ALPHA_THRESHOLD
        lo = torch.where(drawn[..., None], xy, torch.inf).amin((0, 1))
        lo = torch.where(torch.isfinite(lo), lo, 0.0)
        cells = ((xy - lo) / cell_size).floor().long().clamp_min(0)
        grid = (cells.amax((0, 1)) + 1) if static else torch.ones(2, dtype=torch.long)
        self.num_cells = int(grid[0] * grid[1])
        cell = cells[..., 0] * grid[1] + cells[..., 1]  # [S, Ns]
        # boxes [S, cells, 2, 3]: min / max of centre -/+ radius over the cell's drawn Gaussians
        flat = (cell + torch.arange(num_scenes)[:, None] * self.num_cells).reshape(-1)
        keep = drawn.reshape(-1)
        box_lo = torch.full((num_scenes * self.num_cells, 3), torch.inf)
        box_hi = torch.full((num_scenes * self.num_cells, 3), -torch.inf)
        index = flat[keep][:, None].expand(-1, 3)
        box_lo.scatter_reduce_(0, index, (means[:, :static] - radius[..., None]).reshape(-1, 3)[keep], "amin")
        box_hi.scatter_reduce_(0, index, (means[:, :static] + radius[..., None]).reshape(-1, 3)[keep], "amax")
        boxes = torch.stack([box_lo, box_hi], 1).reshape(num_scenes, self.num_cells, 2, 3)
        self.boxes = np.ascontiguousarray(boxes.numpy(), np.float64)
        """[S, cells, 2, 3] float64: each cell's box (lo, hi); an empty cell has lo = +inf, hi = -inf."""
        # per Gaussian: its cell, -1 for the never-drawn, num_cells (an always-visible column) for the dynamic tail
        cell_of = torch.where(drawn, cell, -1)
        dynamic = torch.full((num_scenes, num_dynamic), self.num_cells, dtype=torch.long)
        self.cell_of = np.ascontiguousarray(torch.cat([cell_of, dynamic], 1).numpy().astype(np.int32))

    @property
    def num_scenes(self) -> int:
        return self.cell_of.shape[0]

    def select(self, scene_ids: torch.Tensor | np.ndarray) -> FrustumCuller:
        """The culler of a subset of the scenes (the batch a caller renders now)."""
        ids = np.asarray(torch.as_tensor(scene_ids).cpu())
        sub = object.__new__(FrustumCuller)
        sub.margin, sub.num_cells = self.margin, self.num_cells
        sub.boxes = np.ascontiguousarray(self.boxes[ids])
        sub.cell_of = np.ascontiguousarray(self.cell_of[ids])
        return sub

    def visible_cells(self, viewmats: np.ndarray, Ks: np.ndarray, width: int, height: int, near: float,
                      scene_of_image: np.ndarray) -> np.ndarray:
        """[I, cells + 1] bool: the cells whose box may reach image i (last column: the dynamic tail, always).
        A Numba loop: it runs between the rasterizer's parallel kernels, where torch ops would wait on
        their spinning worker threads."""
        from .cpu_kernels import visible_cells_kernel

        out = np.empty((len(viewmats), self.num_cells + 1), np.bool_)
        visible_cells_kernel(self.boxes, scene_of_image, viewmats, Ks, width, height, near, self.margin, out)
        return out

    def candidates(self, viewmats: np.ndarray, Ks: np.ndarray, width: int, height: int, near: float,
                   scene_of_image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per image the ascending ids [I, C] (first counts[i] valid) of the Gaussians that may reach it: a view of
        this thread's scratch buffer, valid until the next call."""
        from .cpu_kernels import compact_kernel

        visible = self.visible_cells(viewmats, Ks, width, height, near, scene_of_image)
        ids = scratch("candidates", (len(visible), self.cell_of.shape[1]), np.int64)
        counts = np.empty(len(visible), np.int64)
        compact_kernel(self.cell_of, scene_of_image, visible, ids, counts)
        return ids[:, : max(int(counts.max(initial=0)), 1)], counts
