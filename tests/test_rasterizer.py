"""The CPU Gaussian-splat rasterizer against the exact reference, gsplat's pure-torch functions and gsplat on CUDA."""

import math

import numba
import numpy as np
import pytest
import torch
from gsplat.cuda._torch_impl import (
    _fully_fused_projection,
    _persp_proj,
    _quat_scale_to_covar_preci,
    _spherical_harmonics,
    _world_to_cam,
)

from s2e.rendering import GaussianScene, cpu_kernels, render
from s2e.rendering.cameras import look_at
from s2e.rendering.projection import camera_centers, covariances, project
from s2e.rendering.render import resolve_backend
from s2e.rendering.sh import sh_to_rgb

ALPHA_THRESHOLD = 1.0 / 255.0


# ------------------------------------------------------------------------------------------------ helpers



def intrinsics(fx, fy, cx, cy) -> torch.Tensor:
    return torch.tensor([[fx, 0.0, cx], [0.0, fy, cy], [0.0, 0.0, 1.0]])


def random_scene(seed: int, n: int, degree: int, eye=None, spread=(1.5, 1.5, 0.8), sh_scale=0.5) -> GaussianScene:
    """A random cloud around the origin; with `eye`, a fifth of it sits around that camera position
    (some behind it, some closer than the near plane, some large on screen)."""
    g = torch.Generator().manual_seed(seed)
    means = torch.randn(n, 3, generator=g) * torch.tensor(spread)
    if eye is not None:
        m = n // 5
        means[:m] = torch.tensor(eye) + torch.randn(m, 3, generator=g) * 0.6
    sh = torch.randn(n, (degree + 1) ** 2, 3, generator=g) * sh_scale
    sh[:, 0, :] = torch.randn(n, 3, generator=g) * 1.2  # colours across [0, 1], some clamped at 0
    return GaussianScene(
        means=means,
        quats=torch.randn(n, 4, generator=g) * 1.7,  # unnormalized: every path must normalize
        scales=torch.exp(torch.randn(n, 3, generator=g) * 0.6 - 2.6),
        opacities=torch.rand(n, generator=g) ** 0.5,
        sh=sh,
    )


def assert_images_close(a, b, rgb_tol=1e-4, depth_rtol=1e-3, min_coverage=0.1):
    """a, b: RenderOutput of the same cameras."""
    assert a.rgb.shape == b.rgb.shape and a.alpha.shape == b.alpha.shape == b.depth.shape
    assert (b.alpha > 0.5).float().mean() > min_coverage, "scene barely visible: the comparison would be weak"
    rgb_err = (a.rgb - b.rgb).abs().max().item()
    alpha_err = (a.alpha - b.alpha).abs().max().item()
    hit = b.alpha > 0.05
    depth_err = ((a.depth[hit] - b.depth[hit]).abs() / b.depth[hit]).max().item()
    assert rgb_err < rgb_tol, f"max rgb error {rgb_err}"
    assert alpha_err < rgb_tol, f"max alpha error {alpha_err}"
    assert depth_err < depth_rtol, f"max relative depth error {depth_err}"


def gsplat_projection(scene: GaussianScene, viewmats, Ks, width, height, antialiased=False, dtype=torch.float64):
    """gsplat's pure-torch projection (float64): radii (fixed 3.33 sigma), means2d, depths, conics, the
    2-D covariance with eps2d, and the per-image opacities (times the compensation when antialiased)."""
    d = lambda t: t.to(dtype)
    covars, _ = _quat_scale_to_covar_preci(d(scene.quats), d(scene.scales), compute_preci=False)
    radii, means2d, depths, conics, comp = _fully_fused_projection(
        d(scene.means), covars, d(viewmats), d(Ks), width, height, eps2d=0.3, near_plane=0.01,
        calc_compensations=antialiased)
    means_c, covars_c = _world_to_cam(d(scene.means), covars, d(viewmats))
    _, cov2d = _persp_proj(means_c, covars_c, d(Ks), width, height)
    opac = d(scene.opacities)[..., None, :].expand_as(depths)
    if antialiased:
        opac = opac * comp
    return radii, means2d, depths, conics, cov2d + 0.3 * torch.eye(2, dtype=dtype), opac


