"""Saved evaluation results: the digest that ties a result to its files, and reading a result back.

A result is a JSON object whose "spec" says what it depends on (files by digest, settings); a result is
reused only for exactly that spec, so a changed model, episode file or setting is evaluated again.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path


def file_digest(path: str | Path | None) -> str | None:
    """The first 16 hex digits of the file's sha256 (None for no file): how a spec records a model or episode file."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16] if path else None


def load_cached_result(path: Path, spec: dict) -> dict | None:
    """A finished result saved at `path` for exactly this spec, else None (missing, partial or for another spec)."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return saved if isinstance(saved, dict) and saved.get("spec") == spec else None


RECORD_COLUMNS = ("episode", "success", "route_completion", "collisions", "route_length", "path_length", "arrival_step")
"""The per-episode records a NavBench-GS task result must hold for its summary and verdicts."""


def read_task_result(path: Path, default_name: str) -> tuple[str, dict]:
    """(method name, saved result) of a NavBench-GS task result whose per-episode records are complete; ValueError
    saying what is wrong with the file."""
    try:
        saved = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ValueError(f"{type(err).__name__}: {str(err)[:120]}") from None
    records = saved.get("per_episode") if isinstance(saved, dict) else None
    missing = [k for k in RECORD_COLUMNS if not isinstance(records, dict) or not isinstance(records.get(k), list)]
    if missing or not isinstance(saved.get("step_dt"), (int, float)):
        raise ValueError(f"no per-episode {', '.join(missing) or 'step_dt'}")
    lengths = {len(records[k]) for k in RECORD_COLUMNS}
    if len(lengths) != 1 or not lengths.pop():
        raise ValueError("per-episode records of different lengths, or none")
    return str(saved.get("name", default_name)), saved
