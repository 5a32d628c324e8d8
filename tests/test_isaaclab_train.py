"""Isaac Lab's own `train` runs the S2E tasks with their derived settings (the tasks' env class finalizes its cfg)."""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.sim


@pytest.mark.timeout(900)
def test_isaaclabs_train_runs_a_task_with_its_derived_settings(tmp_path):
    """`./isaaclab.sh train --rl_library rsl_rl` (Isaac Lab's train.py, the plain MLP agent): an override of the control
    mode alone brings the mode's physics step, and the blocks and episodes take the run's seed."""
    name = f"pytest_{uuid.uuid4().hex[:8]}"  # isaaclab.sh runs from the repository: the run goes to its logs/
    cmd = [str(ROOT / "isaaclab.sh"), "train", "--rl_library", "rsl_rl", "--task", "S2E-Urban-Wheeled",
           "--device", "cpu", "--max_iterations", "2", "--num_envs", "4", "--seed", "5", "env.control_mode=base",
           "agent.num_steps_per_env=8", f"agent.run_name={name}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, timeout=840)
    runs = list((ROOT / "logs" / "rsl_rl" / "s2e_urban_wheeled").glob(f"*_{name}"))
    try:
        assert proc.returncode == 0, proc.stderr[-3000:]
        (run,) = runs
        assert sorted(p.name for p in run.glob("model_*.pt")) == ["model_0.pt", "model_1.pt"]
        env = yaml.unsafe_load((run / "params" / "env.yaml").read_text())
        mode = (env["control_mode"], env["actions"]["nav"]["mode"], env["sim"]["dt"], env["decimation"])
        assert mode == ("base", "base", 0.1, 1)
        assert tuple(env["sim"]["gravity"]) == (0.0, 0.0, 0.0)
        assert env["seed"] == env["scene"]["terrain"]["seed"] == env["commands"]["nav"]["seed"] == 5
    finally:
        for run in runs:
            shutil.rmtree(run, ignore_errors=True)