def opacity_aware_radii(cov2d, opac, means2d, depths, width, height):
    """gsplat 1.5.3's CUDA radii (ProjectionEWA3DGSFused.cu): extend = min(3.33, sqrt(2 ln(o / (1/255)))),
    culled below 1/255 opacity (after the antialiasing compensation), behind the near plane or off-screen."""
    extend = torch.sqrt(2 * torch.log(torch.clamp_min(opac / ALPHA_THRESHOLD, 1.0))).clamp(max=3.33)
    r = torch.ceil(extend[..., None] * torch.sqrt(torch.stack([cov2d[..., 0, 0], cov2d[..., 1, 1]], -1)))
    det = cov2d[..., 0, 0] * cov2d[..., 1, 1] - cov2d[..., 0, 1] ** 2
    valid = (depths >= 0.01) & (det > 0) & (opac >= ALPHA_THRESHOLD)
    valid &= (means2d[..., 0] + r[..., 0] > 0) & (means2d[..., 0] - r[..., 0] < width)
    valid &= (means2d[..., 1] + r[..., 1] > 0) & (means2d[..., 1] - r[..., 1] < height)
    return torch.where(valid[..., None], r, 0).int()


def kernel_projection(scene: GaussianScene, viewmats, Ks, width, height, antialiased=False):
    """Call the numba projection kernel directly, as backends.render_cpu does. Scene [B, N] or [N].

    Returns means2d, conics, depths, radii, colors and the per-image opacities, shaped [..., C, N, ...].
    """
    batched = scene.means.dim() == 3
    arr = lambda t: np.ascontiguousarray(t.detach().to("cpu", torch.float32).numpy())
    s = (scene if batched else GaussianScene(*(t[None]
                                               for t in (scene.means, scene.quats, scene.scales, scene.opacities,
                                                         scene.sh))))
    means, quats, scales, opac, sh = map(arr, (s.means, s.quats, s.scales, s.opacities, s.sh))
    views, intr = arr(viewmats.reshape(-1, 4, 4)), arr(Ks.reshape(-1, 3, 3))
    num_images, n = views.shape[0], means.shape[1]
    per_scene = viewmats.shape[-3]
    scene_of_image = (np.arange(num_images) // per_scene if batched else np.zeros(num_images)).astype(np.int64)
    means2d = np.zeros((num_images, n, 2), np.float32)
    conics = np.zeros((num_images, n, 3), np.float32)
    depths = np.zeros((num_images, n), np.float32)
    radii = np.full((num_images, n, 2), -7, np.int32)
    colors = np.zeros((num_images, n, 3), np.float32)
    image_opac = np.zeros((num_images, n), np.float32)
    every = np.ascontiguousarray(np.broadcast_to(np.arange(n), (num_images, n)))
    cpu_kernels.project_kernel(means, quats, scales, opac, sh, scene_of_image, every, np.full(num_images, n), views,
                               intr, width, height, 0.01, 1e10, 0.3, sh.shape[2], antialiased, means2d, conics, depths,
                               radii, colors, image_opac, numba.get_num_threads())
    shape = tuple(viewmats.shape[:-2]) + (n,)
    t = lambda a: torch.from_numpy(a).reshape(shape + a.shape[2:])
    return t(means2d), t(conics), t(depths), t(radii), t(colors), t(image_opac)


def orbit_cameras(num, radius=4.5, height=1.2, phase=0.0, dtype=torch.float32):
    views = [look_at((radius * math.cos(phase + 2.1 * i), radius * math.sin(phase + 2.1 * i), height + 0.4 * i),
                     (0.2 * i, -0.1 * i, 0.0), dtype=dtype) for i in range(num)]
    return torch.stack(views)


# ---------------------------------------------------------------------------- CPU backend vs the reference

W, H = 75, 44  # non-square and not a multiple of the tile size: partial tiles at the right and bottom


@pytest.mark.parametrize("degree,antialiased", [(0, False), (3, False), (3, True)])
def test_cpu_matches_reference_unbatched_scene(degree, antialiased):
    eye = (4.5, 0.0, 1.2)
    scene = random_scene(100 + degree, 400, degree, eye=eye)
    views = torch.cat([look_at(eye, (0, 0, 0))[None], orbit_cameras(2, phase=1.0)])
    Ks = torch.stack([intrinsics(60.0, 62.0, 37.0, 22.0), intrinsics(45.0, 45.0, 40.0, 20.0),
                      intrinsics(80.0, 80.0, 30.5, 25.0)])

    # the scene exercises the culling paths: behind the camera, closer than the near plane, off-screen,
    # and centres outside the image whose footprint still overlaps it
    proj = project(scene, views, Ks, W, H)
    visible = (proj.radii > 0).all(-1)
    assert (proj.depths[0] < 0).sum() > 20
    assert ((proj.depths[0] > 0) & (proj.depths[0] < 0.01)).sum() + ((proj.depths > 0.01) & ~visible).sum() > 20
    u, v = proj.means2d.unbind(-1)
    outside_centre = (u < 0) | (u > W) | (v < 0) | (v > H)
    assert (visible & outside_centre).sum() > 10
    assert (visible & (proj.depths < 1.0)).sum() > 3  # large on screen

    cpu = render(scene, views, Ks, W, H, backend="cpu", antialiased=antialiased)
    ref = render(scene, views, Ks, W, H, backend="reference", antialiased=antialiased)
    if antialiased:  # the mode changes the image (small Gaussians fade): both backends really applied it
        classic = render(scene, views, Ks, W, H, backend="reference")
        assert (classic.alpha - ref.alpha).abs().max() > 0.05
    assert cpu.rgb.shape == (3, H, W, 3) and cpu.depth.shape == (3, H, W, 1) and cpu.alpha.shape == (3, H, W, 1)
    assert_images_close(cpu, ref)


def test_cpu_matches_reference_batched_scenes():
    """Scenes [B, N] with cameras [B, C]: every image shows its own scene."""
    scenes = [random_scene(200 + b, 300, 3) for b in range(2)]
    scene = GaussianScene(*(torch.stack([getattr(s, f) for s in scenes])
                            for f in ("means", "quats", "scales", "opacities", "sh")))
    views = torch.stack([orbit_cameras(2, phase=0.3), orbit_cameras(2, phase=2.0, radius=3.5)])  # [2, 2, 4, 4]
    Ks = intrinsics(50.0, 55.0, 38.0, 21.0).expand(2, 2, 3, 3)
    cpu = render(scene, views, Ks, W, H, backend="cpu")
    ref = render(scene, views, Ks, W, H, backend="reference")
    assert cpu.rgb.shape == (2, 2, H, W, 3)
    assert_images_close(cpu, ref)
    # each batch element really is its own scene: same as rendering it alone
    for b in range(2):
        alone = render(scenes[b], views[b], Ks[b], W, H, backend="cpu")
        torch.testing.assert_close(cpu.rgb[b], alone.rgb, atol=1e-6, rtol=0)
    assert (cpu.rgb[0] - cpu.rgb[1]).abs().mean() > 0.01


def test_stack_padded_batch_renders_like_each_scene():
    a, b = random_scene(300, 250, 3), random_scene(301, 180, 1)
    batch = GaussianScene.stack_padded([a, b])
    views = orbit_cameras(2, phase=0.7)
    Ks = intrinsics(50.0, 50.0, 37.5, 22.0).expand(2, 3, 3)
    out = render(batch, views[None].expand(2, 2, 4, 4), Ks[None].expand(2, 2, 3, 3), W, H, backend="cpu")
    for i, s in enumerate((a, b)):
        alone = render(s, views, Ks, W, H, backend="cpu")
        torch.testing.assert_close(out.rgb[i], alone.rgb, atol=1e-6, rtol=0)
        torch.testing.assert_close(out.alpha[i], alone.alpha, atol=1e-6, rtol=0)


# ------------------------------------------------------------------- against gsplat's pure-torch functions

def test_covariances_match_gsplat():
    scene = random_scene(400, 500, 0)
    q, s = scene.quats.double(), scene.scales.double()
    ours = covariances(q, s)
    theirs, _ = _quat_scale_to_covar_preci(q, s, compute_preci=False)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-15)
    assert torch.allclose(ours, ours.transpose(-1, -2))


