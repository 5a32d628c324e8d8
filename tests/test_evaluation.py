"""The evaluation library's choices made without a simulation: which model a NavBench-GS method runs."""

from __future__ import annotations

from pathlib import Path

import pytest

from s2e_isaaclab.evaluation.models import resolve_model
from s2e_isaaclab.utils.cli import UserError


def test_navbench_load_run_is_a_run_folder_or_a_regex_under_the_robots_experiment_folder(tmp_path, monkeypatch):
    """eval_navbench.py --method run reads --load_run as play.py and train_ram.py do (run_folders.find_run_checkpoint):
    a run folder, else a regex of run folder names under logs/rsl_rl/<the robot's experiment>/."""
    monkeypatch.chdir(tmp_path)
    run = tmp_path / "logs/rsl_rl/s2e_ram_wheeled/2026-12-01_10-00-00_short"
    run.mkdir(parents=True)
    for name in ("model_0.pt", "model_4.pt"):
        (run / name).write_bytes(b"x")  # never loaded here
    latest = str((run / "model_4.pt").resolve())
    assert resolve_model("run", "wheeled", load_run=str(run)) == latest
    assert resolve_model("run", "wheeled", load_run="logs/rsl_rl/s2e_ram_wheeled/2026-12-01_10-00-00_short") == latest
    assert resolve_model("run", "wheeled", load_run=".*_short") == latest
    assert (Path(resolve_model("run", "wheeled", load_run=".*_short", load_checkpoint=r"model_0\.pt$")).name
            == "model_0.pt")
    with pytest.raises(UserError, match=r"no run folder matching '\.\*_short' under .*s2e_ram_quadruped: train with"):
        resolve_model("run", "quadruped", load_run=".*_short")  # the Go2's runs live in their own experiment folder
    with pytest.raises(UserError, match="--method run needs --load_run"):
        resolve_model("run", "wheeled")
    assert resolve_model("expert", "wheeled", load_run=".*_short") is None
