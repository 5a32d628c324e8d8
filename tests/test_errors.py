"""Bad input gets a one-line error naming the problem (run as a user would, through the scripts)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]


def _run(*args, env=None):
    full_env = dict(os.environ, **(env or {}))
    return subprocess.run([sys.executable, str(ROOT / "scripts/run_expert.py"), *args], capture_output=True, text=True,
                          cwd=ROOT, env=full_env, timeout=300)


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


def test_override_values_are_read_as_hydra_reads_them():
    from s2e_isaaclab.utils.cli import _override_type_error

    assert _override_type_error("agent.algorithm.learning_rate", 1e-4, "1e-3") is None  # YAML: a string; Hydra: 0.001
    assert _override_type_error("agent.algorithm.learning_rate", 1e-4, "3.0e-4") is None
    assert "takes an integer" in _override_type_error("env.scene.num_envs", 16, "1e3")
    assert "takes a number" in _override_type_error("env.episode_length_s", 90.0, "fast")


def test_an_empty_episode_pool():
    line = _error_line(_run("--task", "S2E-Urban-Wheeled", "env.commands.nav.episode_pool_size=0"))
    assert line == "error: env.commands.nav.episode_pool_size=0: plan at least 1 episode per env"


def test_missing_asset(tmp_path):
    line = _error_line(_run("--task", "S2E-Urban-Wheeled", env={"S2E_ASSETS_DIR": str(tmp_path)}))
    assert "delivery_bot.usda" in line and "missing" in line


def test_missing_scene_bundle(tmp_path):
    line = _error_line(_run("--task", "S2E-Urban-Wheeled", "--mode", "base",
                            f"env.scene.terrain.scene_bundle={tmp_path / 'nowhere'}"))
    assert "nowhere" in line


def test_corrupt_bundle_ply(tmp_path):
    folder = tmp_path / "bundle"
    subprocess.run([sys.executable, str(ROOT / "scripts/make_scene_bundle.py"), "--seed", "1", "--out", str(folder)],
                   check=True, capture_output=True, cwd=ROOT, timeout=300)
    ply = folder / "scene.ply"
    ply.write_bytes(ply.read_bytes()[:5000])  # truncated
    line = _error_line(_run("--task", "S2E-Urban-Wheeled", "--mode", "base",
                            f"env.scene.terrain.scene_bundle={folder}"))
    assert "scene.ply" in line and "truncated" in line


def test_corrupt_agdm_checkpoint(tmp_path):
    bad = tmp_path / "agdm.pt"
    bad.write_bytes(b"not a checkpoint")
    proc = subprocess.run([sys.executable, str(ROOT / "scripts/eval_agdm.py"), "--checkpoint", str(bad), "--num_envs",
                           "1"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    line = _error_line(proc)
    assert str(bad) in line


# --- every bad value stops with one line and exit code 2 before any env is built -----------------------------------
# The scripts run in this process (imports paid once) with gymnasium.make replaced by a tripwire: reaching it
# would mean the check came after the expensive set-up.


class _EnvBuilt(Exception):
    """Raised by the gymnasium.make tripwire: the script got as far as building an env."""


def _error_before_env(monkeypatch, capsys, cwd, script, *args):
    import runpy

    import gymnasium

    def tripwire(*_, **__):
        raise _EnvBuilt

    monkeypatch.chdir(cwd)
    monkeypatch.setattr(gymnasium, "make", tripwire)
    monkeypatch.setattr(sys, "argv", [script, *args])
    with pytest.raises(SystemExit) as info:
        runpy.run_path(str(ROOT / "scripts" / script), run_name="__main__")
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert info.value.code == 2 and len(lines) == 1, err[-2000:]
    assert "Traceback" not in err
    return lines[0]


WHEELED = ["--task", "S2E-Urban-Wheeled", "--mode", "base"]


@pytest.mark.parametrize("script, args, line", [
    ("run_expert.py", ["env.episode_length_s=abc"],
     "error: invalid override 'env.episode_length_s=abc': env.episode_length_s takes a number (default 90.0), "
     "got 'abc'"),
    ("run_expert.py", ["env.scene.num_envs=2.5"],
     "error: invalid override 'env.scene.num_envs=2.5': env.scene.num_envs takes an integer (default 16), got '2.5'"),
    ("run_expert.py", ["env.foo.bar=1"], "error: invalid override 'env.foo.bar=1': env has no field 'foo'"),
    ("train_ram.py", ["agent.algorithm.loss_terms.mode_label_prior=1"],
     "error: invalid override 'agent.algorithm.loss_terms.mode_label_prior=1': "
     "agent.algorithm.loss_terms.mode_label_prior takes true or false (default True), got '1'"),
    ("train_ram.py", ["agent.held_out.seeds=4"],
     "error: invalid override 'agent.held_out.seeds=4': agent.held_out.seeds takes a list, e.g. [1,2] (default [4]), "
     "got '4'"),
    ("train_ram.py", ["agent.run_name=123"],
     "error: invalid override 'agent.run_name=123': agent.run_name takes a string (default ''), got '123': "
     "quote it for Hydra, 'agent.run_name=\"123\"'"),
    ("run_expert.py", ["--num_envs", "0"], "error: --num_envs 0: run at least 1 env"),
    ("train_ram.py", ["--num_envs", "-3"], "error: --num_envs -3: run at least 1 env"),
    ("run_expert.py", ["--device", "tpu"], "error: --device tpu: use cpu, cuda or cuda:<index>"),
    ("play.py", ["--episodes_per_env", "0"], "error: --episodes_per_env 0: play at least 1 episode per env"),
    ("train_ram.py", ["--load_run", "old"],
     "error: --load_run/--load_checkpoint choose the run to continue: add --resume (a new run always starts from the "
     "AGDM --checkpoint)"),
    ("train_ram.py", ["--max_iterations", "0"], "error: --max_iterations 0: train at least 1 iteration"),
    ("train_ram.py", ["env.scene.camera.history=3"],
     "error: the model expects 4 frames of (64, 64), the camera gives 3 of (64, 64): set "
     "env.scene.camera.history/height/width"),
    ("train_ram.py", ["env.scene.camera.update_period=0.5"],
     "error: the camera renders every 0.5 s, the policy acts every 0.1 s: the model's frames must be one step apart: "
     "set env.scene.camera.update_period=0"),
    ("train_ram.py", ["env.actions.nav.controller.waypoint_dt=0.2"],
     "error: the model predicts 10 waypoints 0.25 s apart, the waypoint action reads 10 0.2 s apart: "
     "set env.actions.nav.controller.num_waypoints/waypoint_dt"),
    ("train_ram.py", ["--run_name", "a/b"],
     "error: --run_name: run name 'a/b' is used in a folder name: use letters, digits, '-', '_' or '.', no path "
     "separator"),
    ("eval_navbench.py", ["--episodes_per_env", "0"],
     "error: --episodes_per_env 0: evaluate at least 1 episode per env (or leave it out for all)"),
    ("eval_navbench.py", ["--num_envs", "0"], "error: --num_envs 0: run at least 1 env"),
    ("eval_navbench.py", ["--parallel", "0"],
     "error: --parallel 0: run at least 1 task at a time (or leave it out: one per core)"),
    ("train_ram.py", ["env.scene.camera.appearance=shift"],
     "error: env.scene.camera.appearance='shift' is held out for NavBench-GS: the S2E-Urban tasks use urban; "
     "score a policy on it with eval_navbench.py --split shift"),
    ("collect_demos.py", ["env.scene.camera.appearance=shift"],
     "error: env.scene.camera.appearance='shift' is held out for NavBench-GS: the S2E-Urban tasks use urban; "
     "score a policy on it with eval_navbench.py --split shift"),
    ("run_expert.py", ["env.scene.camera.appearance=noir"],
     "error: env.scene.camera.appearance='noir': choose one of urban"),
    # out of range (s2e_isaaclab.utils.cfg_ranges): one bad value per group
    ("train_ram.py", ["agent.algorithm.learning_rate=-1"],
     "error: agent.algorithm.learning_rate=-1: out of range, it takes a number > 0"),
    ("train_ram.py", ["agent.algorithm.gamma=1.5"],
     "error: agent.algorithm.gamma=1.5: out of range, it takes a number > 0 and <= 1"),
    ("train_ram.py", ["agent.num_steps_per_env=0"],
     "error: agent.num_steps_per_env=0: out of range, it takes an integer >= 1"),
    ("run_expert.py", ["env.episode_length_s=-3"],
     "error: env.episode_length_s=-3: out of range, it takes a number > 0"),
    ("run_expert.py", ["env.scene.camera.width=0"],
     "error: env.scene.camera.width=0: out of range, it takes an integer >= 8"),
])
def test_bad_values_are_one_line_before_the_env_is_built(monkeypatch, capsys, tmp_path, script, args, line):
    flags = WHEELED if script != "eval_navbench.py" else []
    assert _error_before_env(monkeypatch, capsys, tmp_path, script, *flags, *args) == line


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message on a machine without a GPU")
def test_a_cuda_device_without_a_gpu(monkeypatch, capsys, tmp_path):
    line = _error_before_env(monkeypatch, capsys, tmp_path, "run_expert.py", *WHEELED, "--device", "cuda:0")
    assert (line == "error: --device cuda:0: torch sees no CUDA GPU on this machine: use --device cpu (or leave "
                    "--device out)")


def test_an_unwritable_log_folder(monkeypatch, capsys, tmp_path):
    (tmp_path / "logs").write_text("a file where the log folder should be")
    line = _error_before_env(monkeypatch, capsys, tmp_path, "train_ram.py", *WHEELED)
    assert line == ("error: cannot write the log folder logs/rsl_rl/s2e_ram_wheeled: Not a directory; run from a "
                    "writable folder or point the output elsewhere")


def test_a_full_log_folder(monkeypatch, capsys, tmp_path):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda _: usage(10 * 2**30, 10 * 2**30 - 2**20, 2**20))
    line = _error_before_env(monkeypatch, capsys, tmp_path, "train_ram.py", *WHEELED)
    assert line == ("error: the log folder logs/rsl_rl/s2e_ram_wheeled has 1 MiB free (at least 64 MiB needed): "
                    "free some space or point the output elsewhere")


def test_nothing_to_resume_or_play_says_where_it_looked(monkeypatch, capsys, tmp_path):
    dead = tmp_path / "logs/rsl_rl/s2e_ram_wheeled/2026-12-03_10-00-00_killed"
    dead.mkdir(parents=True)
    (dead / "events.out.tfevents.1").write_bytes(b"")
    root = (tmp_path / "logs/rsl_rl/s2e_ram_wheeled").resolve()
    line = _error_before_env(monkeypatch, capsys, tmp_path, "train_ram.py", *WHEELED, "--resume")
    assert line == ("error: nothing to resume under logs/rsl_rl/s2e_ram_wheeled: none of the 1 run folder(s) "
                    f"matching '.*' under {root} holds a checkpoint matching 'model_\\\\d+\\\\.pt$'")
    line = _error_before_env(monkeypatch, capsys, tmp_path, "play.py", *WHEELED)
    assert line.startswith("error: no trained run to play: none of the 1 run folder(s)") and line.endswith(
        "train one with scripts/train_ram.py --task S2E-Urban-Wheeled")


def test_random_bytes_as_a_checkpoint_never_suggest_unsafe_loading(monkeypatch, capsys, tmp_path):
    bad = tmp_path / "random.pt"
    bad.write_bytes(bytes(range(256)) * 40)
    line = _error_before_env(monkeypatch, capsys, tmp_path, "train_ram.py", *WHEELED, "--checkpoint", str(bad))
    assert line == (f"error: checkpoint {bad}: not a torch checkpoint file (no complete zip archive: corrupt, "
                    "truncated or another format): copy it again or re-run pretraining")
