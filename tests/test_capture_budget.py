"""A capture cut to a CPU budget: the most opaque and largest Gaussians kept, the render difference measured."""

import numpy as np
import torch

from s2e.rendering.gaussians import GaussianScene
from s2e.urban.appearance import urban_scene_gaussians
from s2e.urban.appearance_cfg import UrbanGaussianCfg
from s2e.urban.capture_budget import prune_to_budget, render_difference
from s2e.urban.layout import UrbanLayoutCfg, generate_layout


def test_a_sample_weighted_by_opacity_keeps_the_opaque_gaussians_in_their_order():
    n = 10
    g = GaussianScene(means=torch.arange(3 * n, dtype=torch.float32).reshape(n, 3),
                      quats=torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1), scales=torch.full((n, 3), 0.1),
                      opacities=torch.tensor([0.9, 1e-4] * 5), sh=torch.zeros(n, 1, 3))
    keep = prune_to_budget(g, 5, indices=True)
    assert keep.tolist() == [0, 2, 4, 6, 8]  # the faint ones (keys u^10000, ~0) go first
    assert torch.equal(prune_to_budget(g, 5, indices=True, seed=0), keep)  # seeded: the same draw every time
    assert prune_to_budget(g, 3).num_gaussians == 3 and prune_to_budget(g, 20) is g


def test_the_render_difference_is_zero_for_the_same_scene_and_grows_as_more_is_cut():
    layout = generate_layout(UrbanLayoutCfg(), 2)
    g = urban_scene_gaussians(layout, UrbanGaussianCfg(budget=60_000), 2)
    points = layout.cell_centers()[layout.walkable][:: max(1, int(layout.walkable.sum()) // 4)][:4]
    same = render_difference(g, g, points, width=48, height=36)
    assert same.views == 16 and same.mean_abs == 0.0 and same.psnr_db > 100
    half = render_difference(g, prune_to_budget(g, g.num_gaussians // 2), points, width=48, height=36)
    tenth = render_difference(g, prune_to_budget(g, g.num_gaussians // 10), points, width=48, height=36)
    assert (np.isfinite(half.psnr_db) and tenth.psnr_db < half.psnr_db < same.psnr_db and tenth.mean_abs
            > half.mean_abs > 0)
    assert "kept 6,000 of 60,000 Gaussians: 16 views" in tenth.line(6000, 60000)

