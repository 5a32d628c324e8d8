"""eval_navbench.py as a user runs it: same numbers twice, resume after a kill, the AGDM on a task (directly and
through the policy contract, episode for episode the same), the example policy in-process and from its own server
process, the shift split, the tables with verdicts and pictures, one-line errors."""

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


def _result(cwd, method_name, task, robot="wheeled", split="urban"):
    return json.loads((Path(cwd) / "logs/navbench" / split / robot / method_name / f"{task}.json").read_text())


def _processes_in(folder: Path) -> list[int]:
    """Pids of the processes whose working directory is `folder` (the evaluation and its workers)."""
    pids = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            if Path(os.readlink(proc / "cwd")) == folder:
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


def _wait_until(condition, timeout):
    deadline = time.time() + timeout
    while time.time() < deadline and not condition():
        time.sleep(0.5)
    return condition()


@pytest.mark.timeout(1200)  # two evaluations, the first one waited on for up to 600 s
def test_same_numbers_from_one_run_and_from_a_run_interrupted_mid_task(tmp_path):
    """Obstacle task, straight-to-goal: once through, and once stopped by SIGTERM after its first finished episodes and
    resumed. The resumed run keeps the finished episodes and ends with the same per-episode results and summary; the
    interrupted worker ends with its parent. (In the crowd tasks a resumed episode's pedestrians may pick other goals:
    their draws come from one generator shared by the envs, so they depend on which episodes run side by side.)"""
    args = ["--method", "straight", "--tasks", "Obstacle", "--num_envs", "8", "--episodes_per_env", "2"]
    whole = _run(*args, "--name", "a", cwd=tmp_path)
    assert whole.returncode == 0, whole.stderr[-3000:]
    partial = tmp_path / "logs/navbench/urban/wheeled/b/.Obstacle.partial.json"
    proc = subprocess.Popen(_cmd(*args, "--name", "b"), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert _wait_until(partial.is_file, 600)
    proc.send_signal(signal.SIGTERM)  # the parent only: it passes the signal on to its worker
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 128 + signal.SIGTERM
    assert err.strip().splitlines()[-1] == ("error: interrupted by SIGTERM while evaluating "
                                            "NavBench-GS-Obstacle-Wheeled; the finished episodes are kept in "
                                            "logs/navbench/urban/wheeled/b/.Obstacle.partial.json: run the same "
                                            "command again to resume")
    assert _wait_until(lambda: not _processes_in(tmp_path), 30)
    kept = len(json.loads(partial.read_text())["per_episode"]["env"])
    assert 1 <= kept < 16
    resumed = _run(*args, "--name", "b", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"NavBench-GS-Obstacle-Wheeled: resuming, {kept} of 16 episodes kept" in resumed.stdout
    a, b = _result(tmp_path, "a", "Obstacle"), _result(tmp_path, "b", "Obstacle")
    assert a["episodes"] == 16 and len(set(a["per_episode"]["scene"])) == 8  # every held-out scene
    # the same outcome for every episode; the driven path length agrees to float rounding of the closed loop (mm)
    path_a, path_b = a["per_episode"].pop("path_length"), b["per_episode"].pop("path_length")
    assert a["per_episode"] == b["per_episode"]
    assert max(abs(x - y) for x, y in zip(path_a, path_b)) < 0.02
    assert all(a["summary"][m] == b["summary"][m] for m in ("SR", "RC", "CT", "TTG"))
    assert not partial.exists()
    assert (set(a["summary"]) == {"SR", "SRNC", "RC", "CT", "PLR", "TTG"} and a["summary"]["SR"]["lo"]
            <= a["summary"]["SR"]["mean"])
    clean = [s and c == 0 for s, c in zip(a["per_episode"]["success"], a["per_episode"]["collisions"])]
    assert a["summary"]["SRNC"]["mean"] == sum(clean) / len(clean)
    report = tmp_path / "logs/navbench/urban/wheeled"
    table = (report / "results.md").read_text()
    assert "| a |" in table and "| b |" in table and "Obstacle SR↑" in table
    assert (report / "results.csv").read_text().count("\n") == 3 and (report / "bars.png").stat().st_size > 0
    assert (report / "a" / "Obstacle_episodes.png").stat().st_size > 0
    # a damaged result of another method is named and left out of the table, not a traceback
    (report / "c").mkdir()
    (report / "c" / "Obstacle.json").write_text('{"name": "c", "summ')
    again = _run(*args, "--name", "a", cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "[navbench] warning: logs/navbench/urban/wheeled/c/Obstacle.json is not a readable result" in again.stderr
    assert "| a |" in again.stdout and "| c |" not in again.stdout


@pytest.mark.timeout(1200)  # waits up to 600 s for the first task, then resumes
def test_an_interrupted_evaluation_resumes_keeping_finished_tasks(tmp_path):
    args = ["--method", "straight", "--tasks", "Empty", "Obstacle", "--parallel", "1", *QUICK]  # one after the other
    proc = subprocess.Popen(_cmd(*args), cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))
    first = tmp_path / "logs/navbench/urban/wheeled/Straight-to-goal/Empty.json"
    try:
        assert _wait_until(first.is_file, 600)
    finally:
        proc.kill()  # kill -9 of the parent alone: its worker must not outlive it
        proc.wait()
    assert _wait_until(lambda: not _processes_in(tmp_path), 30)
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


def test_a_killed_worker_ends_the_evaluation_with_one_line(tmp_path):
    proc = subprocess.Popen(_cmd("--method", "straight", "--tasks", "Empty", *QUICK), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, OMP_NUM_THREADS="1"))

    def worker():
        found = []
        for pid in _processes_in(tmp_path):
            try:
                if b"--worker" in Path(f"/proc/{pid}/cmdline").read_bytes():
                    found.append(pid)
            except OSError:
                continue
        return found

    assert _wait_until(worker, 300)
    os.kill(worker()[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 1
    assert err.strip().splitlines()[-1] == ("error: the worker evaluating NavBench-GS-Empty-Wheeled was killed by "
                                            "SIGKILL; no episode had finished: run the same command again to resume")


@pytest.mark.timeout(1200)
def test_the_bundled_agdm_directly_and_through_the_policy_contract(tmp_path):
    proc = _run("--tasks", "Obstacle", *QUICK, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = _result(tmp_path, "S2E-BC", "Obstacle")
    assert r["episodes"] == 8 and r["spec"]["model"].endswith("agdm_wheeled.pt")
    assert r["summary"]["SR"]["mean"] >= 0.5 and r["summary"]["RC"]["mean"] > 0.6  # it drives (SR ~0.9 on 32 episodes)
    assert "| S2E-BC |" in proc.stdout
    checkpoint = ROOT / "assets/agdm/agdm_wheeled.pt"
    proc = _run("--method", "policy", "--policy", "s2e.navbench.agdm_contract:make_policy", "--policy_kwargs",
                f"checkpoint={checkpoint}", "--name", "BC-contract", "--tasks", "Obstacle", *QUICK, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    c = _result(tmp_path, "BC-contract", "Obstacle")
    assert c["per_episode"] == r["per_episode"]  # outcome by outcome, path lengths and all
    # the table compares every row with S2E-BC on the same episodes
    table = (tmp_path / "logs/navbench/urban/wheeled/results.md").read_text()
    assert ("Verdicts against S2E-BC" in table
            and "| BC-contract | Obstacle | +0 (0/0, p=1) n.s. | +0 (0/0, p=1) n.s. |" in table)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.timeout(1200)
def test_the_example_policy_in_process_and_from_its_own_server(tmp_path):
    args = ["--method", "policy", "--tasks", "Empty", *QUICK]
    local = subprocess.run(_cmd(*args, "--policy", "examples.navbench_policy.route_follower:make_policy", "--name",
                                "local", "--out", str(tmp_path / "logs/navbench")), capture_output=True, text=True,
                           cwd=ROOT, timeout=900, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert local.returncode == 0, local.stderr[-3000:]
    port = _free_port()
    server = subprocess.Popen([sys.executable, str(ROOT / "examples/navbench_policy/serve.py"), "--port", str(port)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=tmp_path)
    try:
        assert "serving" in server.stdout.readline()
        remote = _run(*args, "--policy", f"ws://127.0.0.1:{port}", "--name", "served", cwd=tmp_path)
        assert remote.returncode == 0, remote.stderr[-3000:]
    finally:
        server.terminate()
        server.wait(timeout=30)
    a, b = _result(tmp_path, "local", "Empty"), _result(tmp_path, "served", "Empty")
    assert a["episodes"] == 8 and a["per_episode"] == b["per_episode"]
    assert a["summary"]["RC"]["mean"] > 0.5  # a blind route follower gets along its routes
    assert b["spec"]["policy"] == f"ws://127.0.0.1:{port}"
    # the same policy commanding the body's velocity instead of waypoints
    velocity = subprocess.run(_cmd(*args, "--policy", "examples.navbench_policy.route_follower:make_policy",
                                   "--policy_kwargs", "output=velocity", "--name", "velocity", "--out",
                                   str(tmp_path / "logs/navbench")),
                              capture_output=True, text=True, cwd=ROOT, timeout=900,
                              env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert velocity.returncode == 0, velocity.stderr[-3000:]
    v = _result(tmp_path, "velocity", "Empty")
    assert v["summary"]["RC"]["mean"] > 0.5 and v["per_episode"]["path_length"] != a["per_episode"]["path_length"]


def test_the_shift_split_runs_its_own_episodes(tmp_path):
    proc = _run("--method", "expert", "--split", "shift", "--tasks", "Obstacle", *QUICK, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    r = _result(tmp_path, "Expert", "Obstacle", split="shift")
    shipped = ROOT / "assets/navbench/shift/NavBench-GS-Obstacle-Wheeled.json"
    import hashlib

    assert r["spec"]["episode_file_sha"] == hashlib.sha256(shipped.read_bytes()).hexdigest()[:16]
    assert r["episodes"] == 8 and r["summary"]["SR"]["mean"] >= 0.75
    assert "table of all methods for the wheeled robot on shift" in proc.stdout


@pytest.mark.parametrize("args, expected", [
    (["--method", "run"], "--method run needs --load_run"),
    (["--checkpoint", "nowhere.pt"], "AGDM checkpoint nowhere.pt not found"),
    (["--method", "straight", "--tasks", "Empty", "--num_envs", "3"], "cannot be dealt evenly to 3 envs"),
    (["--method", "policy"], "--method policy and --policy go together"),
    (["--method", "policy", "--policy", "nowhere_pkg.mod:make"], "--policy 'nowhere_pkg.mod:make' cannot be loaded"),
    (["--method", "policy", "--policy", "ws://127.0.0.1:9"], "no policy server answers at ws://127.0.0.1:9"),
    (["--method", "policy", "--policy", "examples.navbench_policy.route_follower:make_policy", "--policy_kwargs",
      "speed"],
     "--policy_kwargs 'speed': write KEY=VALUE"),
])
def test_errors_are_one_line(tmp_path, args, expected):
    proc = _run(*args, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and expected in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error:") and "Traceback" not in proc.stderr


def test_a_scene_bundle_as_a_navbench_scene(tmp_path):
    """A captured street (here an exported procedural block) gets episode files and is evaluated like the suite."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    bundle = tmp_path / "bundle"
    for script, *args in (("make_scene_bundle.py", "--seed", "3", "--content", "obstacles", "--routes", "3", "--out",
                           str(bundle)),
                          ("make_navbench_episodes.py", "--scene_bundle", str(bundle), "--robots", "Wheeled",
                           "--num_scenes", "2", "--episodes_per_scene", "2")):
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script), *args], capture_output=True, text=True,
                              cwd=tmp_path, env=env)
        assert proc.returncode == 0, proc.stderr[-3000:]
    suite = json.loads((bundle / "navbench/NavBench-GS-Pedestrian-Wheeled.json").read_text())
    assert suite["scenes"][0]["bundle"] == ".." and len(suite["episodes"]) == 4
    # the Obstacle task's scenes are the bundle with obstacles spawned on it, one draw per scene
    obstacle = json.loads((bundle / "navbench/NavBench-GS-Obstacle-Wheeled.json").read_text())
    prints = {s["fingerprint"] for s in obstacle["scenes"]}
    assert all(s["obstacle_density"] > 0 for s in obstacle["scenes"]) and len(prints) == 2
    assert not prints & {s["fingerprint"] for s in suite["scenes"]}
    proc = _run("--method", "expert", "--episodes_dir", str(bundle / "navbench"), "--tasks", "Pedestrian", "Obstacle",
                "--name", "on-bundle", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    for task in ("Pedestrian", "Obstacle"):
        r = json.loads((bundle / f"navbench/results/wheeled/on-bundle/{task}.json").read_text())
        assert r["episodes"] == 4 and r["summary"]["RC"]["mean"] > 0.3, (task, r["summary"])
        assert r["spec"]["episode_file_sha"] != _result_sha_of_shipped(task)


def _result_sha_of_shipped(task):
    import hashlib

    return hashlib.sha256((ROOT / f"assets/navbench/v1/NavBench-GS-{task}-Wheeled.json").read_bytes()).hexdigest()[:16]
