"""`render`: one batched entry point over the rasterizer backends (gsplat on CUDA, ours on CPU)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .backends import gsplat_available, render_cpu, render_gsplat, render_reference
from .culling import FrustumCuller
from .gaussians import GaussianScene

BACKENDS = ("auto", "cpu", "gsplat", "reference")


@dataclass
class RenderOutput:
    rgb: torch.Tensor
    """[..., C, H, W, 3] in [0, 1] (background blended where alpha < 1)."""
    depth: torch.Tensor
    """[..., C, H, W, 1] expected z-depth (sum w_i z_i / sum w_i), 0 where nothing was hit."""
    alpha: torch.Tensor
    """[..., C, H, W, 1] accumulated opacity."""


def resolve_backend(backend: str, device: torch.device | str) -> str:
    """'auto' -> gsplat for CUDA tensors when gsplat is importable, else our CPU rasterizer."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown render backend '{backend}': choose one of {', '.join(BACKENDS)}")
    if backend == "auto":
        return "gsplat" if torch.device(device).type == "cuda" and gsplat_available() else "cpu"
    if backend == "gsplat" and not gsplat_available():
        raise RuntimeError("render backend 'gsplat' needs a CUDA GPU and the gsplat package; use backend='cpu'")
    return backend


def render(scene: GaussianScene, viewmats: torch.Tensor, Ks: torch.Tensor, width: int, height: int, *,
           backend: str = "auto", background: torch.Tensor | None = None, near_plane: float = 0.01,
           far_plane: float = 1e10, eps2d: float = 0.3, antialiased: bool = False,
           culler: FrustumCuller | None = None) -> RenderOutput:
    """Render a scene (or a batch of scenes [..., N]) from cameras viewmats [..., C, 4, 4], Ks [..., C, 3, 3].

    Cameras are OpenCV-style (x right, y down, z forward), viewmats world-to-camera. `background` [3]
    fills what the Gaussians leave transparent (the sky). `antialiased` is gsplat's anti-aliased mode
    (opacity compensation for the eps2d blur), better when rendering far below a scene's native scale.
    `culler` (s2e.rendering.culling, built on `scene`) lets the CPU backend skip what cannot reach an
    image (same result); gsplat culls on the GPU itself and the reference backend renders everything.
    """
    name = resolve_backend(backend, scene.device)
    kwargs = dict(near_plane=near_plane, far_plane=far_plane, eps2d=eps2d, antialiased=antialiased)
    if name == "gsplat":
        out = render_gsplat(scene, viewmats, Ks, width, height, **kwargs)
    elif name == "cpu":
        out = render_cpu(scene, viewmats, Ks, width, height, culler=culler, **kwargs)
    else:
        out = render_reference(scene, viewmats, Ks, width, height, **kwargs)
    rgb, depth_sum, alpha = out[..., :3], out[..., 3:4], out[..., 4:5]
    if background is not None:
        rgb = rgb + (1 - alpha) * background.to(rgb)
    return RenderOutput(rgb=rgb, depth=depth_sum / alpha.clamp_min(1e-10), alpha=alpha)
