"""pretrain_agdm.py end to end on a tiny generated GNM dataset: checkpoints, held-out metrics, resume,
and a one-line error for a missing dataset (subprocesses, as a user runs it; CPU, ~1 min)."""

import json
import math
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
SMALL = ["threads=1", "model.d_model=32", "model.n_heads=2", "model.num_modes=4", "model.context=2",
         "model.image_size=[32,32]", "data.defaults.preload=false", "data.defaults.test_fraction=0.25",
         "train.batch_size=8", "train.eval_every=3", "train.save_every=3", "train.eval_batches=2", "train.log_every=1",
         "anchor_samples=50"]


def make_dataset(root: Path, trajectories: int = 8, frames: int = 40) -> None:
    rng = np.random.default_rng(0)
    for t in range(trajectories):
        folder = root / f"traj_{t}"
        folder.mkdir(parents=True)
        turn = rng.uniform(-0.3, 0.3)
        yaw = turn * 0.1 * np.arange(frames)
        step = np.stack([np.cos(yaw), np.sin(yaw)], -1) * 0.1
        pos = np.cumsum(step, 0)
        for i in range(frames):
            img = np.full((32, 32, 3), int(120 + 100 * math.sin(yaw[i])), dtype=np.uint8)
            Image.fromarray(img).save(folder / f"{i}.jpg")
        with open(folder / "traj_data.pkl", "wb") as f:
            pickle.dump({"position": pos, "yaw": yaw}, f)
    (root / "dataset.yaml").write_text("frame_dt: 0.1\n")


def pretrain(*overrides: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / "scripts/pretrain_agdm.py"), *SMALL, *overrides],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.mark.timeout(600)  # five real runs (three pretrainings, two evaluations), each its own process
def test_pretrain_writes_checkpoints_and_resumes(tmp_path):
    from s2e.models.checkpoint import load_checkpoint

    make_dataset(tmp_path / "data")
    common = [f"log_root={tmp_path / 'runs'}", "run_name=tiny",
              f"data.datasets=[{{path: {tmp_path / 'data'}, weight: 1.0}}]"]
    first = pretrain(*common, "train.iterations=6")
    assert first.returncode == 0, first.stderr[-3000:]
    run = tmp_path / "runs" / "tiny"
    for name in ("agdm.pt", "agdm_best.pt", "state.pt", "metrics.json", "curves.png"):
        assert (run / name).is_file(), name
    assert list((run / "tensorboard").glob("events.*"))
    history = json.loads((run / "metrics.json").read_text())
    assert [h["iteration"] for h in history] == [3, 6]
    assert all(math.isfinite(h["minADE"]) and h["minADE"] <= h["ADE"] + 1e-6 for h in history)
    model, meta = load_checkpoint(run / "agdm.pt")
    assert model.cfg.num_modes == 4 and meta["provenance"]["iterations"] == 6

    second = pretrain(*common, "train.iterations=9")
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resumed" in second.stdout and "at iteration 6" in second.stdout, second.stdout[-2000:]
    assert torch.load(run / "state.pt", weights_only=False)["step"] == 9
    assert [h["iteration"] for h in json.loads((run / "metrics.json").read_text())] == [3, 6, 9]

    # SFT: fine-tuning from the checkpoint keeps its config and anchors (the model section is ignored)
    base, _ = load_checkpoint(run / "agdm.pt")
    sft = pretrain(*common[:1], "run_name=sft", common[2], "train.iterations=3", "model.num_modes=7",
                   f"init_checkpoint={run / 'agdm.pt'}")
    assert sft.returncode == 0, sft.stderr[-3000:]
    tuned, _ = load_checkpoint(tmp_path / "runs" / "sft" / "agdm.pt")
    assert tuned.cfg == base.cfg and torch.equal(tuned.anchors, base.anchors)
    assert not torch.equal(tuned.score_head[-1].weight, base.score_head[-1].weight)

    # open-loop evaluation of the checkpoint against the straight-to-goal baseline: deterministic
    evals = [subprocess.run([sys.executable, str(ROOT / "scripts/eval_open_loop.py"), "--data", str(tmp_path / "data"),
                             "--model", f"tiny={run / 'agdm.pt'}", "--baseline_speed", "1.0", "--out",
                             str(tmp_path / f"eval{k}")],
                            capture_output=True, text=True, cwd=ROOT, timeout=600) for k in range(2)]
    assert all(e.returncode == 0 for e in evals), evals[0].stderr[-3000:]
    first, again = (json.loads((tmp_path / f"eval{k}" / "results.json").read_text())["results"] for k in range(2))
    assert first == again and set(first) == {"straight to goal (1.00 m/s)", "tiny"}
    assert first["tiny"]["minADE"] <= first["tiny"]["ADE"] + 1e-6 and "nll" not in first["straight to goal (1.00 m/s)"]
    assert "| tiny |" in (tmp_path / "eval0" / "results.md").read_text()


