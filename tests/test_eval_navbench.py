"""eval_navbench.py as a user runs it: same numbers twice, resume after a kill, the AGDM on a task,
the tables and pictures, one-line errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
QUICK = ["--num_envs", "8", "--episodes_per_env", "1"]  # one episode per held-out scene

pytestmark = pytest.mark.sim


def _cmd(*args):
    return [sys.executable, str(ROOT / "scripts/eval_navbench.py"), *args]


def _run(*args, cwd, timeout=900):
    return subprocess.run(_cmd(*args), capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          env=dict(os.environ, OMP_NUM_THREADS="1"))


def _result(cwd, method_name, task, robot="wheeled"):
    return json.loads((Path(cwd) / "logs/navbench" / robot / method_name / f"{task}.json").read_text())


def test_same_seed_same_numbers_and_the_report(tmp_path):
    """Pedestrian task (the crowd is seeded per episode) with the straight-to-goal baseline, twice."""
    runs = []
    for name in ("a", "b"):
        proc = _run("--method", "straight", "--tasks", "Pedestrian", *QUICK, "--name", name, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr[-3000:]
        runs.append(_result(tmp_path, name, "Pedestrian"))
    a, b = runs
    assert a["episodes"] == 8 and sorted(a["per_episode"]["scene"]) == list(range(8))
    assert a["per_episode"] == b["per_episode"] and a["summary"] == b["summary"]
    assert set(a["summary"]) == {"SR", "RC", "CT", "PLR", "TTG"} and a["summary"]["SR"]["lo"] <= a["summary"]["SR"]["mean"]
    report = tmp_path / "logs/navbench/wheeled"
    table = (report / "results.md").read_text()
    assert "| a |" in table and "| b |" in table and "Pedestrian SR↑" in table
    assert (report / "results.csv").read_text().count("\n") == 3 and (report / "bars.png").stat().st_size > 0
    assert (report / "a" / "Pedestrian_episodes.png").stat().st_size > 0


def test_an_interrupted_evaluation_resumes_keeping_finished_tasks(tmp_path):
    args = ["--method", "straight", "--tasks", "Empty", "Obstacle", *QUICK]
    proc = subprocess.Popen(_cmd(*args), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    first = tmp_path / "logs/navbench/wheeled/Straight-to-goal/Empty.json"
    try:
        deadline = time.time() + 600
        while time.time() < deadline and not first.is_file():
            time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert first.is_file() and not first.with_name("Obstacle.json").exists()
    kept = first.read_text()
    resumed = _run(*args, cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert "NavBench-GS-Empty-Wheeled: already evaluated for this spec, kept" in resumed.stdout
    assert first.read_text() == kept and first.with_name("Obstacle.json").is_file()
    # another spec (more episodes per env) is evaluated again, not mixed with the old result
    other = _run("--method", "straight", "--tasks", "Empty", "--num_envs", "8", "--episodes_per_env", "2", cwd=tmp_path)
    assert other.returncode == 0 and "already evaluated" not in other.stdout
    assert _result(tmp_path, "Straight-to-goal", "Empty")["episodes"] == 16


def test_the_bundled_agdm_on_the_obstacle_task(tmp_path):
    proc = _run("--tasks", "Obstacle", *QUICK, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = _result(tmp_path, "S2E-BC", "Obstacle")
    assert r["episodes"] == 8 and r["spec"]["model"].endswith("agdm_wheeled.pt")
    assert 0.0 <= r["summary"]["SR"]["mean"] <= 1.0 and r["summary"]["RC"]["mean"] > 0.2
    assert "| S2E-BC |" in proc.stdout


@pytest.mark.parametrize("args, expected", [
    (["--method", "run"], "--method run needs --load_run"),
    (["--checkpoint", "nowhere.pt"], "AGDM checkpoint nowhere.pt not found"),
    (["--method", "straight", "--tasks", "Empty", "--num_envs", "3"], "cannot be dealt evenly to 3 envs"),
])
def test_errors_are_one_line(tmp_path, args, expected):
    proc = _run(*args, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and expected in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error:") and "Traceback" not in proc.stderr


def test_a_scene_bundle_as_a_navbench_scene(tmp_path):
    """A captured street (here an exported procedural block) gets episode files and is evaluated like the suite."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    bundle = tmp_path / "bundle"
    for script, *args in (("make_scene_bundle.py", "--seed", "3", "--content", "obstacles", "--routes", "3", "--out", str(bundle)),
                          ("make_navbench_episodes.py", "--scene_bundle", str(bundle), "--robots", "Wheeled",
                           "--num_scenes", "1", "--episodes_per_scene", "4")):
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], capture_output=True, text=True, cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
    suite = json.loads((bundle / "navbench/NavBench-GS-Pedestrian-Wheeled.json").read_text())
    assert suite["scenes"][0]["bundle"] == ".." and len(suite["episodes"]) == 4
    proc = _run("--method", "expert", "--episodes_dir", str(bundle / "navbench"), "--tasks", "Pedestrian", "--name", "on-bundle", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = _result(tmp_path, "on-bundle", "Pedestrian")
    assert r["episodes"] == 4 and r["summary"]["RC"]["mean"] > 0.3
    assert r["spec"]["episode_file_sha"] != _result_sha_of_shipped("Pedestrian")


def _result_sha_of_shipped(task):
    import hashlib

    return hashlib.sha256((ROOT / f"assets/navbench/v1/NavBench-GS-{task}-Wheeled.json").read_bytes()).hexdigest()[:16]
