"""Pinhole cameras for the renderers: intrinsics from a field of view, view matrices from body poses.

gsplat's camera convention is OpenCV (x right, y down, z forward) with world-to-camera view
matrices; robots are x forward, y left, z up. A camera mounted on a body looks along the body's +x,
tilted down by `pitch` (rad).
"""

from __future__ import annotations

import math

import torch

from .transforms import quat_to_rotmat

# Camera axes (OpenCV) expressed in a robot body frame (x fwd, y left, z up), as columns.
CAM_IN_BODY = torch.tensor([[0.0, 0.0, 1.0], [-1.0, 0.0, 0.0], [0.0, -1.0, 0.0]])


def intrinsics_from_fov(width: int, height: int, hfov_deg: float, device=None) -> torch.Tensor:
    """K [3, 3] with square pixels, the principal point at the image centre."""
    if not 0.0 < hfov_deg < 180.0:
        raise ValueError(f"horizontal field of view must be in (0, 180) degrees, got {hfov_deg}")
    f = 0.5 * width / math.tan(math.radians(hfov_deg) / 2)
    return torch.tensor([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]], device=device)


def rotmat_from_quat_xyzw(q: torch.Tensor) -> torch.Tensor:
    """[..., 4] xyzw (Isaac Lab's order) -> [..., 3, 3]."""
    return quat_to_rotmat(q[..., [3, 0, 1, 2]])


def mount_rotation(pitch: float, yaw: float = 0.0) -> torch.Tensor:
    """Camera-to-body rotation [3, 3] of a camera yawed by `yaw` and tilted down by `pitch` (rad)."""
    cp, sp, cy, sy = math.cos(pitch), math.sin(pitch), math.cos(yaw), math.sin(yaw)
    ry = torch.tensor([[cp, 0.0, sp], [0.0, 1.0, 0.0], [-sp, 0.0, cp]])  # about +y: x -> (cos, 0, -sin)
    rz = torch.tensor([[cy, -sy, 0.0], [sy, cy, 0.0], [0.0, 0.0, 1.0]])
    return rz @ ry @ CAM_IN_BODY


def viewmats_from_body(body_pos: torch.Tensor, body_rot: torch.Tensor, offset_pos: torch.Tensor,
                       mount_rot: torch.Tensor) -> torch.Tensor:
    """World-to-camera [..., 4, 4] for cameras at `offset_pos` (body frame) on bodies at (pos, rot [..., 3, 3])."""
    r_wc = body_rot @ mount_rot.to(body_rot)
    p_wc = body_pos + (body_rot @ offset_pos.to(body_rot)[:, None])[..., 0]
    view = torch.zeros(body_pos.shape[:-1] + (4, 4), dtype=body_pos.dtype, device=body_pos.device)
    r_cw = r_wc.transpose(-1, -2)
    view[..., :3, :3] = r_cw
    view[..., :3, 3] = -(r_cw @ p_wc[..., None])[..., 0]
    view[..., 3, 3] = 1.0
    return view


def look_at(eye, target, up=(0.0, 0.0, 1.0), dtype=torch.float32) -> torch.Tensor:
    """World-to-camera [4, 4] of a camera at `eye` looking at `target` (z-up world)."""
    eye, target, up = (torch.as_tensor(v, dtype=torch.float64) for v in (eye, target, up))
    fwd = torch.nn.functional.normalize(target - eye, dim=0)
    right = torch.nn.functional.normalize(torch.linalg.cross(fwd, up), dim=0)
    down = torch.linalg.cross(fwd, right)
    r_cw = torch.stack([right, down, fwd])
    view = torch.eye(4, dtype=torch.float64)
    view[:3, :3] = r_cw
    view[:3, 3] = -r_cw @ eye
    return view.to(dtype)
