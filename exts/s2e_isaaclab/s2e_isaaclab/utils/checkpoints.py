"""Which checkpoint a script means: the one resolver behind `--checkpoint`, `--load_run` and `--load_checkpoint`.

- `agdm_checkpoint(path)`: an AGDM checkpoint (or shipped policy) file, the bundled one when none is given;
- `run_checkpoint(log_root, load_run, load_checkpoint)`: a train_ram.py run's checkpoint, `load_run` being a run
  folder or a regex of run folder names under `log_root` (matched from the start of the name, as Isaac Lab's
  get_checkpoint_path does; default: the newest run with a checkpoint) and `load_checkpoint` a regex of its file
  names (default: the latest `model_<it>.pt`), via s2e.rl.run_folders.find_run_checkpoint;
- `run_log_root(robot)`: the experiment folder of a robot's runs, as its S2E agent config names it.
Every miss is a UserError naming what was looked for and the fix.
"""

from __future__ import annotations

from pathlib import Path

from s2e.rl.run_folders import RUN_CHECKPOINT_PATTERN, RunNotFoundError, find_run_checkpoint

from .cli import UserError

RUN_LOGS = Path("logs/rsl_rl")
"""train_ram.py's runs: <RUN_LOGS>/<experiment>/<date_time>[_<run_name>]/model_<it>.pt."""


def agdm_checkpoint(path: str | Path | None, flag: str = "--checkpoint") -> str:
    """The absolute path of the AGDM checkpoint `path` (None or "": the bundled one); UserError when it is missing."""
    if path:
        if not Path(path).is_file():
            raise UserError(f"AGDM checkpoint {path} not found: pass {flag} <file.pt> (e.g. "
                            "logs/pretrain/<run>/agdm.pt) or leave it out for the bundled one")
        return str(Path(path).resolve())
    from ..paths import BUNDLED_CHECKPOINT, asset_path

    try:
        return asset_path(BUNDLED_CHECKPOINT)
    except FileNotFoundError as err:
        raise UserError(str(err)) from None


def run_checkpoint(log_root: str | Path, load_run: str | None = None, load_checkpoint: str | None = None,
                   on_missing: str = "{err}") -> Path:
    """The checkpoint of a run under `log_root` (see the module docstring); on a miss, UserError(on_missing) with
    `{err}` standing for what was looked for."""
    try:
        return find_run_checkpoint(Path(log_root).resolve(), load_run or ".*",
                                   load_checkpoint or RUN_CHECKPOINT_PATTERN)
    except RunNotFoundError as err:
        raise UserError(on_missing.format(err=err)) from None


def run_log_root(robot: str) -> Path:
    """The experiment folder of `robot`'s (wheeled | quadruped) fine-tuning runs, as its S2E agent config names it."""
    import importlib

    import gymnasium as gym

    import s2e_isaaclab.tasks  # noqa: F401  (registers the tasks)

    module, _, name = gym.spec(f"S2E-Urban-{robot.capitalize()}").kwargs["s2e_rl_cfg_entry_point"].partition(":")
    return RUN_LOGS / getattr(importlib.import_module(module), name)().experiment_name
