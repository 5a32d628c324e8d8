"""Lighting of Gaussian scenes and rendered images: sun shading, white balance and exposure, haze.

Three independent, cheap operations that change how a scene looks without changing its geometry:
- `shade_by_sun` scales each Gaussian's colour by a two-sided Lambert term. The normal of a flat
  Gaussian is the axis of its smallest scale; a round Gaussian (no thin axis) gets the mean of a lit
  and an unlit side, so blobs are neither black nor glowing.
- `grade` is a camera's white balance (per-channel gains: colour temperature) and exposure.
- `add_haze` blends a colour in with distance (Koschmieder's law: transmittance exp(-depth / d)).
"""

from __future__ import annotations

import math

import torch

from .gaussians import GaussianScene
from .sh import C0
from .transforms import quat_to_rotmat


def sun_direction(azimuth_deg: float, elevation_deg: float) -> torch.Tensor:
    """Unit vector towards the sun (z up; azimuth from +x towards +y)."""
    az, el = math.radians(azimuth_deg), math.radians(elevation_deg)
    return torch.tensor([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


def shade_by_sun(scene: GaussianScene, sun: torch.Tensor, ambient: float, sun_gain: float) -> GaussianScene:
    """A copy of `scene` whose colours are multiplied by ambient + sun_gain * lambert (see module docstring)."""
    rot = quat_to_rotmat(scene.quats)  # [..., N, 3, 3], columns are the local axes
    order = scene.scales.argsort(dim=-1)
    thin = order[..., 0]
    normal = torch.gather(rot, -1, thin[..., None, None].expand(*thin.shape, 3, 1))[..., 0]
    s_min = torch.gather(scene.scales, -1, order[..., :1])[..., 0]
    s_mid = torch.gather(scene.scales, -1, order[..., 1:2])[..., 0]
    flatness = (1 - s_min / s_mid.clamp_min(1e-9)).clamp(0, 1)
    lambert = (normal @ sun.to(normal)).abs()
    shade = ambient + sun_gain * (flatness * lambert + (1 - flatness) * 0.5)
    rgb = 0.5 + C0 * scene.sh[..., 0, :]
    sh = scene.sh * shade[..., None, None]
    sh[..., 0, :] = (rgb * shade[..., None] - 0.5) / C0
    return GaussianScene(scene.means, scene.quats, scene.scales, scene.opacities, sh)


def grade(rgb: torch.Tensor, tint: torch.Tensor, exposure: float) -> torch.Tensor:
    """White balance and exposure of images [..., 3] in [0, 1] (clipped to [0, 1])."""
    return (rgb * (exposure * tint.to(rgb))).clamp(0, 1)


def add_haze(rgb: torch.Tensor, depth: torch.Tensor, colour: torch.Tensor, distance: float) -> torch.Tensor:
    """Images [..., 3] seen through haze of `colour` whose transmittance is exp(-depth / distance); depth [..., 1]."""
    transmittance = torch.exp(-depth / distance)
    return rgb * transmittance + colour.to(rgb) * (1 - transmittance)
