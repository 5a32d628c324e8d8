"""Pieces of the CPU rasterizer's kernels against plain references: the depth sort, the tile compositing where
pixels saturate, the batched covariances against one Gaussian at a time (and that LLVM vectorizes them), and importing
the rasterizer of another revision (the benchmark's baseline)."""

import platform
import re

import numpy as np
import pytest
import torch

from s2e.rendering import GaussianScene, cpu_kernels, render
from s2e.rendering.cameras import intrinsics_from_fov, look_at
from s2e.utils.revision_import import RevisionImportError, import_package_at


@pytest.mark.parametrize("spread", ["wide", "one exponent"])
def test_radix_sort_orders_depths_as_a_stable_argsort(spread):
    """Values are depth bits above ascending slots; sorted by depth, ties keep slot order. Depths within [1, 1.25)
    share their top digit, so that pass is skipped."""
    rng = np.random.default_rng(0)
    if spread == "wide":
        depths = np.concatenate([rng.uniform(0.25, 80.0, 3000), rng.uniform(1e-3, 1e-2, 500), np.full(400, 7.5),
                                 rng.uniform(1e4, 1e9, 100)]).astype(np.float32)
    else:
        depths = np.concatenate([rng.uniform(1.0, 1.25, 3000), np.full(400, 1.125)]).astype(np.float32)
    rng.shuffle(depths)
    slots = np.arange(len(depths), dtype=np.uint64) * np.uint64(3)  # slots are not positions
    values = depths.view(np.uint32).astype(np.uint64) << np.uint64(32) | slots
    expected = slots[np.argsort(depths, kind="stable")]
    cpu_kernels._radix_sort_by_depth(values, np.empty_like(values))
    assert np.array_equal(values & np.uint64(0xFFFFFFFF), expected)  # ties (the 400 equal depths) keep their order
    assert np.array_equal(values >> np.uint64(32), np.sort(depths).view(np.uint32))


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


def test_a_gaussian_without_orientation_is_not_drawn():
    """A zero quaternion has no rotation (its covariance is NaN): the render is that of the scene without it."""
    g = torch.Generator().manual_seed(5)
    n = 40
    scene = GaussianScene(means=torch.rand(n, 3, generator=g) - 0.5, quats=torch.randn(n, 4, generator=g),
                          scales=torch.full((n, 3), 0.1), opacities=torch.full((n,), 0.8),
                          sh=torch.rand(n, 1, 3, generator=g))
    broken = GaussianScene(scene.means, scene.quats.clone(), scene.scales, scene.opacities, scene.sh)
    broken.quats[7] = 0.0
    views, ks = look_at((0.0, -2.5, 0.5), (0.0, 0.0, 0.0))[None], intrinsics_from_fov(24, 24, 60.0)[None]
    keep = torch.arange(n) != 7
    without = GaussianScene(scene.means[keep], scene.quats[keep], scene.scales[keep], scene.opacities[keep],
                            scene.sh[keep])
    ours = render(broken, views, ks, 24, 24, backend="cpu")
    expected = render(without, views, ks, 24, 24, backend="cpu")
    assert torch.equal(ours.rgb, expected.rgb) and torch.equal(ours.alpha, expected.alpha)


def _covariance_inputs(count=300, seed=0):
    rng = np.random.default_rng(seed)
    batch32 = np.empty((13, cpu_kernels.BATCH_ROW), np.float32)
    batch32[:4, :count] = rng.normal(size=(4, count))  # quaternions, not normalized
    batch32[4:7, :count] = rng.uniform(1e-4, 0.5, (3, count))  # scales
    batch32[7, :count] = rng.uniform(0.0, 1.0, count)  # opacity
    batch32[8:10, :count] = rng.uniform(10.0, 400.0, (2, count))  # j00, j11
    batch64 = rng.uniform(-200.0, 200.0, (2, cpu_kernels.BATCH_ROW))  # j02, j12
    view = np.linalg.qr(rng.normal(size=(3, 3)))[0].astype(np.float32)
    v = np.eye(4, dtype=np.float32)
    v[:3, :3] = view
    return batch32, batch64, v


@pytest.mark.parametrize("antialiased", [True, False])
def test_batched_covariances_are_one_gaussian_at_a_time_bit_for_bit(antialiased):
    """The vectorized loop against the same code compiled scalar (Python's division model checks each division, which
    keeps LLVM from vectorizing): packed square roots and divisions round as scalar ones, so the bits agree."""
    from numba import njit

    scalar = njit(error_model="python")(cpu_kernels._covariances.py_func)
    batch32, batch64, v = _covariance_inputs()
    ours, theirs = np.zeros((5, cpu_kernels.BATCH_ROW)), np.zeros((5, cpu_kernels.BATCH_ROW))
    cpu_kernels._covariances(batch32, batch64, v, 0.3, antialiased, 300, ours)
    scalar(batch32, batch64, v, 0.3, antialiased, 300, theirs)
    assert np.array_equal(ours[:, :300], theirs[:, :300]) and np.isfinite(ours[:, :300]).all()
    if antialiased:
        assert (ours[4, :300] < batch32[7, :300]).mean() > 0.5  # the opacity is faded


def _assembly(function) -> str:
    return "\n".join(function.inspect_asm().values())


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="the check reads x86 assembly")
def test_the_batched_covariance_loop_compiles_to_vector_instructions():
    """The projection is shaped around this loop running on vectors of Gaussians (packed square roots and
    divisions); a change that leaves it scalar keeps every image but loses a third of the projection's speed."""
    from numba import njit

    fresh = njit(error_model="numpy")(cpu_kernels._covariances.py_func)  # the cached kernel cannot be inspected
    batch32, batch64, v = _covariance_inputs()
    fresh(batch32, batch64, v, 0.3, True, 300, np.zeros((5, cpu_kernels.BATCH_ROW)))
    assembly = _assembly(fresh)
    assert re.search(r"\bvdivpd\b", assembly) and re.search(r"\bvsqrtpd\b", assembly)
    scalar = njit(error_model="python")(cpu_kernels._covariances.py_func)  # the control: the same loop kept scalar
    scalar(batch32, batch64, v, 0.3, True, 300, np.zeros((5, cpu_kernels.BATCH_ROW)))
    assert not re.search(r"\bvdivpd\b", _assembly(scalar))


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
