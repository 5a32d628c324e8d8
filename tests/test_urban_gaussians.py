"""The Gaussian urban block and the animated pedestrians: budget, placement, what a street camera sees."""

import math

import numpy as np
import pytest
import torch

from s2e.rendering import GaussianScene, render
from s2e.urban.appearance import urban_blocks_gaussians, urban_scene_gaussians
from s2e.urban.appearance_cfg import UrbanGaussianCfg
from s2e.urban.layout import BUILDING, CROSSWALK, ROAD, SIDEWALK, UrbanLayoutCfg, generate_layout
from s2e.urban.pedestrian_gaussians import PedestrianGaussians, PedestrianGaussiansCfg, advance_phase

SKY = torch.tensor([0.62, 0.75, 0.9])
NEAR = 0.25
"""Near plane for cameras 0.3-0.5 m above the ground: the ground Gaussians right under the camera are
about as large as their depth, where the EWA projection smears them over the whole image (fog)."""


@pytest.fixture(scope="module")
def block():
    layout = generate_layout(UrbanLayoutCfg(), 0)
    return layout, urban_scene_gaussians(layout)


def camera(pos, yaw: float, pitch: float = 0.0) -> torch.Tensor:
    """OpenCV world-to-camera matrix of a camera at `pos` looking along (yaw, pitch)."""
    f = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)])
    r = np.array([math.sin(yaw), -math.cos(yaw), 0.0])
    rot = np.stack([r, np.cross(f, r), f], 1)
    view = np.eye(4)
    view[:3, :3], view[:3, 3] = rot.T, -rot.T @ np.asarray(pos, float)
    return torch.tensor(view, dtype=torch.float32)


def shoot(scene: GaussianScene, view: torch.Tensor, size: int = 64):
    k = torch.tensor([[size / 2, 0, size / 2], [0, size / 2, size / 2], [0, 0, 1.0]])  # 90 deg field of view
    out = render(scene, view[None], k[None], size, size, backend="cpu", background=SKY, near_plane=NEAR)
    return out.rgb[0], out.depth[0, ..., 0], out.alpha[0, ..., 0]


def sidewalk_spot(layout, frac: float = 0.75):
    """A point on the longest sidewalk, `frac` of the way from the curb to the buildings, and the road axis."""
    sw = layout.walk_rects[layout.walk_kind == SIDEWALK]
    r = sw[np.argmax(np.maximum(sw[:, 2] - sw[:, 0], sw[:, 3] - sw[:, 1]))]
    a = 0 if r[2] - r[0] > r[3] - r[1] else 1
    road = layout.road_rects[np.argmax([(q[2] - q[0] > q[3] - q[1]) == (a == 0) for q in layout.road_rects])]
    road_c = 0.5 * (road[1 - a] + road[3 - a])
    near_edge, far_edge = sorted((r[1 - a], r[3 - a]), key=lambda v: abs(v - road_c))
    p = np.zeros(2)
    p[a], p[1 - a] = 0.5 * (r[a] + r[2 + a]), near_edge + frac * (far_edge - near_edge)
    outward = np.zeros(2)
    outward[1 - a] = np.sign(far_edge - near_edge)
    return p, a, outward


def first_building_hit(layout, p: np.ndarray, direction: np.ndarray) -> float:
    """Distance along an axis-aligned horizontal ray to the first building box (inf if none)."""
    best = np.inf
    for cx, cy, sx, sy, _ in layout.buildings:
        lo, hi = np.array([cx - sx / 2, cy - sy / 2]), np.array([cx + sx / 2, cy + sy / 2])
        a = int(np.argmax(np.abs(direction)))
        if not lo[1 - a] <= p[1 - a] <= hi[1 - a]:
            continue
        face = lo[a] if direction[a] > 0 else hi[a]
        dist = (face - p[a]) * np.sign(direction[a])
        if dist > 0:
            best = min(best, dist)
    return best


def test_block_fits_budget_and_is_deterministic(block):
    layout, scene = block
    cfg = UrbanGaussianCfg()
    assert 0.6 * cfg.budget <= scene.num_gaussians <= cfg.budget
    again = urban_scene_gaussians(layout)
    for name in ("means", "quats", "scales", "opacities", "sh"):
        assert torch.equal(getattr(scene, name), getattr(again, name))
    other = urban_scene_gaussians(layout, seed=1)
    assert not torch.equal(scene.sh[: other.num_gaussians], other.sh[: scene.num_gaussians])
    small = urban_scene_gaussians(layout, UrbanGaussianCfg(budget=15_000))
    assert 0.5 * 15_000 <= small.num_gaussians <= 15_000
    assert scene.means.dtype == torch.float32 and scene.sh.shape[1:] == (1, 3) and scene.batch_shape == ()
    assert ((scene.opacities > 0) & (scene.opacities <= 1)).all() and (scene.scales > 0).all()


