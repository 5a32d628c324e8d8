"""Rigid transforms of Gaussians: quaternion algebra (w x y z) and rotation of SH coefficients.

The one home of quaternion algebra: torch for batched scenes, and at the end NumPy versions
(`yaw_quats`, `quat_mul`, `quat_wxyz_to_matrix`) for the scenes built in NumPy and for bundle
alignments. Isaac Lab's (x, y, z, w) body orientations are converted where they are read
(s2e.rendering.cameras, s2e.urban.geometry).
"""

from __future__ import annotations

import numpy as np
import torch

from .sh import sh_basis


def quat_to_rotmat(quats: torch.Tensor) -> torch.Tensor:
    """[..., 4] wxyz (normalized here) -> [..., 3, 3]."""
    w, x, y, z = torch.nn.functional.normalize(quats, dim=-1).unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(quats.shape[:-1] + (3, 3))


def quat_multiply(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Hamilton product a * b of wxyz quaternions (rotation b first, then a)."""
    aw, ax, ay, az = a.unbind(-1)
    bw, bx, by, bz = b.unbind(-1)
    return torch.stack([
        aw * bw - ax * bx - ay * by - az * bz,
        aw * bx + ax * bw + ay * bz - az * by,
        aw * by - ax * bz + ay * bw + az * bx,
        aw * bz + ax * by - ay * bx + az * bw,
    ], dim=-1)


def quat_from_yaw(yaw: torch.Tensor) -> torch.Tensor:
    """wxyz quaternion of a rotation by `yaw` about +z."""
    half = 0.5 * yaw
    zero = torch.zeros_like(half)
    return torch.stack([torch.cos(half), zero, zero, torch.sin(half)], dim=-1)


def quat_from_axis_angle(axis: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """wxyz quaternion from a unit axis [..., 3] and an angle [...]."""
    half = 0.5 * angle
    return torch.cat([torch.cos(half)[..., None], torch.sin(half)[..., None] * axis], dim=-1)


def quat_from_matrix(rotation: torch.Tensor) -> torch.Tensor:
    """Unit wxyz quaternion of a 3x3 rotation matrix (Shepperd's method, w >= 0)."""
    m = rotation.double()
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    candidates = torch.stack([trace, m[0, 0], m[1, 1], m[2, 2]])
    i = int(torch.argmax(candidates))
    if i == 0:
        w = torch.sqrt(1 + trace) / 2
        q = [w, (m[2, 1] - m[1, 2]) / (4 * w), (m[0, 2] - m[2, 0]) / (4 * w), (m[1, 0] - m[0, 1]) / (4 * w)]
    elif i == 1:
        x = torch.sqrt(1 + m[0, 0] - m[1, 1] - m[2, 2]) / 2
        q = [(m[2, 1] - m[1, 2]) / (4 * x), x, (m[0, 1] + m[1, 0]) / (4 * x), (m[0, 2] + m[2, 0]) / (4 * x)]
    elif i == 2:
        y = torch.sqrt(1 - m[0, 0] + m[1, 1] - m[2, 2]) / 2
        q = [(m[0, 2] - m[2, 0]) / (4 * y), (m[0, 1] + m[1, 0]) / (4 * y), y, (m[1, 2] + m[2, 1]) / (4 * y)]
    else:
        z = torch.sqrt(1 - m[0, 0] - m[1, 1] + m[2, 2]) / 2
        q = [(m[1, 0] - m[0, 1]) / (4 * z), (m[0, 2] + m[2, 0]) / (4 * z), (m[1, 2] + m[2, 1]) / (4 * z), z]
    q = torch.stack(q)
    q = q if q[0] >= 0 else -q
    return q.to(rotation.dtype)


def rotate_sh(sh: torch.Tensor, rotation: torch.Tensor) -> torch.Tensor:
    """SH coefficients [..., K, 3] of the colour field rotated by `rotation` (3x3).

    The rotated field is c'(d) = c(R^T d). Each SH band is closed under rotation, so the band's
    K_l x K_l rotation matrix is solved exactly from the basis at a few sample directions.
    """
    k = sh.shape[-2]
    degree = int(round(k ** 0.5)) - 1
    if degree == 0:
        return sh.clone()
    gen = torch.Generator().manual_seed(0)
    dirs = torch.nn.functional.normalize(torch.randn(64, 3, generator=gen, dtype=torch.float64), dim=-1)
    rot = rotation.to(torch.float64).cpu()
    basis = sh_basis(degree, dirs)  # Y(d)
    basis_rot = sh_basis(degree, dirs @ rot)  # Y(R^T d): rows are (R^T d_i)^T = d_i^T R
    # Y(R^T d) = Y(d) @ M  ->  c'(d) = Y(R^T d) c = Y(d) (M c)
    mix = torch.linalg.lstsq(basis, basis_rot).solution
    mix[mix.abs() < 1e-9] = 0
    return torch.einsum("ij,...jc->...ic", mix.to(sh), sh)


# -- NumPy (w x y z) ------------------------------------------------------------------------------

def yaw_quats(yaw: np.ndarray) -> np.ndarray:
    """[n, 4] wxyz rotations about +z."""
    z = np.zeros_like(yaw)
    return np.stack([np.cos(yaw / 2), z, z, np.sin(yaw / 2)], axis=1)


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton products a * b of [n, 4] wxyz quaternions (rotation b first, then a)."""
    aw, ax, ay, az = a.T
    bw, bx, by, bz = b.T
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], axis=1)


def quat_wxyz_to_matrix(q: np.ndarray) -> np.ndarray:
    """[4] unit wxyz quaternion -> [3, 3] rotation matrix."""
    w, x, y, z = q
    return np.array([
        [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
        [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
        [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
    ])
