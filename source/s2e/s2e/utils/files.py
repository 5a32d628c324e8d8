"""Atomic writes: a reader (or a crash) never sees half a file, and a failed write leaves nothing behind."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` to write the new file to: renamed onto `path` when the block ends
    without an error, removed when it raises, so `path` always holds the old file or the whole new one.

    The temporary name `.<name>.tmp` is hidden, so a listing or a pattern such as `model_*.pt` never takes
    a partial file (what a kill -9 in the middle of a write leaves) for a finished one. Writers that pick
    the format from the suffix must be told the format.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_json_atomic(path: str | Path, data) -> Path:
    """Write `data` as indented JSON through `atomic_path`."""
    return write_text_atomic(path, json.dumps(data, indent=2))


def write_text_atomic(path: str | Path, text: str) -> Path:
    """Write `text` through `atomic_path`."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def write_bytes_atomic(path: str | Path, data: bytes) -> Path:
    """Write `data` through `atomic_path`."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)
