"""Which model an evaluation runs, and loading it for inference with one-line errors.

A NavBench-GS method evaluates an AGDM checkpoint (or a shipped fine-tuned policy), a train_ram.py run
(`--load_run` / `--load_checkpoint` as every script reads them: utils/checkpoints under the robot's
experiment folder), or no model at all (the scripted baselines).
"""

from __future__ import annotations

from pathlib import Path

from s2e.rl.run_folders import RUN_CHECKPOINT_PATTERN

from ..utils.checkpoints import agdm_checkpoint, run_checkpoint, run_log_root
from ..utils.cli import UserError


def resolve_model(method: str, robot: str, checkpoint: str | None = None, load_run: str | None = None,
                  load_checkpoint: str = RUN_CHECKPOINT_PATTERN) -> str | None:
    """The absolute path of the model file a NavBench-GS method evaluates (None for the baselines): for "agdm"
    `checkpoint` (default: the bundled AGDM), for "run" the checkpoint of the run `load_run` (a run folder, or a
    regex of one under the robot's experiment folder) matching `load_checkpoint`. UserError if it is missing."""
    if method == "agdm":
        return agdm_checkpoint(checkpoint)
    if method == "run":
        root = run_log_root(robot)
        if not load_run:
            raise UserError(f"--method run needs --load_run <run folder, or a regex of its name under {root}> "
                            f"(got {load_run!r}), e.g. {root}/<date>_<name> or '.*_<name>'")
        return str(run_checkpoint(root, load_run, load_checkpoint, "{err}: train with train_ram.py first").resolve())
    return None


def load_policy(path: str | Path, map_location: str = "cpu", trained_only: bool = False):
    """(model, info) of a policy file for inference (s2e.rl.trained_policy): an AGDM checkpoint, a shipped fine-tuned
    policy or a train_ram.py checkpoint (with `trained_only`, only the last); UserError naming the file and the fix."""
    from s2e.models.checkpoint import CheckpointError
    from s2e.rl.runner import RunnerCheckpointError
    from s2e.rl.trained_policy import load_policy_model, load_trained_model

    try:
        return (load_trained_model if trained_only else load_policy_model)(path, map_location=map_location)
    except (CheckpointError, RunnerCheckpointError) as err:
        raise UserError(str(err)) from None
