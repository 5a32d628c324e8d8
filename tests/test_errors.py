"""Bad input gets a one-line error naming the problem (run as a user would, through the scripts)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, str(ROOT / "scripts/run_expert.py"), *args], capture_output=True, text=True, cwd=ROOT, env=full_env, timeout=300)


def _error_line(proc):
    lines = [l for l in proc.stderr.strip().splitlines() if l.startswith("error:")]
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert len(lines) == 1
    return lines[0]


def test_unknown_task():
    line = _error_line(_run("--task", "S2E-Urban-Hovercraft"))
    assert "unknown task 'S2E-Urban-Hovercraft'" in line and "S2E-Urban-Quadruped" in line


def test_invalid_override():
    line = _error_line(_run("--task", "S2E-Urban-Wheeled", "env.scene.no_such_field=3"))
    assert "invalid override" in line and "no_such_field" in line


def test_missing_asset(tmp_path):
    line = _error_line(_run("--task", "S2E-Urban-Wheeled", env={"S2E_ASSETS_DIR": str(tmp_path)}))
    assert "delivery_bot.usda" in line and "missing" in line
