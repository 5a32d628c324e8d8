"""antimatter15 `.splat` files (the web viewers' format): 32-byte records, converted on load.

Record: position 3 x float32, scale 3 x float32 (linear, not log), RGBA 4 x uint8 (colour and
opacity in [0, 255]), rotation 4 x uint8 quaternion w x y z mapped as (q - 128) / 128. Little endian,
no header. The colour becomes the degree-0 SH coefficient (RGB = 0.5 + C0 * f_dc).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from .gaussians import GaussianScene, rgb_to_sh0
from .ply import PlyError

RECORD = np.dtype([("pos", "<f4", 3), ("scale", "<f4", 3), ("rgba", "u1", 4), ("rot", "u1", 4)])


def load_splat(path: str | Path) -> GaussianScene:
    """Read a .splat file; a `PlyError` line names the file when its size is no multiple of 32 bytes."""
    path = Path(path)
    raw = path.read_bytes()
    if len(raw) == 0 or len(raw) % RECORD.itemsize:
        raise PlyError(f"{path}: {len(raw)} bytes is not a whole number of 32-byte .splat records (empty or truncated)")
    rec = np.frombuffer(raw, dtype=RECORD)
    quats = torch.as_tensor((rec["rot"].astype(np.float32) - 128.0) / 128.0)
    norm = quats.norm(dim=-1, keepdim=True)
    quats = torch.where(norm > 1e-8, quats / norm.clamp_min(1e-8), torch.tensor([1.0, 0.0, 0.0, 0.0]))
    rgba = torch.as_tensor(rec["rgba"].astype(np.float32) / 255.0)
    return GaussianScene(
        means=torch.as_tensor(rec["pos"].copy()),
        quats=quats,
        scales=torch.as_tensor(rec["scale"].copy()),
        opacities=rgba[:, 3].contiguous(),
        sh=rgb_to_sh0(rgba[:, :3])[:, None, :].contiguous(),
    )


def save_splat(scene: GaussianScene, path: str | Path) -> Path:
    """Write an unbatched scene as .splat (degree-0 colour only; colours and opacities clipped to [0, 1])."""
    from .gaussians import SH_C0

    rec = np.zeros(scene.num_gaussians, dtype=RECORD)
    rec["pos"] = scene.means.detach().cpu().numpy()
    rec["scale"] = scene.scales.detach().cpu().numpy()
    rgb = (0.5 + SH_C0 * scene.sh[:, 0]).clamp(0, 1)
    rgba = torch.cat([rgb, scene.opacities.clamp(0, 1)[:, None]], dim=1)
    rec["rgba"] = np.round(rgba.detach().cpu().numpy() * 255).astype(np.uint8)
    q = torch.nn.functional.normalize(scene.quats, dim=-1).detach().cpu().numpy()
    rec["rot"] = np.clip(np.round(q * 128 + 128), 0, 255).astype(np.uint8)
    path = Path(path)
    path.write_bytes(rec.tobytes())
    return path
