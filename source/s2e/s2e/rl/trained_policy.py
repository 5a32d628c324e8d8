"""Load a train_ram.py checkpoint as a plain (images, goal) -> AGDM mixture module, without the runner.

`load_policy_model` takes either kind of policy file, an AGDM checkpoint or a train_ram.py checkpoint,
so that evaluations and comparisons accept both.

Evaluation needs no PPO, critic or optimizer: the AGDM it was fine-tuned from (the run's
params/agdm.pt, else the path recorded in the checkpoint) wrapped for the recorded strategy, with
the actor's weights loaded. Errors are RunnerCheckpointError with the file and the fix.
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from s2e.models.checkpoint import CheckpointError, load_checkpoint
from s2e.rl.policy import build_policy_model
from s2e.rl.runner import RunnerCheckpointError


def load_trained_model(path: str | Path, map_location: str = "cpu") -> tuple[nn.Module, dict]:
    path = Path(path)
    if not path.is_file():
        raise RunnerCheckpointError(f"no training checkpoint at {path}: pass a model_<iteration>.pt written by train_ram.py")
    try:
        saved = torch.load(path, map_location=map_location, weights_only=False)
    except Exception as err:
        raise RunnerCheckpointError(f"{path} is not a readable training checkpoint ({str(err).splitlines()[0]}): "
                                    "it is damaged; pick an earlier model_<iteration>.pt") from None
    if not isinstance(saved, dict) or "actor_state_dict" not in saved:
        raise RunnerCheckpointError(f"{path} is not an S2E training checkpoint (no actor_state_dict): pass a model_<iteration>.pt written by train_ram.py")
    infos = saved.get("infos") or {}
    agdm_file = path.parent / "params" / "agdm.pt"
    agdm_path = agdm_file if agdm_file.is_file() else infos.get("agdm_checkpoint", "")
    try:
        agdm, _ = load_checkpoint(agdm_path)
    except CheckpointError as err:
        raise RunnerCheckpointError(f"{path}: the AGDM checkpoint it was fine-tuned from: {err}") from None
    strategy = infos.get("strategy", "ram")
    model = build_policy_model(agdm, strategy)
    prefix = "model."
    weights = {k[len(prefix):]: v for k, v in saved["actor_state_dict"].items() if k.startswith(prefix)}
    try:
        model.load_state_dict(weights)
    except RuntimeError as err:
        raise RunnerCheckpointError(f"{path} does not match its AGDM {agdm_path} ({str(err).splitlines()[0][:200]}): "
                                    "was params/agdm.pt replaced?") from None
    model.eval().requires_grad_(False)
    return model.to(map_location), {"strategy": strategy, "iteration": saved.get("iter"), "agdm_checkpoint": str(agdm_path)}


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
    return model.to(map_location).eval().requires_grad_(False), {"strategy": None, "iteration": None, "agdm_checkpoint": str(path)}
