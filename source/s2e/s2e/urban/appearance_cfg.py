"""Detail, budget, patterns and colours of a block's procedural Gaussians (`appearance.urban_scene_gaussians`).

A module of its own so that the block builder and its parts (`facades`, `props`) all read one config
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

RGB = tuple[float, float, float]


@dataclass
class FacadePalette:
    """Colours the facades draw from: each building picks a wall, frame, door and sign colour (`facades`)."""

    walls: tuple[RGB, ...] = ((0.55, 0.3, 0.22), (0.78, 0.7, 0.58), (0.86, 0.82, 0.72), (0.6, 0.6, 0.6),
                              (0.62, 0.66, 0.7), (0.78, 0.6, 0.35), (0.88, 0.87, 0.84), (0.42, 0.24, 0.2),
                              (0.6, 0.65, 0.55))
    frames: tuple[RGB, ...] = ((0.9, 0.9, 0.88), (0.25, 0.2, 0.17), (0.3, 0.31, 0.33))
    doors: tuple[RGB, ...] = ((0.35, 0.22, 0.12), (0.2, 0.2, 0.22), (0.15, 0.25, 0.2))
    signs: tuple[RGB, ...] = ((0.7, 0.12, 0.1), (0.1, 0.3, 0.6), (0.15, 0.45, 0.2), (0.85, 0.65, 0.1),
                              (0.15, 0.15, 0.15))
    glass_dark: RGB = (0.1, 0.12, 0.16)
    glass_sky: RGB = (0.42, 0.5, 0.6)
    """Window glass runs from dark (looking in) to the sky's reflection (upper floors)."""


@dataclass
class PropPalette:
    """Colours of the street furniture and obstacles (`props`); bins and scooters pick one of theirs."""

    cardboard: RGB = (0.62, 0.45, 0.28)
    tape: RGB = (0.78, 0.66, 0.48)
    bins: tuple[RGB, ...] = ((0.16, 0.3, 0.2), (0.3, 0.32, 0.33), (0.2, 0.24, 0.3))
    wood: RGB = (0.55, 0.36, 0.2)
    metal: RGB = (0.18, 0.18, 0.2)
    pole: RGB = (0.3, 0.31, 0.33)
    lamp: RGB = (0.95, 0.92, 0.75)
    bark: RGB = (0.33, 0.23, 0.15)
    leaves: RGB = (0.22, 0.42, 0.16)
    scooters: tuple[RGB, ...] = ((0.1, 0.6, 0.3), (0.9, 0.4, 0.05), (0.8, 0.1, 0.1), (0.1, 0.4, 0.8))


@dataclass
class UrbanGaussianCfg:
    """Detail (spacings in metres), budget and colours of the Gaussian block."""

    budget: int = 50_000
    """Most Gaussians in one block: all spacings are scaled by one factor to fill 90-100% of it."""
    min_detail: float = 0.75
    """Finest spacing scale used to fill the budget (small blocks stop there, below the budget)."""
    road_spacing: float = 0.4
    sidewalk_spacing: float = 0.2
    lane_spacing: float = 0.2
    seam_spacing: float = 0.3
    """Along-seam spacing of the paving-slab joints (0 leaves the seams out)."""
    slab_size: float = 0.9
    slab_tone: float = 0.09
    """Brightness variation between paving slabs (relative std-dev)."""
    crosswalk_stripe: float = 0.5
    """Width of a zebra bar (and of the gap between two bars)."""
    crosswalk_spacing: float = 0.25
    """Spacing along the bars (across them it is a third of a bar)."""
    curb_spacing: float = 0.3
    wall_spacing: float = 0.4
    upper_wall_spacing: float = 0.6
    """Wall spacing above the ground floor (seen from afar by street cameras)."""
    glass_spacing: float = 0.3
    frame_spacing: float = 0.3
    prop_spacing: float = 0.12
    overlap: float = 0.7
    """Std-dev of a flat Gaussian as a fraction of its spacing (> 0.5 leaves no holes)."""
    opacity: float = 0.97
    noise: float = 0.07
    """Per-Gaussian brightness noise (relative std-dev): texture at the scale of the spacing."""
    asphalt: RGB = (0.25, 0.25, 0.27)
    lane_paint: RGB = (0.9, 0.88, 0.8)
    sidewalk: RGB = (0.66, 0.64, 0.6)
    seam: RGB = (0.4, 0.39, 0.37)
    zebra: RGB = (0.92, 0.92, 0.88)
    curb: RGB = (0.8, 0.79, 0.76)
    facades: FacadePalette = field(default_factory=FacadePalette)
    props: PropPalette = field(default_factory=PropPalette)
