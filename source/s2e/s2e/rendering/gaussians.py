"""A 3D Gaussian scene: means, rotations, scales, opacities and SH colours, on any torch device.

Values are stored *activated* (linear scales, opacities in [0, 1], unit wxyz quaternions), which is
what gsplat's `rasterization` takes; the PLY reader and writer convert from and to the INRIA 3DGS
storage (log scales, opacity logits). Leading batch dimensions are allowed ([..., N, 3]): a batch of
per-env scenes is rendered in one call, one scene per batch element.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import torch

from .sh import C0 as SH_C0  # degree-0 SH basis constant: RGB = 0.5 + SH_C0 * f_dc
from .transforms import quat_from_matrix, quat_multiply, rotate_sh


def rgb_to_sh0(rgb: torch.Tensor) -> torch.Tensor:
    """Degree-0 SH coefficient giving `rgb` [..., 3] from every direction."""
    return (rgb - 0.5) / SH_C0


def sh_degree_from_coeffs(num_coeffs: int) -> int:
    degree = math.isqrt(num_coeffs) - 1
    if (degree + 1) ** 2 != num_coeffs or not 0 <= degree <= 3:
        raise ValueError(f"{num_coeffs} SH coefficients per channel is not (d+1)^2 for a degree d in 0..3")
    return degree


@dataclass
class GaussianScene:
    means: torch.Tensor
    """[..., N, 3] centres (m)."""
    quats: torch.Tensor
    """[..., N, 4] unit quaternions, w x y z."""
    scales: torch.Tensor
    """[..., N, 3] standard deviations along the local axes (m)."""
    opacities: torch.Tensor
    """[..., N] in [0, 1]."""
    sh: torch.Tensor
    """[..., N, K, 3] SH coefficients, K = (degree + 1)^2; sh[..., 0, :] is the DC term."""

    def __post_init__(self):
        n = self.means.shape[-2]
        lead = self.means.shape[:-2]
        expected = {"means": (3,), "quats": (4,), "scales": (3,), "opacities": (), "sh": (self.sh.shape[-2], 3)}
        for name, tail in expected.items():
            shape = tuple(getattr(self, name).shape)
            if shape != tuple(lead) + (n,) + tail:
                raise ValueError(f"GaussianScene.{name} has shape {shape}, expected {tuple(lead) + (n,) + tail}")
        sh_degree_from_coeffs(self.sh.shape[-2])

    @property
    def num_gaussians(self) -> int:
        return self.means.shape[-2]

    @property
    def sh_degree(self) -> int:
        return sh_degree_from_coeffs(self.sh.shape[-2])

    @property
    def device(self) -> torch.device:
        return self.means.device

    @property
    def batch_shape(self) -> torch.Size:
        return self.means.shape[:-2]

    def _map(self, fn) -> GaussianScene:
        return GaussianScene(**{f.name: fn(getattr(self, f.name)) for f in fields(self)})

    def to(self, device=None, dtype=torch.float32) -> GaussianScene:
        return self._map(lambda t: t.to(device=device, dtype=dtype).contiguous())

    def select(self, index) -> GaussianScene:
        """Subset of the Gaussians (index over the N dimension)."""
        lead = (slice(None),) * (self.means.dim() - 2)  # N sits after the batch dims in every field
        return self._map(lambda t: t[lead + (index,)])

    def with_sh_degree(self, degree: int) -> GaussianScene:
        """Same scene with SH truncated or zero-padded to `degree`."""
        k = (degree + 1) ** 2
        sh = self.sh[..., :k, :]
        if sh.shape[-2] < k:
            pad = torch.zeros(*sh.shape[:-2], k - sh.shape[-2], 3, dtype=sh.dtype, device=sh.device)
            sh = torch.cat([sh, pad], dim=-2)
        return GaussianScene(self.means, self.quats, self.scales, self.opacities, sh)

    @staticmethod
    def cat(scenes: list[GaussianScene]) -> GaussianScene:
        """Concatenate along N; SH degrees are padded to the largest one."""
        degree = max(s.sh_degree for s in scenes)
        scenes = [s.with_sh_degree(degree) for s in scenes]
        out = {}
        for f in fields(GaussianScene):
            dim = -1 if f.name == "opacities" else (-3 if f.name == "sh" else -2)
            out[f.name] = torch.cat([getattr(s, f.name) for s in scenes], dim=dim)
        return GaussianScene(**out)

    @staticmethod
    def stack_padded(scenes: list[GaussianScene]) -> GaussianScene:
        """Stack unbatched scenes into one batch [B, N_max, ...]; padding Gaussians are transparent."""
        degree = max(s.sh_degree for s in scenes)
        n_max = max(s.num_gaussians for s in scenes)
        padded = []
        for s in scenes:
            s = s.with_sh_degree(degree)
            extra = n_max - s.num_gaussians
            if extra:
                s = GaussianScene.cat([s, GaussianScene.empty(extra, degree, s.device)])
            padded.append(s)
        return GaussianScene(**{f.name: torch.stack([getattr(s, f.name) for s in padded])
                                for f in fields(GaussianScene)})

    @staticmethod
    def empty(n: int, sh_degree: int = 0, device=None) -> GaussianScene:
        """n transparent Gaussians (opacity 0; the rasterizers cull them)."""
        quats = torch.zeros(n, 4, device=device)
        quats[:, 0] = 1
        return GaussianScene(
            means=torch.zeros(n, 3, device=device),
            quats=quats,
            scales=torch.full((n, 3), 1e-3, device=device),
            opacities=torch.zeros(n, device=device),
            sh=torch.zeros(n, (sh_degree + 1) ** 2, 3, device=device),
        )

    def transformed(self, rotation: torch.Tensor, translation: torch.Tensor, scale: float = 1.0) -> GaussianScene:
        """Apply x -> scale * R x + t (unbatched scene): means, orientations, sizes and SH colours."""
        rotation = rotation.to(self.means)
        q_r = quat_from_matrix(rotation).expand_as(self.quats)
        return GaussianScene(
            means=scale * self.means @ rotation.T + translation.to(self.means),
            quats=quat_multiply(q_r, self.quats),
            scales=self.scales * scale,
            opacities=self.opacities,
            sh=rotate_sh(self.sh, rotation),
        )
