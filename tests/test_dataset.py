"""The GNM/ViNT-format dataset reader: the sample contract, waypoint and goal geometry, augmentation,
mixing, splits and one-line errors (tiny generated datasets, CPU, fast)."""

import math
import pickle

import numpy as np
import pytest
import torch
from PIL import Image
from torch.utils.data import DataLoader

from s2e.pretrain.dataset import (
    DatasetError,
    GNMDataset,
    GNMDatasetCfg,
    MixedDataset,
    make_mixed_loader,
    waypoint_targets,
)
from s2e.urban.geometry import world_to_body

SIZE = 16


def frame_image(i: int, size: int = SIZE) -> np.ndarray:
    """Frame i: grey level 8*i on the left half, white on the right half (so a flip is visible)."""
    img = np.full((size, size, 3), (8 * i) % 200, dtype=np.uint8)
    img[:, size // 2:] = 255
    return img


def write_traj(root, name, position, yaw, images=None):
    folder = root / name
    folder.mkdir(parents=True)
    position = np.asarray(position, dtype=float)
    for i in range(len(position) if images is None else images):
        Image.fromarray(frame_image(i)).save(folder / f"{i}.jpg", quality=100)
    with open(folder / "traj_data.pkl", "wb") as f:
        pickle.dump({"position": position, "yaw": np.asarray(yaw, dtype=float)}, f)
    return folder


def straight(n, speed, dt, heading=0.0, start=(0.0, 0.0)):
    """Positions of a robot moving at `speed` along `heading`, one frame every dt."""
    s = speed * dt * np.arange(n)
    pos = np.stack([start[0] + s * math.cos(heading), start[1] + s * math.sin(heading)], -1)
    return pos, np.full(n, heading)


def cfg(path, **kw):
    base = dict(path=str(path), frame_dt=0.25, image_size=(SIZE, SIZE), split="all", augment=False, goal_range=(4, 4),
                goal_unit="frames")
    base.update(kw)
    return GNMDatasetCfg(**base)


@pytest.fixture
def straight_ds(tmp_path):
    pos, yaw = straight(30, 1.0, 0.25, heading=math.pi / 2, start=(3.0, -2.0))
    write_traj(tmp_path, "a", pos, yaw)
    return tmp_path


def test_sample_contract_and_collate(straight_ds):
    ds = GNMDataset(cfg(straight_ds))
    s = ds[0]
    assert set(s) == {"images", "goal", "waypoints", "speed", "metric_waypoints"}
    assert s["images"].shape == (4, 3, SIZE, SIZE) and s["images"].dtype == torch.float32
    assert 0.0 <= float(s["images"].min()) and float(s["images"].max()) <= 1.0
    assert s["goal"].shape == (2,) and s["waypoints"].shape == (10, 2) and s["metric_waypoints"].shape == (10, 2)
    assert s["speed"].shape == () and all(v.dtype == torch.float32 for v in s.values())
    batch = next(iter(DataLoader(ds, batch_size=5)))
    assert batch["images"].shape == (5, 4, 3, SIZE, SIZE) and batch["speed"].shape == (5,)
    assert batch["waypoints"].shape == (5, 10, 2)


def test_straight_line_at_one_metre_per_second(straight_ds):
    ds = GNMDataset(cfg(straight_ds))
    # 30 frames, horizon 10 waypoints x 0.25 s = 10 frames: frames 0..19 are samples (the horizon stays inside)
    assert len(ds) == 20
    for i in (0, 7, 19):
        s = ds[i]
        assert float(s["speed"]) == pytest.approx(1.0, abs=1e-5)
        j = torch.arange(1, 11, dtype=torch.float32)
        # heading +y, still straight ahead
        assert torch.allclose(s["waypoints"], torch.stack([j, torch.zeros(10)], -1), atol=1e-4)
        assert torch.allclose(s["metric_waypoints"], torch.stack([0.25 * j, torch.zeros(10)], -1), atol=1e-5)
        assert torch.allclose(s["goal"], torch.tensor([1.0, 0.0]), atol=1e-5)  # 4 frames ahead = 1 m


def test_waypoints_interpolate_between_frames(tmp_path):
    # 2 Hz frames, accelerating along x: x_i = 0.1 i^2; waypoints every 0.25 s fall halfway between frames
    n = 20
    pos = np.stack([0.1 * np.arange(n) ** 2, np.zeros(n)], -1)
    write_traj(tmp_path, "a", pos, np.zeros(n))
    ds = GNMDataset(cfg(tmp_path, frame_dt=0.5))
    assert len(ds) == n - 5  # horizon 2.5 s = 5 frames
    t = 3
    s = ds[t]
    f = t + 0.5 * np.arange(1, 11)
    lo = np.floor(f).astype(int)
    x = pos[lo, 0] + (f - lo) * (pos[np.minimum(lo + 1, n - 1), 0] - pos[lo, 0]) - pos[t, 0]
    assert np.allclose(s["metric_waypoints"][:, 0].numpy(), x, atol=1e-4)
    assert float(s["speed"]) == pytest.approx(x[-1] / 2.5, rel=1e-5)
    assert np.allclose(s["waypoints"].numpy(), s["metric_waypoints"].numpy() / (float(s["speed"]) * 0.25), atol=1e-4)


def test_curved_motion_in_robot_frame(tmp_path):
    # left turn on a circle of radius 2 m at 1 m/s, 20 Hz frames
    r, v, dt, n = 2.0, 1.0, 0.05, 100
    th = v / r * dt * np.arange(n) + 0.3
    pos = np.stack([r * np.sin(th), -r * np.cos(th)], -1)  # heading = th
    write_traj(tmp_path, "a", pos, th)
    ds = GNMDataset(cfg(tmp_path, frame_dt=dt))
    s = ds[10]
    a = v / r * 0.25 * np.arange(1, 11)
    expected = np.stack([r * np.sin(a), r * (1 - np.cos(a))], -1)
    assert np.allclose(s["metric_waypoints"].numpy(), expected, atol=1e-4)
    assert float(s["speed"]) == pytest.approx(v, rel=2e-3)  # chords are a little shorter than the arc
    assert float(s["metric_waypoints"][-1, 1]) > 0.5  # turning left: y grows
    # the batched torch helpers give the same targets (for trainers relabelling waypoints)
    normalized, speed = waypoint_targets(s["metric_waypoints"][None], 0.25)
    assert torch.allclose(normalized[0], s["waypoints"], atol=1e-4) and torch.allclose(speed[0], s["speed"])
    world = torch.as_tensor(pos[10 + 5 * np.arange(1, 11)])
    assert torch.allclose(world_to_body(world - torch.as_tensor(pos[10]), torch.tensor(th[10])).float(),
                          s["metric_waypoints"], atol=1e-5)


def test_goal_is_a_later_frame_in_the_robot_frame(tmp_path):
    rng = np.random.default_rng(0)
    pos = np.cumsum(rng.normal(size=(40, 2)) * 0.2, 0)
    yaw = rng.uniform(-math.pi, math.pi, 40)
    write_traj(tmp_path, "a", pos, yaw)
    ds = GNMDataset(cfg(tmp_path, goal_range=(6, 6)))
    t = 5
    c, s = math.cos(yaw[t]), math.sin(yaw[t])
    d = pos[t + 6] - pos[t]
    assert np.allclose(ds[t]["goal"].numpy(), [c * d[0] + s * d[1], -s * d[0] + c * d[1]], atol=1e-4)
    # a range: the goal is one of the frames within it (seconds here: 1-2 s = 4-8 frames), clamped at the end
    ds = GNMDataset(cfg(tmp_path, goal_range=(1.0, 2.0), goal_unit="s", split="all"))
    assert ((ds.goal_lo == torch.clamp(ds.sample_t + 4, max=39)).all()
            and (ds.goal_hi == torch.clamp(ds.sample_t + 8, max=39)).all())
    seen = set()
    for _ in range(40):
        g = ds[0]["goal"].numpy()
        match = [k for k in range(4, 9) if np.allclose(g, _in_frame(pos[k] - pos[0], yaw[0]), atol=1e-4)]
        assert len(match) == 1
        seen.add(match[0])
    assert len(seen) >= 3


def _in_frame(d, yaw):
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([c * d[0] + s * d[1], -s * d[0] + c * d[1]])


def test_goal_range_in_metres_of_path(tmp_path):
    pos, yaw = straight(40, 1.0, 0.25)  # 0.25 m per frame
    write_traj(tmp_path, "a", pos, yaw)
    ds = GNMDataset(cfg(tmp_path, goal_range=(2.0, 3.0), goal_unit="m"))
    assert (ds.goal_lo[:5] == ds.sample_t[:5] + 8).all() and (ds.goal_hi[:5] == ds.sample_t[:5] + 12).all()
    for _ in range(10):
        assert 2.0 - 1e-4 <= float(ds[0]["goal"][0]) <= 3.0 + 1e-4


def test_context_frames_oldest_first_with_stride_and_start_padding(tmp_path):
    pos, yaw = straight(30, 1.0, 0.25)
    write_traj(tmp_path, "a", pos, yaw)
    ds = GNMDataset(cfg(tmp_path, context=3, context_stride=2))
    level = lambda s: [round(float(x) * 255 / 8) for x in s["images"][:, 0, 0, 0]]  # left half encodes the frame
    assert level(ds[10]) == [6, 8, 10]
    assert level(ds[1]) == [0, 0, 1]  # before the start: frame 0 repeated
    ds = GNMDataset(cfg(tmp_path, context=3, context_stride=2, pad_context=False))
    assert len(ds) == 20 - 4 and level(ds[0]) == [0, 2, 4]


def test_flip_mirrors_images_goal_and_waypoints_together(tmp_path):
    rng = np.random.default_rng(1)
    th = np.cumsum(rng.normal(size=30) * 0.1)
    pos = np.cumsum(np.stack([np.cos(th), np.sin(th)], -1) * 0.25, 0)
    write_traj(tmp_path, "a", pos, th)
    plain = GNMDataset(cfg(tmp_path, split="train", test_fraction=0.0, augment=False))
    flipped = GNMDataset(cfg(tmp_path, split="train", test_fraction=0.0, augment=True, flip_prob=1.0, brightness=0.0,
                             contrast=0.0))
    a, b = plain[5], flipped[5]
    assert torch.allclose(b["images"], a["images"].flip(-1))
    assert float(a["images"][0, 0, 0, -1]) > 0.9 and float(b["images"][0, 0, 0, 0]) > 0.9  # white side moved left
    for key in ("goal", "waypoints", "metric_waypoints"):
        assert torch.allclose(b[key][..., 0], a[key][..., 0]) and torch.allclose(b[key][..., 1], -a[key][..., 1]), key
    assert torch.equal(b["speed"], a["speed"])
    # never on the test split
    test = GNMDataset(cfg(tmp_path, split="test", test_fraction=1.0, augment=True, flip_prob=1.0))
    assert test.trajectories == ["a"] and torch.allclose(test[5]["images"], a["images"])


def test_colour_jitter_is_one_factor_for_all_frames_of_a_sample(tmp_path):
    pos, yaw = straight(30, 1.0, 0.25)
    write_traj(tmp_path, "a", pos, yaw)
    plain = GNMDataset(cfg(tmp_path, split="train", test_fraction=0.0, augment=False))
    jit = GNMDataset(cfg(tmp_path, split="train", test_fraction=0.0, augment=True, flip_prob=0.0, brightness=0.3,
                         contrast=0.0))
    torch.manual_seed(0)
    ratios = set()
    for _ in range(5):
        a, b = plain[12]["images"][:, 0, 0, 0], jit[12]["images"][:, 0, 0, 0]  # dark pixels: no clipping
        r = b / a
        assert torch.allclose(r, r[0].expand_as(r), atol=1e-3)
        ratios.add(round(float(r[0]), 3))
    assert len(ratios) > 1  # a new factor per sample


def test_mixing_weights_set_the_proportions(tmp_path):
    for k in range(3):
        write_traj(tmp_path / "big", f"t{k}", *straight(40, 1.0, 0.25))
    write_traj(tmp_path / "small", "t0", *straight(15, 1.0, 0.25))
    big, small = GNMDataset(cfg(tmp_path / "big")), GNMDataset(cfg(tmp_path / "small"))
    assert len(big) == 90 and len(small) == 5
    mixed = MixedDataset([big, small], [1.0, 3.0])
    idx = torch.multinomial(mixed.sample_weights(), 8000, replacement=True, generator=torch.Generator().manual_seed(0))
    assert float((idx >= len(big)).float().mean()) == pytest.approx(0.75, abs=0.02)
    loader = make_mixed_loader([cfg(tmp_path / "big"), cfg(tmp_path / "small")], [1.0, 3.0], batch_size=8,
                               num_samples=16, seed=0)
    batches = list(loader)
    assert len(batches) == 2 and batches[0]["images"].shape == (8, 4, 3, SIZE, SIZE)
    with pytest.raises(DatasetError, match="image_size"):
        MixedDataset([big, GNMDataset(cfg(tmp_path / "small", image_size=(8, 8)))])


def test_train_test_split_is_by_trajectory_and_seeded(tmp_path):
    for k in range(10):
        write_traj(tmp_path, f"traj_{k}", *straight(15, 1.0, 0.25, start=(k, 0.0)))
    train = GNMDataset(cfg(tmp_path, split="train", test_fraction=0.3, split_seed=3))
    test = GNMDataset(cfg(tmp_path, split="test", test_fraction=0.3, split_seed=3))
    assert len(test.trajectories) == 3 and len(train.trajectories) == 7
    assert not set(train.trajectories) & set(test.trajectories)
    assert sorted(train.trajectories + test.trajectories) == train.all_trajectories
    assert test.trajectories == GNMDataset(cfg(tmp_path, split="test", test_fraction=0.3, split_seed=3)).trajectories
    assert test.trajectories != GNMDataset(cfg(tmp_path, split="test", test_fraction=0.3, split_seed=4)).trajectories
    starts = {round(float(test.position[test.starts[int(t)], 0])) for t in test.sample_traj}
    assert starts == {int(n.split("_")[1]) for n in test.trajectories}


def test_dataset_yaml_supplies_frame_dt_and_tmp_folders_are_skipped(tmp_path):
    write_traj(tmp_path, "a", *straight(30, 2.0, 0.1))
    (tmp_path / ".tmp_traj_half_written").mkdir()
    (tmp_path / "dataset.yaml").write_text("frame_dt: 0.1\ntask: S2E-Urban-Wheeled\n")
    ds = GNMDataset(cfg(tmp_path, frame_dt=None))
    assert ds.frame_dt == 0.1 and ds.cfg.meta["task"] == "S2E-Urban-Wheeled" and ds.trajectories == ["a"]
    assert float(ds[0]["speed"]) == pytest.approx(2.0, abs=1e-4)
    assert len(ds) == 30 - 25


def test_preload_gives_the_same_samples(straight_ds):
    lazy, pre = GNMDataset(cfg(straight_ds)), GNMDataset(cfg(straight_ds, preload=True))
    assert pre.images.shape == (30, SIZE, SIZE, 3) and pre.images.dtype == torch.uint8
    for i in (0, 11):
        assert all(torch.equal(lazy[i][k], pre[i][k]) for k in lazy[i])


def test_images_are_resized(straight_ds):
    assert GNMDataset(cfg(straight_ds, image_size=(8, 12)))[0]["images"].shape == (4, 3, 8, 12)


# -- errors: one line, naming the file --------------------------------------------------------------------


def _error(c: GNMDatasetCfg, index: int | None = None) -> str:
    with pytest.raises(DatasetError) as info:
        ds = GNMDataset(c)
        if index is not None:
            ds[index]
    msg = str(info.value)
    assert "\n" not in msg, msg
    return msg


def _pickle(path, obj):
    with open(path, "wb") as f:
        pickle.dump(obj, f)


def test_error_missing_folder_and_no_trajectories(tmp_path):
    assert "dataset folder not found" in _error(cfg(tmp_path / "nope")) and "nope" in _error(cfg(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    assert "no trajectories" in _error(cfg(tmp_path / "empty"))


def test_error_frame_dt_unknown(straight_ds):
    assert "frame_dt" in _error(cfg(straight_ds, frame_dt=None))


def test_perturbed_actions_are_never_labels(tmp_path):
    """Frames 12-14 carried a perturbed action: every sample whose 10-frame horizon needs one of them
    is dropped, while the frames right after the burst stay in as (recovery) samples."""
    pos, yaw = straight(40, 1.0, 0.25)
    folder = write_traj(tmp_path, "a", pos, yaw)
    expert = np.ones(40, dtype=bool)
    expert[12:15] = False
    _pickle(folder / "traj_data.pkl", {"position": pos, "yaw": yaw, "expert_action": expert})
    ds = GNMDataset(cfg(tmp_path))
    # without the mask frames 0..29 are samples; t uses the actions of frames t..t+9
    assert ds.sample_t.tolist() == [0, 1, 2] + list(range(15, 30))


@pytest.mark.parametrize("case", ["missing", "corrupt", "not_dict", "missing_key", "bad_shape", "yaw_length", "nan",
                                  "expert_length"])
def test_error_bad_traj_data(tmp_path, case):
    folder = write_traj(tmp_path, "a", *straight(20, 1.0, 0.25))
    pkl = folder / "traj_data.pkl"
    pos, yaw = straight(20, 1.0, 0.25)
    if case == "missing":
        pkl.unlink()
    elif case == "corrupt":
        pkl.write_bytes(b"\x80\x04this is not a pickle")
    elif case == "not_dict":
        _pickle(pkl, [1, 2])
    elif case == "missing_key":
        _pickle(pkl, {"position": pos})
    elif case == "bad_shape":
        _pickle(pkl, {"position": pos[:, 0], "yaw": yaw})
    elif case == "yaw_length":
        _pickle(pkl, {"position": pos, "yaw": yaw[:-1]})
    elif case == "nan":
        pos[3, 1] = np.nan
        _pickle(pkl, {"position": pos, "yaw": yaw})
    elif case == "expert_length":
        _pickle(pkl, {"position": pos, "yaw": yaw, "expert_action": np.ones(5, dtype=bool)})
    msg = _error(cfg(tmp_path))
    assert str(pkl) in msg
    assert {"missing": "missing", "corrupt": "corrupt", "not_dict": "expected a dict", "missing_key": "'yaw'",
            "bad_shape": "shape", "yaw_length": "'yaw' has shape", "nan": "NaN",
            "expert_length": "'expert_action'"}[case] in msg


def test_error_missing_jpg_names_it(tmp_path):
    folder = write_traj(tmp_path, "a", *straight(20, 1.0, 0.25))
    (folder / "7.jpg").unlink()
    msg = _error(cfg(tmp_path))
    assert str(folder / "7.jpg") in msg and "19 jpg frames" in msg and "20 positions" in msg


def test_error_image_count_differs_from_positions(tmp_path):
    folder = write_traj(tmp_path, "a", *straight(20, 1.0, 0.25), images=22)
    msg = _error(cfg(tmp_path))
    assert str(folder) in msg and "22 jpg frames" in msg and "20 positions" in msg


def test_error_unreadable_jpg_names_it(tmp_path):
    folder = write_traj(tmp_path, "a", *straight(20, 1.0, 0.25))
    (folder / "3.jpg").write_bytes(b"not a jpeg at all")
    msg = _error(cfg(tmp_path), index=3)
    assert str(folder / "3.jpg") in msg and "unreadable image" in msg
    assert str(folder / "3.jpg") in _error(cfg(tmp_path, preload=True))


def test_writer_round_trip_through_the_reader(tmp_path):
    """DatasetWriter -> GNMDataset: two envs' episodes written as trajectories (a short one and a collided one
    dropped, a running one written as truncated) read back with the same poses, expert flags and frames."""
    from s2e.pretrain.dataset import load_image, read_meta
    from s2e.pretrain.dataset_writer import DatasetWriter, prepare_folder, write_meta

    root = tmp_path / "demos"
    assert prepare_folder(root, append=False) == {}
    writer = DatasetWriter(root, num_envs=2, prefix="traj_3", min_frames=3, jpeg_quality=95, extra={"seed": 3})
    rng = np.random.default_rng(0)
    steps = 12
    poses = rng.normal(size=(steps, 2, 3))
    expert = rng.random((steps, 2)) > 0.3
    frames = np.stack([np.stack([frame_image(t + 10 * e) for e in range(2)]) for t in range(steps)])
    ends = {4: (0, True, 0), 6: (1, False, 2), 7: (0, False, 0), 9: (1, False, 0)}  # step -> env, success, collisions
    for t in range(steps):
        writer.append(frames[t].copy(), poses[t].copy(), expert[t].copy())
        if t in ends:
            env, success, collisions = ends[t]
            writer.end_episode(env, success, collisions)
    # env 1: 2 < 3 frames
    assert writer.kept_in_progress(np.array([0, 1])) == 4 and writer.kept_in_progress(np.array([1, 0])) == 0
    writer.close(np.zeros(2, dtype=int))
    meta = _meta(0.25, [{"frames": 15, "trajectories": 4}])
    write_meta(root, meta)
    # env 0: steps 0-4 (success), 5-7 (3 frames), 8-11 (truncated); env 1: 0-6 collided (dropped), 7-9, 10-11 (short)
    expected = {"traj_3_0_0": (0, 0, 5, True, False), "traj_3_0_1": (0, 5, 8, False, False),
                "traj_3_0_2": (0, 8, 12, False, True), "traj_3_1_1": (1, 7, 10, False, False)}
    assert writer.counts == {"frames": 15, "trajectories": 4, "truncated": 1, "dropped_collision": 1,
                             "dropped_short": 1, "episodes": 4, "successes": 1}
    assert sorted(p.name for p in root.iterdir()) == sorted([*expected, "dataset.yaml"])
    assert read_meta(root) == meta.to_dict() and read_meta(root)["frames"] == 15  # the schema's keys, totals added

    ds = GNMDataset(cfg(root, num_waypoints=1, waypoint_dt=0.25, goal_range=(0, 0)))
    assert ds.trajectories == sorted(expected)
    for k, name in enumerate(ds.trajectories):
        env, a, b, success, truncated = expected[name]
        rows = slice(int(ds.starts[k]), int(ds.starts[k] + ds.lengths[k]))
        assert ds.lengths[k] == b - a
        assert torch.equal(ds.position[rows], torch.as_tensor(poses[a:b, env, :2]))
        assert torch.equal(ds.yaw[rows], torch.as_tensor(poses[a:b, env, 2]))
        assert np.array_equal(ds.expert_action[rows], expert[a:b, env])
        data = pickle.loads((root / name / "traj_data.pkl").read_bytes())
        assert ((data["success"], data["collisions"], data["truncated"], data["env"], data["seed"])
                == (success, 0, truncated, env, 3))
        for f in range(b - a):  # JPEG: flat blocks come back within a few grey levels
            back = load_image(ds.frame_path(k, f), (SIZE, SIZE)).astype(int)
            assert np.abs(back - frames[a + f, env]).max() <= 4, (name, f)


def _meta(frame_dt: float, runs: list[dict]):
    from s2e.pretrain.dataset import DatasetMeta

    return DatasetMeta(frame_dt=frame_dt, task="tiny", robot="wheeled", control_mode="base", content="empty",
                       camera={"width": SIZE, "height": SIZE}, expert={"speed": 0.8}, perturbation={},
                       start_yaw_noise=0.0, keep_collisions=False, min_episode_frames=3, runs=runs)


def test_writer_folder_checks(tmp_path):
    from s2e.pretrain.dataset_writer import FolderNotEmptyError, prepare_folder, write_meta

    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetError, match="is a file, not a folder"):
        prepare_folder(tmp_path / "file", append=False)
    root = tmp_path / "demos"
    (root / ".tmp_traj_0_0_0").mkdir(parents=True)  # left by a killed run
    (root / "traj_0_0_0").mkdir()
    meta = _meta(0.1, [{"seed": 0, "frames": 3, "trajectories": 1}])
    write_meta(root, meta)
    with pytest.raises(FolderNotEmptyError, match=r"is not empty \(2 entries\)"):
        prepare_folder(root, append=False)
    assert prepare_folder(root, append=True) == meta.to_dict()
    assert not (root / ".tmp_traj_0_0_0").exists()
