"""scripts/gpu_check.py: its tiny CPU version runs every step, so the GPU check cannot rot between GPU loans."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _gpu_check(*args, cwd):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(ROOT / "scripts/gpu_check.py"), *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=1200)


@pytest.mark.sim
def test_tiny_gpu_check_runs_every_step_and_writes_the_report(tmp_path):
    proc = _gpu_check("--tiny", "--out", "report", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    assert proc.stdout.strip().splitlines()[-1].endswith("every step ran")
    report = (tmp_path / "report/report.md").read_text()
    rows = {line.split("|")[1].strip(): line.split("|")[3].strip() for line in report.splitlines()
            if line.startswith("| ") and line.count("|") == 5 and not line.startswith("| step")}
    assert rows["parity"] == ("ok" if torch.cuda.is_available() else "skipped (no CUDA)")
    assert rows["render"] == rows["env"] == rows["torchrun"] == "ok"
    assert "| 5k | 32x32 | 2 |" in report and "cpu+cull / cpu" in report  # the render table
    # the env table and lines
    assert "| wheeled | 2 |" in report and "start-up" in report and "reset of all envs" in report
    assert "[train_ram rank 0] done" in report and "Collection time" in report
    assert any((tmp_path / "logs/rsl_rl/gpu_check").glob("*_gpu_check_torchrun/model_0.pt"))


def test_full_check_needs_cuda_and_known_steps(tmp_path):
    if not torch.cuda.is_available():
        proc = _gpu_check("--out", "r", cwd=tmp_path)
        assert proc.returncode == 2 and proc.stderr.strip() == (
            "gpu_check: no CUDA device here: run it on a GPU machine, or --tiny for the CPU smoke version")
    proc = _gpu_check("--tiny", "--only", "parity", "nothing", "--out", "r", cwd=tmp_path)
    assert proc.returncode == 2 and "unknown step(s) ['nothing']" in proc.stderr
