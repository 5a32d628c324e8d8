"""Exact per-pixel 3DGS compositing in plain torch: the ground truth for the fast backends.

Every pixel looks at every visible Gaussian in depth order (no tiles), so it is slow and only meant
for small scenes in tests. Rules as gsplat: alpha = min(0.999, o * exp(-sigma)), skipped when below
1/255 or sigma < 0, and a pixel stops before the Gaussian that would bring its transmittance to 1e-4.
"""

from __future__ import annotations

import torch

from .projection import ALPHA_THRESHOLD, MAX_ALPHA, MIN_TRANSMITTANCE, Projected


def composite_reference(proj: Projected, width: int, height: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(rgb [..., C, H, W, 3], expected depth [..., 1], alpha [..., 1]) from projected Gaussians."""
    lead = proj.depths.shape[:-1]
    n = proj.depths.shape[-1]
    flat = lambda x: x.reshape((lead.numel(), n) + x.shape[len(lead) + 1:])  # explicit: N may be 0
    means2d, conics, depths, radii, colors, opac = map(
        flat, (proj.means2d, proj.conics, proj.depths, proj.radii, proj.colors, proj.opacities))
    ys, xs = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    pix = torch.stack([xs, ys], -1).reshape(-1, 2).to(means2d) + 0.5  # [P, 2]
    images = []
    for i in range(means2d.shape[0]):
        visible = (radii[i] > 0).all(-1)
        order = torch.argsort(torch.where(visible, depths[i], torch.inf), stable=True)[: int(visible.sum())]
        delta = means2d[i, order][None] - pix[:, None]  # [P, M, 2]
        c = conics[i, order]
        sigma = (0.5 * (c[:, 0] * delta[..., 0] ** 2 + c[:, 2] * delta[..., 1] ** 2) + c[:, 1] * delta[..., 0]
                 * delta[..., 1])
        alpha = torch.clamp_max(opac[i, order] * torch.exp(-sigma), MAX_ALPHA)
        alpha = torch.where((sigma < 0) | (alpha < ALPHA_THRESHOLD), 0.0, alpha)
        t_after = torch.cumprod(1 - alpha, dim=-1)
        t_before = torch.cat([torch.ones_like(t_after[:, :1]), t_after[:, :-1]], dim=-1)
        weights = torch.where(t_after > MIN_TRANSMITTANCE, alpha * t_before, 0.0)
        rgb = weights @ colors[i, order]
        acc = weights.sum(-1, keepdim=True)
        depth = (weights @ depths[i, order][:, None]) / acc.clamp_min(1e-10)
        images.append(torch.cat([rgb, depth, acc], -1).reshape(height, width, 5))
    out = torch.stack(images).reshape(lead + (height, width, 5))
    return out[..., :3], out[..., 3:4], out[..., 4:5]
