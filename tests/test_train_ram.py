"""train_ram.py and play.py as a user runs them: a short RAM run on S2E-Urban-Wheeled, a run killed
mid-training and resumed, playback with video and checked exports, and one-line errors."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
SHORT = ["--task", "S2E-Urban-Wheeled", "--mode", "base", "--num_envs", "2"]
TINY_AGENT = ["agent.num_steps_per_env=4", "env.episode_length_s=0.5"]
NO_CHECK = ["agent.held_out.enabled=false"]

pytestmark = pytest.mark.sim


def _script(name, *args, cwd, timeout=600):
    env = dict(os.environ, OMP_NUM_THREADS="1")
    return subprocess.run([sys.executable, str(ROOT / "scripts" / name), *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def _runs(cwd):
    return sorted((Path(cwd) / "logs/rsl_rl/s2e_ram_wheeled").iterdir())


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("train")
    proc = _script("train_ram.py", *SHORT, "--max_iterations", "2", "--run_name", "short", "--video", "--video_length",
                   "3", "--video_interval", "5", *TINY_AGENT, "agent.held_out.num_envs=2", cwd=cwd)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return cwd, proc


def test_train_ram_logs_episode_metrics_and_saves_a_playable_run(trained):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cwd, proc = trained
    printed = [float(v) for v in re.findall(r"Mean episode SR: +(\S+)", proc.stdout)]
    assert printed and "Mean reward" in proc.stdout and "strategy=ram" in proc.stdout, proc.stdout[-3000:]
    (run,) = _runs(cwd)
    # the SR printed per iteration is the one TensorBoard got; two tiny iterations end fewer than 100 episodes, so
    # the windowed SR is neither printed nor logged yet
    scalars = EventAccumulator(str(run)).Reload()
    assert [e.value for e in scalars.Scalars("Episode/SR")] == pytest.approx(printed, abs=1e-4)
    assert "Episode/SR_last100" not in scalars.Tags()["scalars"] and "SR_last100" not in proc.stdout
    assert run.name.endswith("_short")
    assert {"model_0.pt", "model_1.pt"} <= {p.name for p in run.iterdir()}
    assert {"agdm.pt", "agent.yaml", "env.yaml"} <= {p.name for p in (run / "params").iterdir()}
    assert list(run.glob("events.out.tfevents.*")) and (run / "curves.png").stat().st_size > 0
    # 8 steps, one film every 5
    assert sorted(p.name for p in (run / "videos").iterdir()) == ["step_0.mp4", "step_5.mp4"]
    saved = torch.load(run / "model_1.pt", weights_only=False)
    assert saved["iter"] == 1 and saved["infos"]["strategy"] == "ram"


def test_a_run_ends_with_its_held_out_check_and_keeps_the_best_checkpoint(trained):
    """The last checkpoint is compared with the imported AGDM on validation blocks (seed 4): one line, best.pt,
    TensorBoard."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    cwd, proc = trained
    (run,) = _runs(cwd)
    (line,) = [l for l in proc.stdout.splitlines() if "held-out SR" in l]
    assert ("iteration 1, seeds [4]: held-out SR " in line and "wins /" in line and "McNemar p = " in line
            and ", CT " in line)
    (entry,) = json.loads((run / "held_out.json").read_text())
    assert entry["iteration"] == 1 and entry["checkpoint"] == "model_1.pt" and entry["episodes"] == 2
    assert f"SR {entry['sr_a']:.2f} -> {entry['sr_b']:.2f}" in line
    assert (run / "best.pt").read_bytes() == (run / "model_1.pt").read_bytes()
    assert json.loads((run / "best.json").read_text())["iteration"] == 1
    events = EventAccumulator(str(run)).Reload()
    assert [e.value for e in events.Scalars("HeldOut/SR")] == [entry["sr_b"]]
    # the checkpoint's and the run's evaluations are cached by file digest: a later comparison reuses the checkpoint's
    assert len(list((cwd / "logs/evaluations").glob("*_seed4.json"))) == 2


