"""EWA projection of 3D Gaussians to the image plane in plain torch, with gsplat's conventions.

This is the reference the CPU kernels are tested against, and the first half of the exact
per-pixel reference renderer. Cameras follow OpenCV (x right, y down, z forward); viewmats are
world-to-camera; pixel centres sit at +0.5.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .gaussians import GaussianScene
from .sh import sh_to_rgb
from .transforms import quat_to_rotmat

ALPHA_THRESHOLD = 1.0 / 255.0
MAX_ALPHA = 0.999
MIN_TRANSMITTANCE = 1e-4
RADIUS_SIGMAS = 3.33


@dataclass
class Projected:
    """Per camera and Gaussian ([..., C, N, ...]) image-space parameters; radii 0 mark culled ones."""

    means2d: torch.Tensor
    conics: torch.Tensor
    depths: torch.Tensor
    radii: torch.Tensor
    colors: torch.Tensor
    opacities: torch.Tensor


def covariances(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """Sigma = R S S^T R^T, [..., 3, 3]."""
    m = quat_to_rotmat(quats) * scales[..., None, :]
    return m @ m.transpose(-1, -2)


def camera_centers(viewmats: torch.Tensor) -> torch.Tensor:
    """World positions [..., C, 3] of cameras with world-to-camera matrices [..., C, 4, 4]."""
    rot, t = viewmats[..., :3, :3], viewmats[..., :3, 3]
    return -(rot.transpose(-1, -2) @ t[..., None])[..., 0]


def project(scene: GaussianScene, viewmats: torch.Tensor, Ks: torch.Tensor, width: int, height: int,
            near_plane: float = 0.01, far_plane: float = 1e10, eps2d: float = 0.3,
            antialiased: bool = False) -> Projected:
    """Project every Gaussian into every camera (scene batch dims must match the cameras').

    `antialiased` scales opacities by sqrt(det(cov2d) / det(cov2d + eps2d)), gsplat's 'antialiased' mode.
    """
    rot, t = viewmats[..., :3, :3], viewmats[..., :3, 3]
    means_c = torch.einsum("...cij,...nj->...cni", rot, scene.means) + t[..., None, :]
    cov_c = torch.einsum("...cij,...njk,...clk->...cnil", rot, covariances(scene.quats, scene.scales), rot)
    x, y, z = means_c.unbind(-1)
    fx, fy = Ks[..., 0, 0, None], Ks[..., 1, 1, None]
    cx, cy = Ks[..., 0, 2, None], Ks[..., 1, 2, None]
    tan_x, tan_y = 0.5 * width / fx, 0.5 * height / fy
    # The Jacobian is evaluated at a point clamped to 1.3x the field of view (as gsplat and 3DGS).
    tx = z * torch.clamp(x / z, min=-(cx / fx + 0.3 * tan_x), max=(width - cx) / fx + 0.3 * tan_x)
    ty = z * torch.clamp(y / z, min=-(cy / fy + 0.3 * tan_y), max=(height - cy) / fy + 0.3 * tan_y)
    zero = torch.zeros_like(z)
    jac = torch.stack([fx / z, zero, -fx * tx / z**2, zero, fy / z, -fy * ty / z**2], -1).reshape(z.shape + (2, 3))
    cov2d = jac @ cov_c @ jac.transpose(-1, -2)
    a, b, d = cov2d[..., 0, 0] + eps2d, cov2d[..., 0, 1], cov2d[..., 1, 1] + eps2d
    det = a * d - b * b
    det_orig = (a - eps2d) * (d - eps2d) - b * b
    conics = torch.stack([d / det, -b / det, a / det], -1)
    means2d = torch.stack([fx * x / z + cx, fy * y / z + cy], -1)
    opac = scene.opacities[..., None, :].expand_as(z)
    if antialiased:
        opac = opac * torch.sqrt(torch.clamp_min(det_orig / det, 0.0))
    # Opacity-aware extent (gsplat 1.5): beyond it alpha < 1/255 everywhere.
    extend = torch.sqrt(2 * torch.log(torch.clamp_min(opac / ALPHA_THRESHOLD, 1.0))).clamp(max=RADIUS_SIGMAS)
    rx = torch.ceil(extend * torch.sqrt(a.clamp_min(0)))
    ry = torch.ceil(extend * torch.sqrt(d.clamp_min(0)))
    valid = (z >= near_plane) & (z <= far_plane) & (det > 0) & (opac >= ALPHA_THRESHOLD)
    valid &= (means2d[..., 0] + rx > 0) & (means2d[..., 0] - rx < width)
    valid &= (means2d[..., 1] + ry > 0) & (means2d[..., 1] - ry < height)
    radii = torch.where(valid[..., None], torch.stack([rx, ry], -1), 0).int()
    dirs = scene.means[..., None, :, :] - camera_centers(viewmats)[..., :, None, :]
    sh = scene.sh[..., None, :, :, :].expand(dirs.shape[:-1] + scene.sh.shape[-2:])
    colors = sh_to_rgb(sh, dirs)
    return Projected(means2d, conics, z, radii, colors, opac)
