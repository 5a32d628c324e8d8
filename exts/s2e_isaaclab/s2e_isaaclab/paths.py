"""Where the extension finds the repository's local assets (nothing is fetched at run time)."""

from __future__ import annotations

import os
from pathlib import Path

ASSETS_DIR = Path(os.environ.get("S2E_ASSETS_DIR", Path(__file__).resolve().parents[3] / "assets"))

BUNDLED_CHECKPOINT = "agdm/agdm_wheeled.pt"
"""The bundled AGDM checkpoint (under ASSETS_DIR): what every script fine-tunes or evaluates by default."""


def asset_path(relative: str) -> str:
    """Absolute path of a shipped asset; a clear error if it is missing."""
    path = ASSETS_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"asset {path} is missing: restore it from the repository (git checkout -- assets) "
            f"or point S2E_ASSETS_DIR at a folder that holds {relative}"
        )
    return str(path)


def default_device() -> str:
    """The machine's simulation and learning device: the first GPU if there is one, else the CPU.

    Isaac Lab defaults both the sim and the rsl-rl agent to cuda:0, which fails on a CPU-only machine;
    the S2E configs start from this instead so that `agent.device` follows the sim device.
    """
    import torch

    return "cuda:0" if torch.cuda.is_available() else "cpu"