def test_play_films_scores_and_exports_matching_policies(trained):
    cwd, _ = trained
    (run,) = _runs(cwd)
    dead = run.parent / "2099-01-01_00-00-00_died_before_its_first_checkpoint"  # newer, but nothing to play
    (dead / "params").mkdir(parents=True)
    proc = _script("play.py", *SHORT, "env.episode_length_s=1", cwd=cwd)
    shutil.rmtree(dead)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (play,) = (run / "play").iterdir()
    assert play.name.endswith("_model_1_seed0")  # the newest checkpoint, the default seed
    assert (play / "rollout.mp4").stat().st_size > 0 and (play / "results.json").is_file()
    assert sorted(p.name for p in (run / "exported").iterdir()) == ["policy.onnx", "policy.pt"]  # self-contained ONNX
    (errors,) = re.findall(r"max \|diff\| vs PyTorch: (\{.*?\})\)", proc.stdout)
    errors = ast.literal_eval(errors)
    assert set(errors) == {"torchscript", "onnx"} and max(errors.values()) < 1e-4
    # the summary line reports the episodes saved in results.json
    scored = json.loads((play / "results.json").read_text())
    (summary,) = re.findall(r"\[play\] SR (\S+) \| RC (\S+) \| CT (\S+) \((\d+) episodes\)", proc.stdout)
    assert summary == (f"{scored['SR']:.2f}", f"{scored['RC']:.2f}", f"{scored['CT']:.2f}", str(scored["episodes"]))
    # the same checkpoint given as a file plays the same episodes (no run folder needed, e.g. a shipped policy)
    by_file = _script("play.py", *SHORT, "env.episode_length_s=1", "--checkpoint", str(run / "model_1.pt"),
                      "--no-video", "--no-export", cwd=cwd)
    assert by_file.returncode == 0, by_file.stderr[-3000:]
    (again,) = (cwd / "logs/play/model_1").iterdir()
    first = json.loads((play / "results.json").read_text())
    second = json.loads((again / "results.json").read_text())
    assert second["per_episode"] == first["per_episode"] and second["strategy"] == "ram"


@pytest.mark.timeout(1200)  # waits up to 400 s for model_2.pt, then trains again
def test_a_run_killed_mid_training_resumes_from_its_last_checkpoint(tmp_path):
    cmd = [sys.executable, str(ROOT / "scripts/train_ram.py"), *SHORT, "--max_iterations", "50", *TINY_AGENT, *NO_CHECK,
           "agent.save_interval=1"]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        deadline = time.time() + 400
        while time.time() < deadline and not list(tmp_path.glob("logs/rsl_rl/*/*/model_2.pt")):
            time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    (killed,) = _runs(tmp_path)
    models = sorted(killed.glob("model_*.pt"), key=lambda p: int(p.stem.split("_")[1]))
    assert len(models) >= 3
    for m in models:  # every checkpoint on disk is complete
        torch.load(m, weights_only=False)
    (killed / f".model_{len(models) + 5}.pt.tmp").write_bytes(b"partial")  # what a kill during torch.save leaves
    dead = killed.parent / "2099-01-01_00-00-00_died_before_its_first_checkpoint"  # the newest folder, no checkpoint
    (dead / "params").mkdir(parents=True)
    last = int(models[-1].stem.split("_")[1])
    resumed = _script("train_ram.py", *SHORT, "--resume", "--max_iterations", "2", *TINY_AGENT, *NO_CHECK,
                      "agent.save_interval=1", cwd=tmp_path)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert f"resuming from {models[-1]}" in resumed.stdout
    (new_run,) = [r for r in _runs(tmp_path) if r not in (killed, dead)]
    # numbering continues after the loaded checkpoint: two more iterations, last + 1 and last + 2, none repeated
    assert (sorted(p.name for p in new_run.glob("model_*.pt"))
            == sorted([f"model_{last + 1}.pt", f"model_{last + 2}.pt"]))
    saved = torch.load(new_run / f"model_{last + 2}.pt", weights_only=False)
    assert saved["iter"] == last + 2 and saved["num_updates"] == last + 3


@pytest.mark.parametrize("args, expected", [
    (["agent.actor.strategy=lora"], "agent.actor.strategy=lora: choose one of ram, decoder, full"),
    (["agent.actor.strategy=sft"], "pretrain_agdm.py init_checkpoint="),
    (["--checkpoint", "nowhere/agdm.pt"], "AGDM checkpoint nowhere/agdm.pt not found"),
    (["agent.actor.no_such_field=1"], "invalid override 'agent.actor.no_such_field=1'"),
    (["agent.algorithm.loss_terms.group_size=3"],
     "agent.algorithm.loss_terms.group_size=3 must be >= 1 and divide the"),
    (["agent.algorithm.loss_terms.group_advantage_coef=1.0"],
     "needs >= 0 and, when > 0, agent.algorithm.loss_terms.group_size >= 2"),
])
def test_train_ram_errors_are_one_line(tmp_path, args, expected):
    flags = [a for a in args if a.startswith("--") or not a.startswith("agent.")]
    overrides = [a for a in args if a.startswith("agent.")]
    proc = _script("train_ram.py", *SHORT, *flags, *overrides, cwd=tmp_path, timeout=300)
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert expected in lines[0]
