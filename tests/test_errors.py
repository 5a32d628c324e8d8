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


def test_missing_scene_bundle(tmp_path):
    line = _error_line(_run("--task", "S2E-Urban-Wheeled", "--mode", "base", f"env.scene.terrain.scene_bundle={tmp_path / 'nowhere'}"))
    assert "nowhere" in line


def test_corrupt_bundle_ply(tmp_path):
    folder = tmp_path / "bundle"
    subprocess.run([sys.executable, str(ROOT / "scripts/make_scene_bundle.py"), "--seed", "1", "--out", str(folder)],
                   check=True, capture_output=True, cwd=ROOT, timeout=300)
    ply = folder / "scene.ply"
    ply.write_bytes(ply.read_bytes()[:5000])  # truncated
    line = _error_line(_run("--task", "S2E-Urban-Wheeled", "--mode", "base", f"env.scene.terrain.scene_bundle={folder}"))
    assert "scene.ply" in line and "truncated" in line


def test_corrupt_agdm_checkpoint(tmp_path):
    bad = tmp_path / "agdm.pt"
    bad.write_bytes(b"not a checkpoint")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/eval_agdm.py"), "--checkpoint", str(bad), "--num_envs", "1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    line = _error_line(proc)
    assert str(bad) in line