def test_ground_covers_the_walkable_and_road_area_without_holes(block):
    layout, scene = block
    ground = (scene.means[:, 2].abs() < 0.01) & (scene.scales[:, 2] <= 0.011)
    xy = scene.means[ground, :2].numpy()
    assert (np.abs(xy) <= layout.size / 2 + 1e-4).all()
    opacity = scene.opacities[ground]
    assert (opacity > 0.75).all() and (opacity > 0.9).float().mean() > 0.7  # slab joints are a little translucent
    # Every ground cell of the semantic map has a ground Gaussian within half a metre.
    occupied = np.zeros_like(layout.semantic, dtype=bool)
    ij = layout.cell_of(xy)
    occupied[ij[:, 0], ij[:, 1]] = True
    near = torch.nn.functional.max_pool2d(torch.tensor(occupied)[None, None].float(), 5, 1, 2)[0, 0].bool().numpy()
    assert near[layout.semantic != BUILDING].all()


def test_ground_materials_differ(block):
    layout, scene = block
    ground = (scene.means[:, 2].abs() < 0.01) & (scene.scales[:, 2] <= 0.011)
    brightness = (0.5 + 0.282 * scene.sh[ground, 0, :]).mean(-1).numpy()
    ij = layout.cell_of(scene.means[ground, :2].numpy())
    cls = layout.semantic[ij[:, 0], ij[:, 1]]
    road, walk, zebra = brightness[cls == ROAD], brightness[cls == SIDEWALK], brightness[cls == CROSSWALK]
    assert np.median(walk) > np.median(road) + 0.2  # light paving, dark asphalt
    assert zebra.std() > 0.2 and (zebra > 0.8).mean() > 0.2  # white bars on asphalt
    assert road.std() > 0.02  # textured, not flat


def test_street_view_is_textured_with_ground_below_and_sky_above(block):
    layout, scene = block
    p, a, _ = sidewalk_spot(layout, frac=0.4)
    yaw = 0.0 if a == 0 else math.pi / 2
    rgb, _, alpha = shoot(scene, camera([p[0], p[1], 0.4], yaw))
    assert rgb.std(dim=(0, 1)).mean() > 0.08
    assert (alpha[32:] > 0.9).float().mean() > 0.85  # the ground holds, even at grazing angles ...
    assert (alpha[34:52] > 0.9).float().mean() > 0.97  # ... and fully from 0.7 m to 6 m ahead
    assert alpha[:4, 30:34].max() < 0.5  # sky straight ahead above the street, no fog
    assert rgb[48:].std(dim=(0, 1)).mean() > 0.01  # the ground near the camera is not one flat colour


def test_facade_is_hit_at_the_building_line(block):
    layout, scene = block
    p, _, outward = sidewalk_spot(layout)
    dist = first_building_hit(layout, p, outward)
    assert 0.5 < dist < 10
    yaw = math.atan2(outward[1], outward[0])
    rgb, depth, alpha = shoot(scene, camera([p[0], p[1], 0.4], yaw, pitch=0.5))
    assert alpha[28:36, 28:36].min() > 0.95
    assert abs(depth[28:36, 28:36].median().item() - dist / math.cos(0.5)) < 0.3


def figure(cfg: PedestrianGaussiansCfg = PedestrianGaussiansCfg(), n: int = 4, seed: int = 0) -> PedestrianGaussians:
    return PedestrianGaussians(n, cfg, seed=seed)


def test_pedestrians_are_person_sized_and_placed():
    peds = figure()
    xy = torch.tensor([[0.0, 0.0], [5.0, -2.0], [-3.0, 4.0], [10.0, 10.0]])
    g = peds.gaussians(xy, torch.zeros(4), torch.zeros(4))
    assert g.means.shape == (4, peds.num_gaussians, 3) and g.sh.shape == (4, peds.num_gaussians, 1, 3)
    assert 150 <= peds.num_gaussians <= 600
    z = g.means[..., 2]
    assert (z.min(1).values > -0.02).all() and (z.min(1).values < 0.06).all()
    assert ((z.max(1).values > 1.5) & (z.max(1).values < 1.9)).all()
    assert torch.allclose(g.means[..., :2].mean(1), xy, atol=0.12)
    moved = peds.gaussians(xy + torch.tensor([3.0, -2.0]), torch.zeros(4), torch.zeros(4), z0=torch.full((4,), 0.12))
    assert torch.allclose(moved.means - g.means, torch.tensor([3.0, -2.0, 0.12]).expand_as(g.means), atol=1e-5)
    other = figure(seed=1).gaussians(xy, torch.zeros(4), torch.zeros(4))
    assert not torch.allclose(other.sh, g.sh)  # per-actor appearance from the seed


