"""Where the extension finds the repository's local assets (nothing is fetched at run time)."""

from __future__ import annotations

import os
from pathlib import Path

ASSETS_DIR = Path(os.environ.get("S2E_ASSETS_DIR", Path(__file__).resolve().parents[3] / "assets"))


def asset_path(relative: str) -> str:
    """Absolute path of a shipped asset; a clear error if it is missing."""
    path = ASSETS_DIR / relative
    if not path.is_file():
        raise FileNotFoundError(
            f"asset {path} is missing: restore it from the repository (git checkout -- assets) "
            f"or point S2E_ASSETS_DIR at a folder that holds {relative}"
        )
    return str(path)
