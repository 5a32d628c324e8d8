"""Which model an evaluation runs, and loading it for inference with one-line errors.

A NavBench-GS method evaluates an AGDM checkpoint (or a shipped fine-tuned policy), a train_ram.py run
(`--load_run` / `--load_checkpoint` as every script reads them: s2e.rl.run_folders.find_run_checkpoint
under the robot's experiment folder), or no model at all (the scripted baselines).
"""

from __future__ import annotations

from pathlib import Path

from s2e.rl.run_folders import RUN_CHECKPOINT_PATTERN, RunNotFoundError, find_run_checkpoint

from ..utils.cli import UserError

RUN_LOGS = Path("logs/rsl_rl")
"""train_ram.py's runs: <RUN_LOGS>/<experiment>/<date_time>[_<run_name>]/model_<it>.pt."""


def run_log_root(robot: str) -> Path:
    """The experiment folder of `robot`'s (wheeled | quadruped) fine-tuning runs, as its S2E agent config names it."""
    import importlib

    import gymnasium as gym

    import s2e_isaaclab.tasks  # noqa: F401  (registers the tasks)

    module, _, name = gym.spec(f"S2E-Urban-{robot.capitalize()}").kwargs["s2e_rl_cfg_entry_point"].partition(":")
    return RUN_LOGS / getattr(importlib.import_module(module), name)().experiment_name


def resolve_model(method: str, robot: str, checkpoint: str | None = None, load_run: str | None = None,
                  load_checkpoint: str = RUN_CHECKPOINT_PATTERN) -> str | None:
    """The absolute path of the model file a NavBench-GS method evaluates (None for the baselines): for "agdm"
    `checkpoint` (default: the bundled AGDM), for "run" the checkpoint of the run `load_run` (a run folder, or a
    regex of one under the robot's experiment folder) matching `load_checkpoint`. UserError if it is missing."""
    if method == "agdm":
        if checkpoint is None:
            from s2e_isaaclab.paths import BUNDLED_CHECKPOINT, asset_path

            return asset_path(BUNDLED_CHECKPOINT)
        if not Path(checkpoint).is_file():
            raise UserError(f"AGDM checkpoint {checkpoint} not found: pass --checkpoint <file.pt> or leave it out "
                            "for the bundled one")
        return str(Path(checkpoint).resolve())
    if method == "run":
        root = run_log_root(robot)
        if not load_run:
            raise UserError(f"--method run needs --load_run <run folder, or a regex of its name under {root}> "
                            f"(got {load_run!r}), e.g. {root}/<date>_<name> or '.*_<name>'")
        try:
            return str(find_run_checkpoint(root.resolve(), load_run, load_checkpoint).resolve())
        except RunNotFoundError as err:
            raise UserError(f"{err}: train with train_ram.py first") from None
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
