"""Appearance families: what a procedural block looks like and which block types it is drawn from.

A family fixes the block generator's ranges (`UrbanLayoutCfg`: widths, heights, furniture mix), the
Gaussians' patterns and palettes (`UrbanGaussianCfg`), the lighting (sun shading, white balance,
exposure), the sky and ground plane behind the splats, and haze. Cameras name their family
(`GaussianSplatCameraCfg.appearance`); NavBench-GS episode files name theirs.

- `urban`: what training, demonstration collection and the NavBench-GS `urban` split (v1) use.
- `shift`: held out for NavBench-GS's `shift` split only: narrow lanes beside wide paved squares,
  low-rise pastel facades, brick paving, yellow markings, autumn trees, a low warm sun and haze.
  Its layout ranges do not overlap the urban ones (road width 3-5 m against 6-9 m, sidewalks 5.5-8 m
  against 3.5-5 m), and no colour of its palettes is one of urban's. Training tasks refuse it
  (`TRAINING_FAMILIES`), so a model scored on `shift` has never seen a block of it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..rendering.gaussians import GaussianScene
from ..rendering.lighting import add_haze, grade, shade_by_sun, sun_direction
from .appearance import urban_blocks_gaussians
from .appearance_cfg import RGB, FacadePalette, PropPalette, UrbanGaussianCfg
from .layout import UrbanLayout, UrbanLayoutCfg
from .props import prop_splats


@dataclass(frozen=True)
class Lighting:
    """Sun shading of the block's Gaussians and the camera's white balance and exposure (s2e.rendering.lighting)."""

    sun_azimuth_deg: float = 0.0
    sun_elevation_deg: float = 90.0
    sun_gain: float = 0.0
    """Weight of the sun's Lambert term; 0 leaves the Gaussians' colours as generated."""
    ambient: float = 1.0
    """Colour scale of a surface facing away from the sun."""
    tint: RGB = (1.0, 1.0, 1.0)
    """Per-channel gains of the image (colour temperature: warm > 1 in red, < 1 in blue)."""
    exposure: float = 1.0

    @property
    def shades(self) -> bool:
        return self.sun_gain != 0.0 or self.ambient != 1.0

    @property
    def grades(self) -> bool:
        return self.exposure != 1.0 or tuple(self.tint) != (1.0, 1.0, 1.0)


@dataclass(frozen=True)
class AppearanceFamily:
    name: str
    layout: UrbanLayoutCfg = field(default_factory=UrbanLayoutCfg)
    gaussians: UrbanGaussianCfg = field(default_factory=UrbanGaussianCfg)
    lighting: Lighting = field(default_factory=Lighting)
    sky: RGB = (0.62, 0.75, 0.90)
    """Colour behind the scene above the horizon."""
    ground_plane: RGB = (0.52, 0.52, 0.5)
    """Colour of the ground plane seen where the splats leave gaps below the horizon."""
    haze_colour: RGB = (0.8, 0.8, 0.8)
    haze_distance: float = 0.0
    """Depth (m) at which haze covers 63 % of a surface's colour; 0: clear air."""


URBAN = AppearanceFamily("urban")