def test_pedestrians_face_their_yaw():
    still = figure(PedestrianGaussiansCfg(leg_swing=0.0, arm_swing=0.0, knee_bend=0.0, elbow_bend=0.0))
    xy, phase = torch.tensor([[1.0, 2.0]] * 4), torch.zeros(4)
    yaw = torch.tensor([0.0, math.pi / 2, 2.5, -1.0])
    g = still.gaussians(xy, yaw, phase)
    g0 = still.gaussians(xy, torch.zeros(4), phase)
    rel, rel0 = g.means[..., :2] - xy[:, None], g0.means[..., :2] - xy[:, None]
    c, s = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]
    rotated = torch.stack([c * rel0[..., 0] - s * rel0[..., 1], s * rel0[..., 0] + c * rel0[..., 1]], -1)
    assert torch.allclose(rel, rotated, atol=1e-5)
    feet = g0.means[..., 2] < 0.08  # shoes point forward: +x at yaw 0
    forward = torch.stack([(rel[i][feet[i]] @ torch.stack([c[i, 0], s[i, 0]])).mean() for i in range(4)])
    assert (forward > 0.02).all()


def test_walking_swings_legs_and_arms_in_opposite_phase():
    peds = figure(n=2)
    xy, yaw = torch.zeros(2, 2), torch.zeros(2)
    g0, g_pi = peds.gaussians(xy, yaw, torch.zeros(2)), peds.gaussians(xy, yaw, torch.full((2,), math.pi))
    legs = g0.means[0, :, 2] < 0.8
    assert (g0.means[0, legs] - g_pi.means[0, legs]).norm(dim=-1).max() > 0.1
    step = peds.gaussians(xy, yaw, torch.full((2,), math.pi / 2))
    m = step.means[0]
    left, right = m[:, 1] > 0.05, m[:, 1] < -0.05
    feet, hands = m[:, 2] < 0.15, (m[:, 2] > 0.7) & (m[:, 2] < 0.95) & (m[:, 1].abs() > 0.17)
    assert m[left & feet, 0].mean() > 0.1 and m[right & feet, 0].mean() < -0.1  # left foot ahead
    assert m[left & hands, 0].mean() < -0.05 and m[right & hands, 0].mean() > 0.05  # right hand ahead


def test_invisible_pedestrians_are_transparent():
    peds = figure(n=3)
    visible = torch.tensor([True, False, True])
    g = peds.gaussians(torch.zeros(3, 2), torch.zeros(3), torch.zeros(3), visible=visible)
    assert (g.opacities[1] == 0).all() and (g.opacities[0] > 0.9).all()
    hidden = peds.gaussians(torch.zeros(3, 2), torch.zeros(3), torch.zeros(3), visible=torch.zeros(3, dtype=torch.bool))
    flat = GaussianScene(hidden.means.reshape(-1, 3), hidden.quats.reshape(-1, 4), hidden.scales.reshape(-1, 3),
                         hidden.opacities.reshape(-1), hidden.sh.reshape(-1, 1, 3))
    _, _, alpha = shoot(flat, camera([-3.0, 0.0, 0.9], 0.0))
    assert alpha.max() < 1e-3


def test_pedestrian_in_the_street_is_seen_at_its_distance(block):
    layout, scene = block
    p, a, _ = sidewalk_spot(layout, frac=0.5)
    yaw = 0.0 if a == 0 else math.pi / 2
    ahead = torch.tensor(p + 3.0 * np.array([math.cos(yaw), math.sin(yaw)]), dtype=torch.float32)[None]
    ped = figure(n=1).gaussians(ahead, torch.tensor([yaw + math.pi]), torch.zeros(1))
    both = GaussianScene.cat([scene, GaussianScene(ped.means[0], ped.quats[0], ped.scales[0], ped.opacities[0],
                                                   ped.sh[0])])
    view = camera([p[0], p[1], 1.0], yaw)
    rgb, depth, alpha = shoot(both, view)
    rgb_empty, _, _ = shoot(scene, view)
    assert abs(depth[30:34, 30:34].median().item() - 3.0) < 0.25
    assert (rgb[24:40, 28:36] - rgb_empty[24:40, 28:36]).abs().max() > 0.2


def test_advance_phase_follows_distance_walked():
    phase = torch.tensor([0.0, 6.0, 1.0])
    out = advance_phase(phase, torch.tensor([1.4, 1.4, 0.0]), 0.5, stride=1.4)
    assert torch.allclose(out, torch.tensor([math.pi, (6.0 + math.pi) % (2 * math.pi), 1.0]), atol=1e-6)
    assert ((out >= 0) & (out < 2 * math.pi)).all()


def test_blocks_generated_in_worker_processes_are_the_serial_ones_bit_for_bit(layouts):
    blocks, cfg = layouts[:3], UrbanGaussianCfg(budget=4000)
    serial = urban_blocks_gaussians(blocks, cfg, seed=5, workers=1)
    parallel = urban_blocks_gaussians(blocks, cfg, seed=5, workers=2, min_parallel=1)
    for a, b in zip(serial, parallel, strict=True):
        for name in ("means", "quats", "scales", "opacities", "sh"):
            assert torch.equal(getattr(a, name), getattr(b, name))
    assert not torch.equal(serial[0].means[:100], serial[1].means[:100])
