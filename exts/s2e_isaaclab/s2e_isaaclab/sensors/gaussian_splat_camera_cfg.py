"""Configuration of the Gaussian-splat camera (see gaussian_splat_camera.py)."""

from __future__ import annotations

from dataclasses import MISSING

from isaaclab.sensors import SensorBaseCfg
from isaaclab.utils import configclass

from .gaussian_splat_camera import GaussianSplatCamera


@configclass
class GaussianSplatCameraCfg(SensorBaseCfg):
    """A pinhole camera rendering the env's Gaussian-splat scene, mounted on a body of each env."""

    class_type: type = GaussianSplatCamera
    prim_path: str = MISSING
    """The body the camera is mounted on, e.g. '{ENV_REGEX_NS}/Robot/base'."""
    offset_pos: tuple[float, float, float] = (0.3, 0.0, 0.1)
    """Camera position in the body frame (m)."""
    pitch_deg: float = 10.0
    """Downward tilt of the optical axis from the body's +x (degrees)."""
    yaw_deg: float = 0.0
    width: int = 64
    height: int = 64
    hfov_deg: float = 90.0
    history: int = 4
    """Frames kept per env (the policy's context); newest last."""
    data_types: tuple[str, ...] = ("rgb", "depth")
    """Which frame histories to keep ('rgb', 'depth'); a dropped one is None in the data."""
    backend: str = "auto"
    """'auto' (gsplat on CUDA, else our CPU rasterizer), 'cpu', 'gsplat' or 'reference'."""
    cull: bool = True
    """CPU rasterizer: skip the Gaussians outside each camera's frustum (s2e.rendering.culling); the images are
    the same either way, only the cost changes. gsplat culls on the GPU by itself."""
    near_plane: float = 0.25
    """Gaussians whose centres are closer than this are skipped (m). Splats just below a low camera
    otherwise project to screen-filling veils (the clamped EWA Jacobian of 3DGS)."""
    antialiased: bool = True
    """gsplat's anti-aliased mode: sub-pixel Gaussians fade instead of bloating into haze at low resolution."""
    appearance: str = "urban"
    """Appearance family (s2e.urban.families): the procedural blocks' palettes and lighting, the sky and ground
    plane behind the splats, haze. Training tasks take only the training families; NavBench-GS sets its split's."""
    actors_prim_path: str | None = "{ENV_REGEX_NS}/Pedestrian_.*"
    """Bodies drawn as walking people (matched against the physics bodies); None for none."""
    gaussian_seed: int = 0
    """Seed of the procedural textures and the people's looks."""
    max_depth: float = 50.0
    """Depth is clipped to this (m); sky pixels read max_depth."""