SHIFT = AppearanceFamily(
    "shift",
    layout=UrbanLayoutCfg(road_width=(3.0, 5.0), sidewalk_width=(5.5, 8.0), crossing_road_prob=0.4,
                          building_height=(4.0, 10.0), building_width=(5.0, 11.0), furniture_spacing=(4.0, 8.0),
                          furniture_kinds=("tree", "tree", "bench", "bin", "pole")),
    gaussians=UrbanGaussianCfg(
        slab_size=0.45, slab_tone=0.14, crosswalk_stripe=0.8,
        asphalt=(0.33, 0.27, 0.25), lane_paint=(0.92, 0.76, 0.2), sidewalk=(0.66, 0.4, 0.3), seam=(0.8, 0.76, 0.68),
        zebra=(0.95, 0.82, 0.25), curb=(0.36, 0.36, 0.4),
        facades=FacadePalette(
            walls=((0.55, 0.8, 0.7), (0.92, 0.64, 0.68), (0.7, 0.64, 0.85), (0.25, 0.5, 0.56), (0.93, 0.8, 0.36),
                   (0.27, 0.29, 0.35)),
            frames=((0.12, 0.36, 0.3), (0.56, 0.12, 0.14), (0.95, 0.95, 0.97)),
            doors=((0.6, 0.15, 0.2), (0.12, 0.3, 0.45)),
            signs=((0.55, 0.2, 0.6), (0.95, 0.45, 0.6), (0.1, 0.55, 0.55)),
            glass_dark=(0.16, 0.1, 0.08), glass_sky=(0.7, 0.55, 0.4)),
        props=PropPalette(
            cardboard=(0.3, 0.42, 0.62), tape=(0.9, 0.9, 0.9), bins=((0.85, 0.45, 0.1), (0.9, 0.78, 0.15)),
            wood=(0.3, 0.18, 0.12), metal=(0.62, 0.62, 0.66), pole=(0.1, 0.24, 0.16), lamp=(1.0, 0.8, 0.5),
            bark=(0.2, 0.16, 0.14), leaves=(0.68, 0.38, 0.1), scooters=((0.85, 0.3, 0.65), (0.5, 0.3, 0.8)))),
    lighting=Lighting(sun_azimuth_deg=35.0, sun_elevation_deg=18.0, sun_gain=0.55, ambient=0.6,
                      tint=(1.12, 0.97, 0.8), exposure=0.9),
    sky=(0.88, 0.74, 0.58),
    ground_plane=(0.5, 0.36, 0.3),
    haze_colour=(0.82, 0.76, 0.68),
    haze_distance=40.0,
)

FAMILIES: dict[str, AppearanceFamily] = {f.name: f for f in (URBAN, SHIFT)}
TRAINING_FAMILIES = ("urban",)
"""The families training and demonstration collection may draw; the others are held out for evaluation."""


def appearance_family(name: str) -> AppearanceFamily:
    """The family called `name`; ValueError naming the choices."""
    if name not in FAMILIES:
        raise ValueError(f"unknown appearance family {name!r}: choose one of {', '.join(FAMILIES)}")
    return FAMILIES[name]


def family_blocks_gaussians(layouts: list[UrbanLayout], family: AppearanceFamily, seed: int = 0) -> list[GaussianScene]:
    """Each block's Gaussians in the family's patterns and palettes, shaded by its sun."""
    return [_lit(block, family) for block in urban_blocks_gaussians(layouts, family.gaussians, seed=seed)]


def family_obstacles_gaussians(layout: UrbanLayout, family: AppearanceFamily, seed: int = 0) -> GaussianScene:
    """The Gaussians of a layout's obstacles alone (those spawned on a scene bundle) in the family's look and sun."""
    splats = prop_splats(layout, family.gaussians, np.random.default_rng([seed, layout.seed]), detail=1.0)
    return _lit(splats.to_scene(), family)


def _lit(scene: GaussianScene, family: AppearanceFamily) -> GaussianScene:
    light = family.lighting
    if not light.shades:
        return scene
    return shade_by_sun(scene, sun_direction(light.sun_azimuth_deg, light.sun_elevation_deg), light.ambient,
                        light.sun_gain)


def finish_image(rgb: torch.Tensor, depth: torch.Tensor, family: AppearanceFamily) -> torch.Tensor:
    """The family's haze (by depth [..., 1]), then its white balance and exposure, on images [..., 3]."""
    if family.haze_distance > 0:
        rgb = add_haze(rgb, depth, torch.tensor(family.haze_colour, device=rgb.device), family.haze_distance)
    if family.lighting.grades:
        rgb = grade(rgb, torch.tensor(family.lighting.tint, device=rgb.device), family.lighting.exposure)
    return rgb
