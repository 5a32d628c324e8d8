"""Load a train_ram.py checkpoint as a plain (images, goal) -> AGDM mixture module, without the runner.

`load_policy_model` takes either kind of policy file, an AGDM checkpoint or a train_ram.py checkpoint,
so that evaluations and comparisons accept both. `ship_policy` writes a fine-tuned policy for users:
a train_ram.py checkpoint slimmed to the actor's weights (no critic, optimizer or rollout state) that
names its AGDM checkpoint relative to its own folder (it ships beside it), with a JSON sidecar.

Evaluation needs no PPO, critic or optimizer: the AGDM it was fine-tuned from (the run's
params/agdm.pt, else the path recorded in the checkpoint) wrapped for the recorded strategy, with
the actor's weights loaded. Errors are RunnerCheckpointError with the file and the fix.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..models.checkpoint import CheckpointError, load_checkpoint
from ..utils.files import atomic_path, write_text_atomic
from .policy import build_policy_model
from .runner import RunnerCheckpointError


def load_trained_model(path: str | Path, map_location: str = "cpu") -> tuple[nn.Module, dict]:
    path = Path(path)
    if not path.is_file():
        raise RunnerCheckpointError(f"no training checkpoint at {path}: pass a model_<iteration>.pt written by "
                                    "train_ram.py")
    try:
        saved = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:
        raise RunnerCheckpointError(f"{path} is not a readable training checkpoint ({str(err).splitlines()[0]}): "
                                    "it is damaged; pick an earlier model_<iteration>.pt") from None
    if not isinstance(saved, dict) or "actor_state_dict" not in saved:
        raise RunnerCheckpointError(f"{path} is not an S2E training checkpoint (no actor_state_dict): pass a "
                                    "model_<iteration>.pt written by train_ram.py")
    infos = saved.get("infos") or {}
    agdm_path = _agdm_of(path, infos)
    try:
        agdm, _ = load_checkpoint(agdm_path)
    except CheckpointError as err:
        raise RunnerCheckpointError(f"{path}: the AGDM checkpoint it was fine-tuned from: {err}") from None
    strategy, rank_only = infos.get("strategy", "ram"), bool(infos.get("rank_only", False))
    model = build_policy_model(agdm, strategy, rank_only)
    prefix = "model."
    weights = {k[len(prefix):]: v for k, v in saved["actor_state_dict"].items() if k.startswith(prefix)}
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        raise RunnerCheckpointError(f"{path} does not match its AGDM {agdm_path} ({str(err).splitlines()[0][:200]}): "
                                    "was params/agdm.pt replaced?") from None
    expected_sha = infos.get("agdm_sha256")
    if expected_sha is not None:
        import hashlib

        if hashlib.sha256(Path(agdm_path).read_bytes()).hexdigest() != expected_sha:
            raise RunnerCheckpointError(f"{path} was fine-tuned from another {agdm_path} (sha256 differs): "
                                        "put the AGDM checkpoint it ships with beside it")
    model.eval().requires_grad_(False)
    return model.to(map_location), {"strategy": strategy, "rank_only": rank_only, "iteration": saved.get("iter"),
                                    "agdm_checkpoint": str(agdm_path)}


def _agdm_of(path: Path, infos: dict) -> Path:
    """The AGDM checkpoint a training checkpoint was fine-tuned from: the run's params/agdm.pt, else the recorded
    path (a relative one is relative to the checkpoint's folder, as a shipped policy records it)."""
    beside = path.parent / "params" / "agdm.pt"
    if beside.is_file():
        return beside
    recorded = Path(infos.get("agdm_checkpoint", ""))
    return recorded if recorded.is_absolute() else path.parent / recorded


def ship_policy(model_path: str | Path, out_path: str | Path, agdm_path: str | Path, sidecar: dict) -> dict:
    """Write the fine-tuned policy of `model_path` to `out_path` (which must sit in the folder of `agdm_path`, the
    AGDM checkpoint it was fine-tuned from, byte-identical to the run's) and `out_path`.json; returns the sidecar."""
    import hashlib
    import json

    model_path, out_path, agdm_path = Path(model_path), Path(out_path), Path(agdm_path)
    if out_path.parent.resolve() != agdm_path.parent.resolve():
        raise RunnerCheckpointError(f"{out_path} must be written beside its AGDM checkpoint {agdm_path} (it names it "
                                    "by file name)")
    model, info = load_trained_model(model_path)
    digest = lambda p: hashlib.sha256(Path(p).read_bytes()).hexdigest()  # noqa: E731
    if digest(info["agdm_checkpoint"]) != digest(agdm_path):
        raise RunnerCheckpointError(f"{model_path} was fine-tuned from {info['agdm_checkpoint']}, which differs from "
                                    f"{agdm_path}")
    saved = {"actor_state_dict": {f"model.{k}": v for k, v in model.state_dict().items()}, "iter": info["iteration"],
             "infos": {"strategy": info["strategy"], "rank_only": info["rank_only"], "agdm_checkpoint": agdm_path.name,
                       "agdm_sha256": digest(agdm_path)}}
    with atomic_path(out_path) as tmp:
        torch.save(saved, tmp)
    meta = {**sidecar, "policy": out_path.name, "sha256": digest(out_path), "bytes": out_path.stat().st_size,
            "agdm_checkpoint": agdm_path.name, "agdm_sha256": digest(agdm_path), "strategy": info["strategy"],
            "iteration": info["iteration"], "trained_checkpoint": model_path.name}
    side = out_path.with_suffix(".json")
    write_text_atomic(side, json.dumps(meta, indent=2) + "\n")
    return meta


def is_training_checkpoint(path: str | Path) -> bool:
    """True when `path` holds a train_ram.py checkpoint (an rsl-rl dict with actor weights), not an AGDM checkpoint."""
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception:
        return False
    return isinstance(saved, dict) and "actor_state_dict" in saved


def load_policy_model(path: str | Path, map_location: str = "cpu") -> tuple[nn.Module, dict]:
    """An AGDM checkpoint or a train_ram.py checkpoint as an (images, goal) -> AGDMOutput module, eval mode.
    Raises CheckpointError / RunnerCheckpointError with the file and the fix."""
    if is_training_checkpoint(path):
        return load_trained_model(path, map_location)
    model, meta = load_checkpoint(path)
    return model.to(map_location).eval().requires_grad_(False), {"strategy": None, "rank_only": False,
                                                                 "iteration": None, "agdm_checkpoint": str(path)}