@pytest.mark.parametrize("antialiased", [False, True])
def test_project_matches_gsplat_torch(antialiased):
    eye = (4.0, 1.0, 1.0)
    scene = random_scene(401, 600, 3, eye=eye).to(dtype=torch.float64)
    # a few Gaussians below gsplat's opacity threshold: culled by us (and by gsplat's CUDA kernel)
    scene.opacities[::37] = 0.003
    scene.opacities[5::37] = 0.006  # above it, but below once antialiasing compensates small Gaussians
    views = torch.cat([look_at(eye, (0, 0, 0), dtype=torch.float64)[None],
                       orbit_cameras(2, phase=0.5, dtype=torch.float64)])
    Ks = torch.stack([intrinsics(60.0, 60.0, 37.0, 22.0), intrinsics(40.0, 44.0, 30.0, 25.0),
                      intrinsics(70.0, 70.0, 37.5, 22.0)]).double()
    ours = project(scene, views, Ks, W, H, antialiased=antialiased)
    radii_g, means2d_g, depths_g, conics_g, cov2d_g, opac_g = gsplat_projection(scene, views, Ks, W, H, antialiased)

    ours_valid = (ours.radii > 0).all(-1)
    theirs_valid = (radii_g > 0).all(-1)
    both = ours_valid & theirs_valid
    assert both.sum() > 300 and (~theirs_valid).sum() > 100
    torch.testing.assert_close(ours.depths, depths_g, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours.means2d[both], means2d_g[both], rtol=1e-10, atol=1e-9)
    torch.testing.assert_close(ours.conics[both], conics_g[both], rtol=1e-9, atol=1e-12)
    torch.testing.assert_close(ours.opacities[both], opac_g[both], rtol=1e-10, atol=1e-12)
    low_opacity = opac_g < ALPHA_THRESHOLD
    if antialiased:  # the compensation matters for this scene: many Gaussians are about a pixel in size
        assert (opac_g[theirs_valid] / scene.opacities.expand_as(opac_g)[theirs_valid]).min() < 0.3
        assert (low_opacity & (scene.opacities >= ALPHA_THRESHOLD) & theirs_valid).any()

    # gsplat's torch radii use a fixed 3.33 sigma; ours are opacity-aware, hence never larger
    assert not (ours_valid & ~theirs_valid).any()
    assert not (ours_valid & low_opacity).any()
    assert (ours.radii[ours_valid] <= radii_g[ours_valid]).all()
    assert (ours.radii[ours_valid] < radii_g[ours_valid]).any()
    lost = theirs_valid & ~low_opacity & ~ours_valid  # only at the image border, where the smaller box misses it
    u, v = means2d_g[..., 0], means2d_g[..., 1]
    near_border = (u < 0) | (u > W) | (v < 0) | (v > H)
    assert (near_border | ~lost).all()
    # ... and exactly the radii of gsplat's CUDA kernel (opacity-aware extend on gsplat's 2-D covariance)
    expected = opacity_aware_radii(cov2d_g, opac_g, means2d_g, depths_g, W, H)
    assert torch.equal(ours.radii, expected)

    # view-dependent colours: gsplat evaluates SH along means - camera centre, then clamp_min(+0.5, 0)
    campos = torch.linalg.inv(views)[:, :3, 3]
    torch.testing.assert_close(camera_centers(views), campos, rtol=0, atol=1e-12)
    dirs = scene.means[None] - campos[:, None]
    colors_g = torch.clamp_min(_spherical_harmonics(3, dirs, scene.sh.expand(3, -1, -1, -1)) + 0.5, 0.0)
    torch.testing.assert_close(ours.colors, colors_g, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("degree", [0, 1, 2, 3])
def test_sh_to_rgb_matches_gsplat(degree):
    g = torch.Generator().manual_seed(500 + degree)
    dirs = torch.randn(300, 3, generator=g, dtype=torch.float64) * 3.0  # not unit: both normalize
    coeffs = torch.randn(300, 16, 3, generator=g, dtype=torch.float64) * 0.6
    expected = torch.clamp_min(_spherical_harmonics(degree, dirs, coeffs) + 0.5, 0.0)
    assert (expected == 0).any() and (expected > 0.2).any()
    # degree given explicitly on 16 coefficients, and inferred from exactly (degree + 1)^2 of them
    torch.testing.assert_close(sh_to_rgb(coeffs, dirs, degree), expected, rtol=1e-12, atol=1e-12)
    k = (degree + 1) ** 2
    torch.testing.assert_close(sh_to_rgb(coeffs[:, :k], dirs), expected, rtol=1e-12, atol=1e-12)
    if degree:
        # the higher bands really contribute (the comparison is not dominated by the DC term)
        assert (sh_to_rgb(coeffs, dirs, degree) - sh_to_rgb(coeffs, dirs, degree - 1)).abs().max() > 0.1


@pytest.mark.parametrize("antialiased", [False, True])
def test_numba_projection_kernel_matches_gsplat_torch(antialiased):
    """project_kernel (float32) vs gsplat's torch functions (float64), for batched scenes [B, N] x [B, C]."""
    eye = (3.5, -1.0, 1.0)
    scenes = [random_scene(600 + b, 500, 3, eye=eye) for b in range(2)]
    scenes[1].opacities[::41] = 0.002
    scenes[0].opacities[3::17] = 0.006
    scene = GaussianScene(*(torch.stack([getattr(s, f) for s in scenes])
                            for f in ("means", "quats", "scales", "opacities", "sh")))
    views = torch.stack([torch.stack([look_at(eye, (0, 0, 0)), look_at((-3.0, 2.0, 2.0), (0, 0, 0.3))]),
                         orbit_cameras(2, phase=2.5)])  # [2, 2, 4, 4]
    Ks = torch.stack([intrinsics(60.0, 60.0, 37.0, 22.0), intrinsics(45.0, 50.0, 35.0, 25.0)]).expand(2, 2, 3, 3)
    means2d, conics, depths, radii, colors, opac = kernel_projection(scene, views, Ks, W, H, antialiased)
    radii_g, means2d_g, depths_g, conics_g, cov2d_g, opac_g = gsplat_projection(
        scene, views, Ks.contiguous(), W, H, antialiased)

    assert (radii >= 0).all()  # every radius written, culled ones as 0
    valid = (radii > 0).all(-1)
    assert torch.equal(valid, (radii > 0).any(-1))
    expected = opacity_aware_radii(cov2d_g, opac_g, means2d_g, depths_g, W, H)
    expected_valid = (expected > 0).all(-1)
    assert valid.sum() > 500 and (~valid).sum() > 200
    # float32 vs float64: a radius may land on the other side of a ceil or the image border in rare cases
    assert (valid != expected_valid).sum() <= 2
    both = valid & expected_valid
    assert (radii[both] - expected[both]).abs().max() <= 1
    assert (radii[both] != expected[both]).float().mean() < 0.01
    assert not (valid & (scene.opacities < ALPHA_THRESHOLD)[:, None, :]).any()

    torch.testing.assert_close(depths[both].double(), depths_g[both], rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(means2d[both].double(), means2d_g[both], rtol=1e-5, atol=2e-3)
    torch.testing.assert_close(conics[both].double(), conics_g[both], rtol=1e-3, atol=1e-5)
    torch.testing.assert_close(opac[both].double(), opac_g[both], rtol=1e-4, atol=1e-6)
    if antialiased:
        assert (opac_g[both] < 0.5 * scene.opacities.double()[:, None].expand_as(opac_g)[both]).any()
        assert (~valid & (scene.opacities >= ALPHA_THRESHOLD)[:, None, :] & (radii_g > 0).all(-1)
                & (opac_g < ALPHA_THRESHOLD)).any()  # culled because of the compensation

    campos = torch.linalg.inv(views.double())[..., :3, 3]  # [2, 2, 3]
    dirs = scene.means.double()[:, None] - campos[:, :, None]  # [2, 2, N, 3]
    colors_g = torch.clamp_min(_spherical_harmonics(3, dirs, scene.sh.double()[:, None].expand(-1, 2, -1, -1, -1))
                               + 0.5, 0.0)
    torch.testing.assert_close(colors[both].double(), colors_g[both], rtol=1e-5, atol=1e-5)
    assert (colors_g[both][..., 0] - colors_g[both][..., 1]).abs().mean() > 0.1


# ---------------------------------------------------------------------------- background, culling, backends

def test_background_blending():
    scene = random_scene(700, 60, 1, spread=(0.3, 0.3, 0.3))
    views = orbit_cameras(2)
    Ks = intrinsics(40.0, 40.0, 37.5, 22.0).expand(2, 3, 3)
    bg = torch.tensor([0.1, 0.6, 0.9])
    for backend in ("cpu", "reference"):
        plain = render(scene, views, Ks, W, H, backend=backend)
        with_bg = render(scene, views, Ks, W, H, backend=backend, background=bg)
        torch.testing.assert_close(with_bg.rgb, plain.rgb + (1 - plain.alpha) * bg, atol=1e-6, rtol=0)
        torch.testing.assert_close(with_bg.alpha, plain.alpha, atol=0, rtol=0)
        empty = plain.alpha[..., 0] == 0
        opaque = plain.alpha[..., 0] > 0.9
        assert empty.sum() > 500 and opaque.sum() > 20
        assert (with_bg.rgb[empty] == bg).all()
        assert (plain.rgb[empty] == 0).all() and (plain.depth[empty] == 0).all()
        # where the splats are nearly opaque the background hardly shows
        assert ((with_bg.rgb[opaque] - plain.rgb[opaque]).abs() <= 0.1 * bg.max()).all()


@pytest.mark.parametrize("backend", ["cpu", "reference"])
def test_transparent_scene_gives_background(backend):
    bg = torch.tensor([0.3, 0.5, 0.7])
    views = orbit_cameras(2)
    Ks = intrinsics(40.0, 40.0, 37.5, 22.0).expand(2, 3, 3)
    scene = random_scene(701, 50, 2)
    scene.opacities.zero_()
    for s in (scene, GaussianScene.empty(20, sh_degree=1), GaussianScene.empty(0, sh_degree=2)):
        out = render(s, views, Ks, W, H, backend=backend, background=bg)
        assert (out.alpha == 0).all() and (out.depth == 0).all()
        assert out.rgb.shape == (2, H, W, 3)
        assert (out.rgb == bg).all()
    # a batch of empty scenes too
    empty = GaussianScene.stack_padded([GaussianScene.empty(0, 1), GaussianScene.empty(0, 1)])
    out = render(empty, views[None].expand(2, 2, 4, 4), Ks[None].expand(2, 2, 3, 3), W, H, backend=backend)
    assert out.rgb.shape == (2, 2, H, W, 3) and (out.alpha == 0).all() and (out.rgb == 0).all()


def test_low_opacity_gaussians_are_culled():
    scene = random_scene(702, 200, 3)
    dead = torch.zeros(200, dtype=torch.bool)
    dead[::3] = True
    scene.opacities[dead] = torch.where(torch.arange(200)[dead] % 2 == 0, 0.0, 0.0038)  # 0 and just below 1/255
    views = orbit_cameras(2)
    Ks = intrinsics(50.0, 50.0, 37.5, 22.0).expand(2, 3, 3)
    radii = kernel_projection(scene, views, Ks, W, H)[3]
    assert (radii[:, dead] == 0).all()
    assert (radii[:, ~dead] > 0).all(-1).sum() > 150
    assert (project(scene, views, Ks, W, H).radii[:, dead] == 0).all()
    full = render(scene, views, Ks, W, H, backend="cpu")
    alive = render(scene.select(~dead), views, Ks, W, H, backend="cpu")
    torch.testing.assert_close(full.rgb, alive.rgb, atol=1e-6, rtol=0)
    torch.testing.assert_close(full.alpha, alive.alpha, atol=1e-6, rtol=0)


def test_backend_resolution():
    assert resolve_backend("auto", "cpu") == "cpu"
    assert resolve_backend("cpu", "cpu") == "cpu"
    assert resolve_backend("reference", torch.device("cpu")) == "reference"
    for bad in ("vulkan", "CPU", ""):
        with pytest.raises(ValueError, match=rf"unknown render backend '{bad}'.*auto, cpu, gsplat, reference"):
            resolve_backend(bad, "cpu")
    scene = random_scene(703, 5, 0)
    with pytest.raises(ValueError, match="unknown render backend 'opengl'"):
        render(scene, orbit_cameras(1), intrinsics(40.0, 40.0, 20.0, 20.0)[None], 40, 40, backend="opengl")
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="gsplat"):
            resolve_backend("gsplat", "cpu")


def test_scene_batch_must_match_cameras():
    scene = GaussianScene.stack_padded([random_scene(704, 10, 0), random_scene(705, 12, 0)])  # [2, 12]
    views = orbit_cameras(2)[None].expand(3, 2, 4, 4)  # 3 batch elements of 2 cameras
    Ks = intrinsics(40.0, 40.0, 20.0, 20.0).expand(3, 2, 3, 3)
    with pytest.raises(ValueError, match="batch shape"):
        render(scene, views, Ks, 40, 40, backend="cpu")


# ------------------------------------------------------------------------------------- GPU: gsplat parity

@pytest.mark.gpu
@pytest.mark.parametrize("antialiased", [False, True])
def test_cpu_matches_gsplat_cuda(antialiased):
    scene = random_scene(800, 4000, 3, eye=(5.0, 0.5, 1.0), spread=(2.0, 2.0, 1.0))
    views = torch.cat([look_at((5.0, 0.5, 1.0), (0, 0, 0))[None], orbit_cameras(2, radius=6.0)])
    Ks = torch.stack([intrinsics(150.0, 150.0, 80.0, 60.0), intrinsics(120.0, 125.0, 78.0, 61.0),
                      intrinsics(200.0, 200.0, 80.5, 59.5)])
    width, height = 160, 120
    cuda = torch.device("cuda")
    gpu = render(scene.to(cuda), views.to(cuda), Ks.to(cuda), width, height, backend="gsplat",
                 antialiased=antialiased)
    cpu = render(scene, views, Ks, width, height, backend="cpu", antialiased=antialiased)
    rgb_g, alpha_g, depth_g = gpu.rgb.cpu(), gpu.alpha.cpu(), gpu.depth.cpu()
    rgb_err = (cpu.rgb - rgb_g).abs()
    hit = (alpha_g > 0.5) & (cpu.alpha > 0.5)
    depth_rel = ((cpu.depth - depth_g).abs() / depth_g)[hit]
    print(f"\ngsplat CUDA vs CPU (antialiased={antialiased}), {scene.num_gaussians} Gaussians SH3, {views.shape[0]} "
          f"cameras {width}x{height}: rgb mean abs {rgb_err.mean():.2e} (max {rgb_err.max():.2e}), alpha max abs "
          f"{(cpu.alpha - alpha_g).abs().max():.2e}, depth rel max {depth_rel.max():.2e} "
          f"(mean {depth_rel.mean():.2e}) over {hit.sum()} pixels with alpha > 0.5")
    assert hit.float().mean() > 0.2
    assert rgb_err.mean() <= 1 / 255
    assert depth_rel.max() <= 0.01
