"""Frustum culling of the CPU rasterizer: the same images as without it, for less work."""

import math

import numpy as np
import pytest
import torch

from s2e.rendering import GaussianScene, render
from s2e.rendering.cameras import intrinsics_from_fov
from s2e.rendering.culling import FrustumCuller
from s2e.urban.appearance import urban_scene_gaussians
from s2e.urban.layout import UrbanLayoutCfg, generate_layout

NEAR = 0.25


def street_cameras(layout, count: int, seed: int) -> torch.Tensor:
    """World-to-camera (OpenCV) views at robot height on the block's walkable areas, random headings and tilts."""
    rng = np.random.default_rng(seed)
    views = []
    for i in range(count):
        x0, y0, x1, y1 = layout.walk_rects[rng.integers(len(layout.walk_rects))]
        eye = np.array([rng.uniform(x0, x1), rng.uniform(y0, y1), rng.uniform(0.3, 1.5)])
        yaw, pitch = rng.uniform(-math.pi, math.pi), rng.uniform(-0.4, 0.3)
        f = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)])
        r = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
        rot = np.stack([r, np.cross(f, r), f], 1)
        view = np.eye(4)
        view[:3, :3], view[:3, 3] = rot.T, -rot.T @ eye
        views.append(torch.tensor(view, dtype=torch.float32))
    return torch.stack(views)


@pytest.fixture(scope="module")
def blocks():
    """Two different blocks as a padded batch [2, N], and their layouts."""
    layouts = [generate_layout(UrbanLayoutCfg(), seed) for seed in (0, 1)]
    return layouts, GaussianScene.stack_padded([urban_scene_gaussians(layout, seed=0) for layout in layouts])


@pytest.mark.parametrize("antialiased", [False, True])
def test_culled_render_equals_full_render(blocks, antialiased):
    layouts, scene = blocks
    views = torch.stack([street_cameras(layout, 12, seed=3 + i) for i, layout in enumerate(layouts)])  # [2, 12, 4, 4]
    ks = intrinsics_from_fov(64, 64, 90.0).expand(2, 12, 3, 3)
    culler = FrustumCuller(scene)
    full = render(scene, views, ks, 64, 48, backend="cpu", near_plane=NEAR, antialiased=antialiased)
    culled = render(scene, views, ks, 64, 48, backend="cpu", near_plane=NEAR, antialiased=antialiased, culler=culler)
    assert (torch.equal(full.rgb, culled.rgb) and torch.equal(full.alpha, culled.alpha)
            and torch.equal(full.depth, culled.depth))
    assert (full.alpha > 0.5).float().mean() > 0.3  # the cameras see the city, not the sky
    _, counts = culler.candidates(np.ascontiguousarray(views.reshape(-1, 4, 4).numpy()),
                                  np.ascontiguousarray(ks.reshape(-1, 3, 3).numpy()), 64, 48, NEAR,
                                  np.repeat(np.arange(2), 12))
    assert counts.mean() < 0.6 * scene.num_gaussians  # most of a block is outside a street camera's view


def test_wide_and_odd_cameras_lose_nothing(blocks):
    """A wide field of view, an off-centre principal point and a camera looking straight down."""
    layouts, scene = blocks
    one = GaussianScene(scene.means[0], scene.quats[0], scene.scales[0], scene.opacities[0], scene.sh[0])
    views = street_cameras(layouts[0], 6, seed=11)
    down = torch.tensor([[1.0, 0, 0, 0], [0, -1, 0, 0], [0, 0, -1, 3.0], [0, 0, 0, 1]])  # 3 m above the origin
    views = torch.cat([views, down[None]])
    ks = torch.stack([intrinsics_from_fov(80, 40, 150.0) if i % 2
                      else torch.tensor([[30.0, 0, 10], [0, 30, 35], [0, 0, 1]])
                      for i in range(len(views))])
    culler = FrustumCuller(one)
    full = render(one, views, ks, 80, 40, backend="cpu", near_plane=NEAR)
    culled = render(one, views, ks, 80, 40, backend="cpu", near_plane=NEAR, culler=culler)
    assert torch.equal(full.rgb, culled.rgb) and torch.equal(full.depth, culled.depth)


def test_dynamic_tail_is_always_drawn_and_subsets_select(blocks):
    """Gaussians appended after the culler was built (moving people) are candidates wherever they go."""
    layouts, scene = blocks
    n = scene.num_gaussians
    people = GaussianScene.stack_padded([GaussianScene.empty(30, 3), GaussianScene.empty(30, 3)])
    world = GaussianScene.cat([scene, people])
    culler = FrustumCuller(world, num_dynamic=30)
    views = torch.stack([street_cameras(layout, 2, seed=21 + i) for i, layout in enumerate(layouts)])
    # move the people in front of each camera after the culler was built
    cam_pos = torch.linalg.inv(views)[..., :3, 3]
    forward = torch.linalg.inv(views)[..., :3, 2]
    world.means[:, n:] = (cam_pos[:, 0] + 2.0 * forward[:, 0])[:, None] + 0.1 * torch.randn(2, 30, 3)
    world.opacities[:, n:] = 0.9
    world.scales[:, n:] = 0.08
    world.sh[:, n:, 0] = 1.0
    ks = intrinsics_from_fov(64, 64, 90.0).expand(2, 2, 3, 3)
    full = render(world, views, ks, 64, 64, backend="cpu", near_plane=NEAR)
    culled = render(world, views, ks, 64, 64, backend="cpu", near_plane=NEAR, culler=culler)
    assert torch.equal(full.rgb, culled.rgb)
    second = GaussianScene(*(t[1:] for t in (world.means, world.quats, world.scales, world.opacities, world.sh)))
    alone = render(second, views[1:], ks[1:], 64, 64, backend="cpu", near_plane=NEAR, culler=culler.select([1]))
    assert torch.equal(alone.rgb, full.rgb[1:])
    with pytest.raises(ValueError, match=r"culler was built for 2 scenes.*select\(\)"):
        render(second, views[1:], ks[1:], 64, 64, backend="cpu", culler=culler)


def test_culler_settings_are_checked(blocks):
    _, scene = blocks
    for kwargs in ({"cell_size": 0.0}, {"margin": -0.1}, {"num_dynamic": scene.num_gaussians + 1}):
        with pytest.raises(ValueError, match="FrustumCuller"):
            FrustumCuller(scene, **kwargs)
