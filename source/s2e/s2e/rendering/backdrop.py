"""What a camera sees where the Gaussians leave it transparent: the sky above the horizon, a ground plane below.

A scene of splats has gaps (the end of a street, the space between props); an image with holes of background
colour is not what a robot's camera sees, so a flat ground plane at z = 0 fills the part of each ray below the
horizon and a sky colour the rest, with their depths (the plane's distance, else `max_depth`).
"""

from __future__ import annotations

import torch


def fill_backdrop(rgb: torch.Tensor, alpha: torch.Tensor, depth: torch.Tensor, viewmats: torch.Tensor, ks: torch.Tensor,
                  sky: torch.Tensor, ground: torch.Tensor, max_depth: float) -> tuple[torch.Tensor, torch.Tensor]:
    """rgb [B, H, W, 3] with the backdrop blended in where alpha < 1, and depth [B, H, W, 1] (the splats' expected depth
    where they are mostly opaque, else the backdrop's), clipped to max_depth. viewmats [B, 4, 4] world-to-camera
    (OpenCV axes), ks [B, 3, 3]; alpha and depth [B, H, W, 1]."""
    height, width = rgb.shape[1:3]
    device = rgb.device
    ys, xs = torch.meshgrid(torch.arange(height, device=device), torch.arange(width, device=device), indexing="ij")
    pix = torch.stack([xs + 0.5, ys + 0.5, torch.ones_like(xs, dtype=torch.float)], -1).float()  # [H, W, 3]
    rays_cam = pix @ torch.linalg.inv(ks).transpose(-1, -2)[:, None]  # [B, H, W, 3], z = 1
    rays_world = rays_cam @ viewmats[:, None, :3, :3]  # R_cw^T d: world directions
    cam_height = torch.linalg.inv(viewmats)[:, 2, 3].clamp_min(0.05)
    t_ground = cam_height[:, None, None] / (-rays_world[..., 2]).clamp_min(1e-6)
    below = (rays_world[..., 2] < -1e-3) & (t_ground < max_depth)
    background = torch.where(below[..., None], ground.to(rgb), sky.to(rgb))
    rgb = rgb + (1 - alpha) * background
    plane_depth = torch.where(below, t_ground, max_depth)[..., None]
    return rgb, torch.where(alpha > 0.5, depth, plane_depth).clamp(0, max_depth)
