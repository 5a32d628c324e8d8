"""AGDM checkpoint: one torch file that rebuilds the model and says where it came from.

Contents (tensors and plain types only, so loading uses `weights_only=True` and never runs code):
format_version, kind, config (AGDMConfig as a dict), anchors [M, 2], normalization (dict of the
constants the data pipeline used), state_dict, provenance (command, data, git commit, date,
metrics). Every load problem is a `CheckpointError` whose message is one line: file, problem, fix.
"""

from __future__ import annotations

import datetime as _dt
import pickle
import subprocess
import sys
import zipfile
from pathlib import Path

import torch

from ..utils.files import atomic_path
from .agdm import AGDM, AGDMConfig

FORMAT_VERSION = 1
KIND = "agdm"
_REQUIRED = ("format_version", "kind", "config", "anchors", "normalization", "state_dict", "provenance")


class CheckpointError(ValueError):
    """A checkpoint that cannot be loaded; the message names the file, the problem and the fix."""


def _check_plain(value, where: str):
    """Refuse anything weights_only loading would reject, at save time rather than load time."""
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, (str, int)):
                raise TypeError(f"{where}: key {k!r} is a {type(k).__name__}; use str or int keys")
            _check_plain(v, f"{where}[{k!r}]")
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_plain(v, f"{where}[{i}]")
    elif not (value is None or isinstance(value, (bool, int, float, str, torch.Tensor))):
        raise TypeError(f"{where} is a {type(value).__name__}; checkpoints hold only tensors, numbers, strings, lists "
                        "and dicts")


def _git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=5)
        if out.returncode != 0:
            return None
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def save_checkpoint(path: str | Path, model: AGDM, normalization: dict | None = None,
                    provenance: dict | None = None) -> Path:
    """Write the checkpoint atomically (temporary file beside it, then rename).

    `provenance` gets `command`, `git_commit` and `date` filled in when the caller leaves them out.
    """
    path = Path(path)
    prov = {"command": " ".join(sys.argv), "git_commit": _git_commit(),
            "date": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"), **(provenance or {})}
    normalization = dict(normalization or {})
    _check_plain(normalization, "normalization")
    _check_plain(prov, "provenance")
    payload = {
        "format_version": FORMAT_VERSION,
        "kind": KIND,
        "config": model.cfg.to_dict(),
        "anchors": model.anchors.detach().cpu().clone(),
        "normalization": normalization,
        "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
        "provenance": prov,
    }
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _read(path: Path, map_location) -> dict:
    if not path.is_file():
        raise CheckpointError(f"checkpoint {path}: file not found; pass the path of an AGDM checkpoint (.pt) written "
                              "by pretraining")
    if not zipfile.is_zipfile(path):  # torch.save writes a zip archive; anything else is not (or no longer) one
        raise CheckpointError(f"checkpoint {path}: not a torch checkpoint file (no complete zip archive: corrupt, "
                              "truncated or another format): copy it again or re-run pretraining")
    try:
        data = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" in str(exc).lower():  # a real pickle, but of arbitrary objects
            raise CheckpointError(f"checkpoint {path}: holds objects other than tensors and plain types, refused for "
                                  "safety; re-save it with s2e.models.checkpoint.save_checkpoint") from None
        # torch's own message goes on to suggest weights_only=False: never passed on for a file that failed safe loading
        raise CheckpointError(f"checkpoint {path}: not a readable torch checkpoint (its contents do not unpickle); "
                              "the file is corrupt: copy it again or re-run pretraining") from None
    except (RuntimeError, EOFError, OSError, zipfile.BadZipFile, ValueError, KeyError) as exc:
        raise CheckpointError(f"checkpoint {path}: not a readable torch file ({_first_line(exc)}); "
                              "the file is corrupt or truncated: copy it again or re-run pretraining") from None
    if not isinstance(data, dict):
        raise CheckpointError(f"checkpoint {path}: holds a {type(data).__name__}, not a checkpoint dict; "
                              "pass a file written by s2e.models.checkpoint.save_checkpoint")
    return data


def _validate_header(path: Path, data: dict):
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        raise CheckpointError(f"checkpoint {path}: missing key(s) {missing}; it was not written by "
                              "s2e.models.checkpoint.save_checkpoint or is damaged: re-export it")
    if data["kind"] != KIND:
        raise CheckpointError(f"checkpoint {path}: kind is {data['kind']!r}, expected {KIND!r}; pass an AGDM "
                              "(pretraining) checkpoint")
    if data["format_version"] != FORMAT_VERSION:
        raise CheckpointError(f"checkpoint {path}: format_version {data['format_version']!r} is not supported "
                              f"(this s2e reads {FORMAT_VERSION}); use the s2e version that wrote it or re-export it")


def _state_dict_problem(model: AGDM, state: dict) -> str | None:
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    if missing or unexpected:
        parts = []
        if missing:
            parts.append(f"{len(missing)} missing (e.g. {missing[:3]})")
        if unexpected:
            parts.append(f"{len(unexpected)} unexpected (e.g. {unexpected[:3]})")
        return "state_dict keys do not match the config: " + ", ".join(parts)
    for k, v in expected.items():
        if not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape:
            got = list(state[k].shape) if isinstance(state[k], torch.Tensor) else type(state[k]).__name__
            return f"state_dict entry {k!r} has shape {got} but the config builds {list(v.shape)}"
    return None


def load_checkpoint(path: str | Path, map_location="cpu") -> tuple[AGDM, dict]:
    """Rebuild the AGDM (in eval mode) -> (model, meta); meta holds config, normalization, provenance."""
    path = Path(path)
    data = _read(path, map_location)
    _validate_header(path, data)
    try:
        cfg = AGDMConfig.from_dict(dict(data["config"]))
        model = AGDM(cfg, data["anchors"].to("cpu"), pretrained_encoder=False)
    except (KeyError, TypeError, ValueError, ImportError) as exc:
        reason = _first_line(exc).strip("'\"")
        raise CheckpointError(f"checkpoint {path}: bad config ({reason}); "
                              "it was written by a different s2e version: use that version or re-export it") from None
    problem = _state_dict_problem(model, data["state_dict"])
    if problem:
        raise CheckpointError(f"checkpoint {path}: {problem}; the weights and config disagree: re-export the "
                              "checkpoint")
    model.load_state_dict(data["state_dict"])
    if isinstance(map_location, (str, torch.device)):
        model.to(map_location)
    model.eval()
    meta = {k: data[k] for k in ("format_version", "kind", "config", "normalization", "provenance")}
    return model, meta