def test_straight_to_goal_stops_on_the_goal():
    from s2e.nav.baselines import straight_to_goal

    wp = straight_to_goal(torch.tensor([[3.0, 4.0], [0.0, -1.0], [0.0, 0.0]]), speed=1.0, num_waypoints=10,
                          waypoint_dt=0.25)
    j = torch.arange(1, 11) * 0.25
    assert torch.allclose(wp[0], j[:, None] * torch.tensor([0.6, 0.8]))
    assert torch.allclose(wp[1, :, 1], -j.clamp(max=1.0)) and torch.all(wp[1, :, 0] == 0)
    assert torch.all(wp[2] == 0)  # at the goal already: stay


def test_missing_dataset_is_one_line_error(tmp_path):
    proc = pretrain(f"log_root={tmp_path}", f"data.datasets=[{{path: {tmp_path / 'nowhere'}, weight: 1.0}}]")
    assert proc.returncode != 0
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1 and "nowhere" in lines[0], proc.stderr[-2000:]


def test_the_data_follows_the_models_sample_shape(tmp_path):
    """The data's frames and waypoint timing come from the model section (or the SFT checkpoint): one home."""
    from s2e.models.checkpoint import load_checkpoint

    make_dataset(tmp_path / "data")
    data = f"data.datasets=[{{path: {tmp_path / 'data'}, weight: 1.0}}]"
    short = pretrain(f"log_root={tmp_path / 'runs'}", "run_name=w8", data, "train.iterations=3",
                     "model.num_waypoints=8")
    assert short.returncode == 0, short.stderr[-3000:]
    # SFT with the model section at its defaults (10 waypoints): data and model keep the checkpoint's 8
    sft = pretrain(f"log_root={tmp_path / 'runs'}", "run_name=sft", data, "train.iterations=3",
                   f"init_checkpoint={tmp_path / 'runs' / 'w8' / 'agdm.pt'}")
    assert sft.returncode == 0, sft.stderr[-3000:]
    tuned, meta = load_checkpoint(tmp_path / "runs" / "sft" / "agdm.pt")
    assert tuned.cfg.num_waypoints == 8 and meta["provenance"]["config"]["data"]["defaults"]["num_waypoints"] == 8

    for override in ("data.defaults.waypoint_dt=0.2",
                     f"data.datasets=[{{path: {tmp_path / 'data'}, weight: 1.0, waypoint_dt: 0.2}}]"):
        proc = pretrain(f"log_root={tmp_path / 'runs'}", "run_name=bad", data, override)
        assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == (
            "error: the data gives waypoint_dt=0.2 but the model is built for 0.25: set model.waypoint_dt (the data "
            "follows it) and drop the data's own waypoint_dt"), proc.stderr[-2000:]
        assert not list((tmp_path / "runs" / "bad").glob("*.pt"))  # stopped before training: only Hydra's log
