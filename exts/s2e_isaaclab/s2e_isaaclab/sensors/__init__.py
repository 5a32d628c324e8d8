"""Sensors of the S2E tasks: the Gaussian-splat camera."""

from .gaussian_splat_camera import GaussianSplatCamera, GaussianSplatCameraData
from .gaussian_splat_camera_cfg import GaussianSplatCameraCfg

__all__ = ["GaussianSplatCamera", "GaussianSplatCameraCfg", "GaussianSplatCameraData"]
