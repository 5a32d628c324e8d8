"""Appearance families: the urban family is what the blocks always were (bit for bit), the shift family is
apart from it (layout ranges, palettes), training refuses it, and the lighting operations do what they say."""

from __future__ import annotations

import math
from dataclasses import fields

import numpy as np
import pytest
import torch

from s2e.rendering import GaussianScene
from s2e.rendering.lighting import add_haze, grade, shade_by_sun, sun_direction
from s2e.urban.appearance_cfg import FacadePalette, PropPalette, UrbanGaussianCfg
from s2e.urban.families import FAMILIES, SHIFT, TRAINING_FAMILIES, URBAN, appearance_family
from s2e.urban.layout import UrbanLayoutCfg

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _colours(cfg: UrbanGaussianCfg) -> set[tuple[float, ...]]:
    out = {tuple(getattr(cfg, f)) for f in ("asphalt", "lane_paint", "sidewalk", "seam", "zebra", "curb")}
    for palette in (cfg.facades, cfg.props):
        for f in fields(palette):
            value = getattr(palette, f.name)
            out |= {tuple(c) for c in value} if isinstance(value[0], tuple) else {tuple(value)}
    return out


def test_the_urban_family_is_the_training_default():
    assert URBAN.layout == UrbanLayoutCfg() and URBAN.gaussians == UrbanGaussianCfg()
    assert not URBAN.lighting.shades and not URBAN.lighting.grades and URBAN.haze_distance == 0
    assert TRAINING_FAMILIES == ("urban",) and set(FAMILIES) == {"urban", "shift"}


def test_the_shift_family_shares_no_layout_range_and_no_colour_with_training():
    for family in TRAINING_FAMILIES:
        train = appearance_family(family)
        for name in ("road_width", "sidewalk_width"):
            (a, b), (c, d) = getattr(train.layout, name), getattr(SHIFT.layout, name)
            assert b < c or d < a, name
        assert not _colours(train.gaussians) & _colours(SHIFT.gaussians)
    assert SHIFT.lighting.shades and SHIFT.lighting.grades and SHIFT.haze_distance > 0
    assert SHIFT.sky != URBAN.sky and SHIFT.ground_plane != URBAN.ground_plane
    assert set(SHIFT.layout.furniture_kinds) <= {"pole", "tree", "bin", "bench", "box", "scooter"}


def test_unknown_families_are_named():
    with pytest.raises(ValueError, match="unknown appearance family 'noir': choose one of urban, shift"):
        appearance_family("noir")


def test_the_palettes_drive_the_block(layouts):
    from s2e.urban.appearance import urban_scene_gaussians

    plain = urban_scene_gaussians(layouts[0], UrbanGaussianCfg(budget=20_000))
    red = UrbanGaussianCfg(budget=20_000, facades=FacadePalette(walls=((1.0, 0.0, 0.0),) * 9),
                           props=PropPalette(leaves=(0.0, 0.0, 1.0)))
    tinted = urban_scene_gaussians(layouts[0], red)
    assert torch.equal(plain.means, tinted.means)  # the same geometry, other colours
    rgb = 0.5 + 0.28209479177387814 * tinted.sh[:, 0]
    reddish = (rgb[:, 0] > 0.75) & (rgb[:, 1] < 0.25) & (rgb[:, 2] < 0.25)
    assert reddish.sum() > 500 and not torch.equal(plain.sh, tinted.sh)


def _flat_scene(normal_axis: int, n: int = 4) -> GaussianScene:
    scales = torch.full((n, 3), 0.2)
    scales[:, normal_axis] = 0.001
    return GaussianScene(torch.zeros(n, 3), torch.tensor([[1.0, 0, 0, 0]]).repeat(n, 1), scales, torch.ones(n),
                         torch.full((n, 1, 3), 0.3))


def test_sun_shading_is_two_sided_lambert_on_flat_gaussians_and_half_on_round_ones():
    sun = sun_direction(0.0, 30.0)  # from +x, 30 degrees up
    assert torch.allclose(sun, torch.tensor([math.cos(math.radians(30)), 0.0, 0.5]))
    rgb0 = 0.5 + 0.28209479177387814 * 0.3
    for axis, lambert in ((2, 0.5), (0, math.cos(math.radians(30))), (1, 0.0)):
        lit = shade_by_sun(_flat_scene(axis), sun, ambient=0.6, sun_gain=0.4)
        rgb = 0.5 + 0.28209479177387814 * lit.sh[:, 0]
        assert torch.allclose(rgb, torch.full_like(rgb, rgb0 * (0.6 + 0.4 * (0.995 * lambert + 0.005 * 0.5))),
                              atol=1e-6)
    ball = _flat_scene(2)
    ball.scales[:] = 0.2
    rgb = 0.5 + 0.28209479177387814 * shade_by_sun(ball, sun, 0.6, 0.4).sh[:, 0]
    assert torch.allclose(rgb, torch.full_like(rgb, rgb0 * 0.8), atol=1e-5)


def test_grading_and_haze():
    rgb = torch.tensor([[0.5, 0.5, 0.5], [1.0, 1.0, 1.0]])
    out = grade(rgb, torch.tensor([1.2, 1.0, 0.5]), exposure=0.9)
    assert torch.allclose(out, torch.tensor([[0.54, 0.45, 0.225], [1.0, 0.9, 0.45]]))
    hazy = add_haze(rgb, torch.tensor([[0.0], [40.0]]), torch.tensor([0.8, 0.7, 0.6]), 40.0)
    t = math.exp(-1.0)
    assert (torch.allclose(hazy[0], rgb[0]) and torch.allclose(hazy[1],
                                                               t * rgb[1] + (1 - t) * torch.tensor([0.8, 0.7, 0.6])))
    assert np.isclose(float(add_haze(rgb, torch.full((2, 1), 1e6), torch.zeros(3), 40.0).abs().max()), 0.0)
