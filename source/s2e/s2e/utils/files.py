"""Atomic writes: a reader (or a crash) never sees half a results file."""

from __future__ import annotations

import json
import os
from pathlib import Path


def write_json_atomic(path: str | Path, data) -> Path:
    """Write `data` as indented JSON to a temporary file beside `path`, then rename it into place."""
    return write_text_atomic(path, json.dumps(data, indent=2))


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` to a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return path
