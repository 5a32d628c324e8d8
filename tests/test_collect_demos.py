"""Integration: scripts/collect_demos.py writes a GNM-format dataset from S2E-Urban-Wheeled that the
pretraining dataset reader loads (one short CPU run, with the Gaussian-splat camera)."""

import pickle
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from s2e.pretrain.dataset import GNMDataset, GNMDatasetCfg

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 160
MAX_LIN_VEL = 1.2  # the delivery robot's speed limit (m/s)


@pytest.mark.sim
def test_collect_demos_writes_a_readable_gnm_dataset(tmp_path):
    out = tmp_path / "demos"
    cmd = [sys.executable, str(ROOT / "scripts/collect_demos.py"), "--task", "S2E-Urban-Wheeled", "--num_envs", "2",
           "--mode", "base", "--frames", str(FRAMES), "--out", str(out), "--min_episode_frames", "5",
           "--perturb_prob", "0.05", "--perturb_steps", "3",
           "env.commands.nav.route.min_distance=5", "env.commands.nav.route.max_distance=8"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=600)
    assert proc.returncode == 0, (proc.stdout[-3000:], proc.stderr[-3000:])
    wrote = re.search(r"\[collect\] wrote (\d+) frames in (\d+) trajectories \((\d+) truncated\)", proc.stdout)
    assert wrote, proc.stdout[-3000:]

    meta = yaml.safe_load((out / "dataset.yaml").read_text())
    assert (meta["frame_dt"] == pytest.approx(0.1) and meta["task"] == "S2E-Urban-Wheeled" and meta["control_mode"]
            == "base")
    assert meta["expert"]["avoid_pedestrians"] is False
    assert meta["perturbation"] == {"prob": 0.05, "steps": 3, "angle": 0.6}
    run = meta["runs"][0]
    assert run["frame_pose_offset_m"] < 0.01, run  # each frame was rendered where the recorded pose puts the camera
    trajs = sorted(p for p in out.iterdir() if p.is_dir())
    assert not [p for p in trajs if p.name.startswith(".")]  # no half-written trajectory left behind
    lengths, complete, perturbed = [], 0, 0
    for folder in trajs:
        data = pickle.loads((folder / "traj_data.pkl").read_bytes())
        n = len(data["position"])
        assert sorted(p.name for p in folder.glob("*.jpg")) == sorted(f"{i}.jpg" for i in range(n))
        assert data["position"].shape == (n, 2) and data["yaw"].shape == (n,) and data["collisions"] == 0
        assert data["expert_action"].shape == (n,) and data["expert_action"].dtype == bool
        perturbed += int((~data["expert_action"]).sum())
        step = np.linalg.norm(np.diff(data["position"], axis=0), axis=1)
        assert step.max() < 2 * MAX_LIN_VEL * 0.1, folder  # one episode: no teleport (reset) inside a trajectory
        # each frame is its own render: where the robot moved, the view changed
        images = np.stack([np.asarray(Image.open(folder / f"{i}.jpg"), dtype=np.float32) for i in range(n)])
        change = np.abs(np.diff(images, axis=0)).mean(axis=(1, 2, 3))
        moved = step > 0.05
        assert moved.any() and (change[moved] > 0.5).all(), (folder, change[moved].min())
        lengths.append(n)
        complete += not data["truncated"]
    assert sum(lengths) == meta["frames"] == run["frames"] and FRAMES <= sum(lengths) <= FRAMES + 10
    assert complete >= 1  # at least one episode ran to its end and was written then
    assert 0 < perturbed < sum(lengths) // 2  # ~13% of the steps are in a burst at prob 0.05 x 3 steps
    assert len(trajs) == meta["trajectories"]
    # the summary line counts what is on disk
    assert tuple(int(v) for v in wrote.groups()) == (sum(lengths), len(trajs), len(trajs) - complete), wrote[0]

    ds = GNMDataset(GNMDatasetCfg(path=str(out), split="all", augment=False))  # frame_dt from dataset.yaml
    assert ds.frame_dt == pytest.approx(0.1) and len(ds) > 0
    s = ds[len(ds) // 2]
    assert s["images"].shape == (4, 3, 64, 64) and s["waypoints"].shape == (10, 2)
    assert float(s["images"].std()) > 0.02  # a rendered street, not a blank frame
    speeds = np.array([float(ds[i]["speed"]) for i in range(0, len(ds), 3)])
    # the expert drives at 0.8 x the speed limit: the poses' speed must be in that range
    assert 0.3 < np.median(speeds) <= 1.1 * MAX_LIN_VEL, speeds
