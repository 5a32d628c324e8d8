"""Gaussian-splat scenes and their rasterization (plain PyTorch + Numba; gsplat on CUDA)."""

from .gaussians import GaussianScene, rgb_to_sh0
from .ply import PlyError, load_ply, save_ply
from .render import RenderOutput, render
from .threading_layer import follow_omp_num_threads, prefer_openmp

prefer_openmp()  # before any kernel launches (Numba fixes its threading layer and pool size at the first)
follow_omp_num_threads()

__all__ = ["GaussianScene", "PlyError", "RenderOutput", "load_ply", "render", "rgb_to_sh0", "save_ply"]
