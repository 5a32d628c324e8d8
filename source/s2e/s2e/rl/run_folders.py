"""Where train_ram.py's runs live and which checkpoint "the latest" means.

A run is a folder `<log_root>/<date_time>[_<run_name>]` holding `model_<iteration>.pt` files. The
latest run is the newest folder (by name, i.e. by start time) that holds a checkpoint matching the
pattern: a run that died before its first checkpoint (kill, out of memory) is skipped, not picked
and then found empty. Patterns are regexes matched at the start of the name, as Isaac Lab's
`get_checkpoint_path` does; checkpoints sort by their numbers (model_10 after model_9).
`find_run_checkpoint` is what every script's `--load_run` / `--load_checkpoint` mean: a path to an
existing run folder, else a regex of run folder names under the experiment's log folder.
"""

from __future__ import annotations

import re
from pathlib import Path

RUN_CHECKPOINT_PATTERN = r"model_\d+\.pt$"
"""The runner's model_<iteration>.pt, anchored so a partial ".model_3.pt.tmp" (or any other suffix) never matches."""


class RunNotFoundError(ValueError):
    """No run folder under the log root holds a checkpoint matching the patterns (message says which)."""


def _natural_key(name: str) -> list:
    return [int(token) if token.isdigit() else token for token in re.split(r"(\d+)", name)]


def run_checkpoints(run_dir: str | Path, checkpoint_pattern: str = RUN_CHECKPOINT_PATTERN) -> list[Path]:
    """The checkpoints of one run matching the pattern, oldest first."""
    run_dir = Path(run_dir)
    names = ([p.name for p in run_dir.iterdir() if p.is_file() and re.match(checkpoint_pattern, p.name)]
             if run_dir.is_dir() else [])
    return [run_dir / name for name in sorted(names, key=_natural_key)]


def find_run_checkpoint(log_root: str | Path, run_pattern: str = ".*",
                        checkpoint_pattern: str = RUN_CHECKPOINT_PATTERN) -> Path:
    """The latest matching checkpoint of a run; RunNotFoundError if none. `run_pattern` is a path to an existing run
    folder (that run), else a regex of run folder names under `log_root` (the newest matching run with a checkpoint)."""
    if Path(run_pattern).is_dir():
        checkpoints = run_checkpoints(run_pattern, checkpoint_pattern)
        if not checkpoints:
            raise RunNotFoundError(f"no checkpoint matching {checkpoint_pattern!r} in {run_pattern}")
        return checkpoints[-1]
    log_root = Path(log_root)
    runs = (sorted(p for p in log_root.iterdir() if p.is_dir() and re.match(run_pattern, p.name)) if log_root.is_dir()
            else [])
    if not runs:
        inside = (sorted(p.name for p in log_root.iterdir() if p.is_dir() and re.search(run_pattern, p.name))
                  if log_root.is_dir() else [])
        hint = (f" (the regex is matched from the start of the folder name, as in Isaac Lab: '.*{run_pattern}' "
                f"matches {inside[-1]})" if inside else "")
        raise RunNotFoundError(f"no run folder matching {run_pattern!r} under {log_root}{hint}")
    for run in reversed(runs):
        checkpoints = run_checkpoints(run, checkpoint_pattern)
        if checkpoints:
            return checkpoints[-1]
    raise RunNotFoundError(f"none of the {len(runs)} run folder(s) matching {run_pattern!r} under {log_root} holds a "
                           f"checkpoint matching {checkpoint_pattern!r}")


def check_run_name(name: str | None) -> None:
    """A run name is a folder-name suffix: ValueError if it would make a nested or hidden folder."""
    if name is None:
        return
    if not name or "/" in name or "\\" in name or name in (".", "..") or "\0" in name:
        raise ValueError(f"run name {name!r} is used in a folder name: use letters, digits, '-', '_' or '.', no path "
                         "separator")
