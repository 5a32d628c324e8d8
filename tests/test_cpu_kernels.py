"""Pieces of the CPU rasterizer's kernels against plain references: the depth sort, the tile compositing where
pixels saturate, and importing the rasterizer of another revision (the benchmark's baseline)."""

import numpy as np
import pytest
import torch

from s2e.rendering import GaussianScene, cpu_kernels, render
from s2e.rendering.cameras import intrinsics_from_fov, look_at
from s2e.utils.revision_import import RevisionImportError, import_package_at


def test_radix_sort_orders_depths_as_a_stable_argsort():
    rng = np.random.default_rng(0)
    depths = np.concatenate([rng.uniform(0.25, 80.0, 3000), rng.uniform(1e-3, 1e-2, 500), np.full(400, 7.5),
                             rng.uniform(1e4, 1e9, 100)]).astype(np.float32)
    rng.shuffle(depths)
    keys = depths.view(np.uint32).copy()
    ids = np.arange(len(depths), dtype=np.int64) * 3  # ids are not positions
    expected = ids[np.argsort(depths, kind="stable")]
    cpu_kernels._radix_sort_by_depth(ids, keys, np.empty_like(ids), np.empty_like(keys))
    assert np.array_equal(ids, expected)  # ties (the 400 equal depths) keep their order


def test_saturated_pixels_composite_as_the_reference():
    """Opaque layers end most pixels (transmittance below 1e-4) long before their tile's list does."""
    g = torch.Generator().manual_seed(3)
    n = 600
    means = torch.rand(n, 3, generator=g) * torch.tensor([1.6, 1.6, 1.0]) - torch.tensor([0.8, 0.8, 0.0])
    scene = GaussianScene(means=means, quats=torch.randn(n, 4, generator=g),
                          scales=torch.full((n, 3), 0.12) * torch.rand(n, 3, generator=g).add(0.5),
                          opacities=torch.full((n,), 0.995), sh=torch.rand(n, 1, 3, generator=g) * 3 - 1.5)
    views = look_at((0.0, -3.0, 3.0), (0.0, 0.0, 0.3))[None]
    ks = intrinsics_from_fov(37, 29, 50.0)[None]
    cpu = render(scene, views, ks, 37, 29, backend="cpu")
    ref = render(scene, views, ks, 37, 29, backend="reference")
    # two layers of opacity 0.995 leave a transmittance below 1e-4: the pixel ends there (its alpha stays the
    # 1 - T before that layer)
    assert (cpu.alpha > 0.99).float().mean() > 0.3
    assert (cpu.rgb - ref.rgb).abs().max() < 1e-5 and (cpu.alpha - ref.alpha).abs().max() < 1e-5


def test_the_rasterizer_of_a_revision_imports_beside_todays(git_checkout):
    old = import_package_at(git_checkout, "HEAD", "source/s2e/s2e", "rendering")
    assert old.render is not render and old.__name__.startswith("_s2e_at_")
    scene = GaussianScene(means=torch.tensor([[0.0, 0.0, 0.0]]), quats=torch.tensor([[1.0, 0.0, 0.0, 0.0]]),
                          scales=torch.full((1, 3), 0.3), opacities=torch.tensor([0.9]), sh=torch.ones(1, 1, 3))
    views, ks = look_at((0.0, 0.0, 3.0), (0.0, 0.0, 0.0))[None], intrinsics_from_fov(16, 16, 60.0)[None]
    theirs = old.render(old.GaussianScene(scene.means, scene.quats, scene.scales, scene.opacities, scene.sh), views,
                        ks, 16, 16, backend="cpu")
    ours = render(scene, views, ks, 16, 16, backend="cpu")
    assert (theirs.alpha - ours.alpha).abs().max() < 1e-5 and ours.alpha.max() > 0.2
    with pytest.raises(RevisionImportError, match="not in the git history"):
        import_package_at(git_checkout, "no-such-revision", "source/s2e/s2e", "rendering")
