"""Offline navigation videos in the GNM/ViNT format, as (context frames, goal, future waypoints) samples.

A dataset folder holds one folder per trajectory::

    <root>/
      dataset.yaml            (optional; written by scripts/collect_demos.py: frame_dt, ...)
      <traj>/0.jpg ... <T-1>.jpg
      <traj>/traj_data.pkl    {"position": [T, 2] world x, y, "yaw": [T] rad,
                               optional "expert_action": [T] bool (see below)}

Frame i was taken at time i * frame_dt with the robot at position[i], heading yaw[i]. A sample is
anchored at a frame t ("now") of one trajectory:

* "images"   float32 [k, 3, H, W] in [0, 1]: frames t - (k-1)*s, ..., t (s = context_stride),
  oldest first. Context frames before the trajectory's start repeat frame 0 (as the simulator's
  camera buffer does after a reset); `pad_context=False` drops those samples instead.
* "goal"     float32 [2]: the position of a later frame g of the same trajectory (drawn uniformly
  from the frames within `goal_range`, in seconds, frames or metres of path ahead, clamped to the
  last frame; fixed per sample on the 'test' split) in the robot frame at t (x fwd, y left), m.
* "metric_waypoints" float32 [W, 2]: robot-frame positions at times t*frame_dt + j*waypoint_dt,
  j = 1..W, linearly interpolated between frames. Samples whose horizon runs past the last frame
  are excluded (no pose repetition: a robot that stops is visible in the data as slow frames).
  When traj_data.pkl has "expert_action" (False where the demonstrator's action was perturbed, see
  s2e.nav.perturbation), samples whose horizon depends on a perturbed action are excluded too: the
  perturbed states stay in the data as inputs (with their recovery as label), never as labels.
* "speed"    float32 []: path length of the W metric waypoints from the current position divided
  by W * waypoint_dt, clamped >= min_speed (0.05 m/s).
* "waypoints" float32 [W, 2]: metric_waypoints / (speed * waypoint_dt) (the AGDM's normalized units).

Samples of the 'train' (and 'all') split can be augmented: a colour jitter (one brightness and contrast factor per
sample, the same for its k frames) and a horizontal flip that mirrors the images and negates the y of
the goal and the waypoints. Bad input raises `DatasetError` with one line naming the file.

`MixedDataset` / `make_mixed_loader` mix several datasets with weights (a weighted sampler: each
batch element comes from dataset d with probability weights[d] / sum(weights)).
"""

from __future__ import annotations

import math
import os
import pickle
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import ConcatDataset, DataLoader, Dataset, WeightedRandomSampler

from ..urban.geometry import world_to_body_np

TRAJ_FILE = "traj_data.pkl"
META_FILE = "dataset.yaml"
_JPG = re.compile(r"^(\d+)\.jpg$")


class DatasetError(ValueError):
    """A dataset that cannot be read as described: one line, naming the file and the problem."""


@dataclass
class DatasetMeta:
    """The schema of a collected dataset's dataset.yaml: what the reader takes from it (`frame_dt`, `metric_scale`)
    and how the data was made. scripts/collect_demos.py fills it and writes it with dataset_writer.write_meta;
    GNMDataset reads frame_dt and metric_scale (a public dataset's dataset.yaml may hold only those), eval_open_loop.py
    the expert's speed, collect_demos.py --append the frame_dt and camera it must match."""

    frame_dt: float
    """Seconds between consecutive frames (the env step)."""
    task: str
    robot: str
    control_mode: str
    content: str | list[str]
    """The scene content, or the sorted contents of the runs appended to the dataset."""
    camera: dict
    """width, height, hfov_deg, pitch_deg, offset_pos, body."""
    expert: dict
    """speed (m/s), avoid_pedestrians."""
    perturbation: dict
    """prob, steps, angle, and the learner policy that drove the perturbed steps, if any."""
    start_yaw_noise: float
    keep_collisions: bool
    min_episode_frames: int
    runs: list[dict]
    """One entry per collection run: task, seed, content, counts (frames, trajectories, ...), command, ..."""
    format: str = "gnm"
    metric_scale: float = 1.0
    """Multiplies the trajectories' positions to give metres."""
    pose_frame: str = "env tile frame: x, y (m), yaw (rad, about z, 0 = +x)"

    def to_dict(self) -> dict:
        """The YAML mapping, with the totals of the runs' frames and trajectories."""
        keys = ("format", "frame_dt", "metric_scale", "pose_frame", "task", "robot", "control_mode", "content",
                "camera", "expert", "perturbation", "start_yaw_noise", "keep_collisions", "min_episode_frames")
        return {**{k: getattr(self, k) for k in keys}, "frames": sum(r["frames"] for r in self.runs),
                "trajectories": sum(r["trajectories"] for r in self.runs), "runs": self.runs}


@dataclass
class GNMDatasetCfg:
    path: str = ""
    """Dataset root: one folder per trajectory (0.jpg ... and traj_data.pkl)."""
    frame_dt: float | None = None
    """Seconds between consecutive frames. None: read from the root's dataset.yaml (error if absent).
    Public datasets differ (e.g. GNM's processed sets at 4-5 Hz, our collected ones at the env's 10 Hz)."""
    metric_scale: float | None = None
    """Multiplies `position` to give metres (None: dataset.yaml's value, else 1.0)."""
    context: int = 4
    """k: frames per sample, the last one being the current frame."""
    context_stride: int = 1
    """Dataset frames between consecutive context frames."""
    pad_context: bool = True
    """Repeat frame 0 for context frames before the trajectory start (False: drop those samples)."""
    image_size: tuple[int, int] = (64, 64)
    """(H, W) the frames are resized to."""
    waypoint_dt: float = 0.25
    num_waypoints: int = 10
    goal_range: tuple[float, float] = (1.0, 20.0)
    """(min, max) of how far ahead of the current frame the goal frame is, in `goal_unit`."""
    goal_unit: str = "s"
    """'s' (seconds), 'frames', or 'm' (metres of path ahead). Clamped to the trajectory's last frame."""
    min_speed: float = 0.05
    split: str = "train"
    """'train', 'test' or 'all'. The split is by trajectory."""
    test_fraction: float = 0.1
    split_seed: int = 0
    augment: bool = True
    """Augment (colour jitter, flip) the 'train' and 'all' splits; never the 'test' split."""
    flip_prob: float = 0.5
    brightness: float = 0.2
    """Brightness factor drawn from [1 - b, 1 + b]."""
    contrast: float = 0.2
    """Contrast factor drawn from [1 - c, 1 + c] (about each sample's mean grey level)."""
    preload: bool = False
    """Decode every frame once into one uint8 tensor [N, H, W, 3] (small datasets: much faster on CPU)."""
    meta: dict = field(default_factory=dict)
    """Filled by the reader: the root's dataset.yaml, if any."""


def read_meta(root: Path) -> dict:
    path = root / META_FILE
    if not path.is_file():
        return {}
    import yaml

    try:
        meta = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise DatasetError(f"{path}: unreadable YAML ({str(err).splitlines()[0]})") from err
    if not isinstance(meta, dict):
        raise DatasetError(f"{path}: expected a mapping of settings, got {type(meta).__name__}")
    return meta


def load_traj_data(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """position [T, 2], yaw [T] (float64) and expert_action [T] (bool; all True when absent) of one
    trajectory's traj_data.pkl, validated."""
    if not path.is_file():
        raise DatasetError(f"{path}: missing (each trajectory folder needs traj_data.pkl)")
    try:
        with open(path, "rb") as f:
            data = pickle.load(f)
    except Exception as err:  # truncated / not a pickle / unknown classes
        raise DatasetError(f"{path}: corrupt pickle ({type(err).__name__}: "
                           f"{str(err).splitlines()[0] if str(err) else ''})") from err
    if not isinstance(data, dict):
        raise DatasetError(f"{path}: expected a dict with 'position' and 'yaw', got {type(data).__name__}")
    missing = [k for k in ("position", "yaw") if k not in data]
    if missing:
        raise DatasetError(f"{path}: missing key(s) {missing} (has {sorted(map(str, data))})")
    try:
        pos = np.asarray(data["position"], dtype=np.float64)
        yaw = np.asarray(data["yaw"], dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DatasetError(f"{path}: 'position'/'yaw' are not numeric arrays ({err})") from err
    if pos.ndim != 2 or pos.shape[1] < 2:
        raise DatasetError(f"{path}: 'position' has shape {list(pos.shape)}, expected [T, 2]")
    pos = pos[:, :2]
    yaw = yaw.reshape(-1) if yaw.ndim == 2 and yaw.shape[1] == 1 else yaw
    if yaw.ndim != 1 or len(yaw) != len(pos):
        raise DatasetError(f"{path}: 'yaw' has shape {list(yaw.shape)}, expected [{len(pos)}] like 'position'")
    if not (np.isfinite(pos).all() and np.isfinite(yaw).all()):
        raise DatasetError(f"{path}: 'position' or 'yaw' contains NaN or inf")
    expert = np.asarray(data.get("expert_action", np.ones(len(pos), dtype=bool)))
    if expert.shape != (len(pos),) or not (expert.dtype == bool or np.isin(expert, (0, 1)).all()):
        raise DatasetError(f"{path}: 'expert_action' must be [{len(pos)}] booleans like 'position', got shape "
                           f"{list(expert.shape)}")
    return pos, yaw, expert.astype(bool)


def _frame_count(folder: Path, expected: int) -> None:
    """Check that folder holds exactly 0.jpg ... (expected-1).jpg."""
    idx = sorted(int(m.group(1)) for name in os.listdir(folder) if (m := _JPG.match(name)))
    if idx == list(range(expected)):
        return
    have = set(idx)
    gap = next((i for i in range(expected) if i not in have), None)
    detail = f"first missing {folder / f'{gap}.jpg'}" if gap is not None else f"extra frames up to {idx[-1]}.jpg"
    raise DatasetError(f"{folder}: {len(idx)} jpg frames but traj_data.pkl has {expected} positions ({detail})")


def load_image(path: Path | str, size: tuple[int, int]) -> np.ndarray:
    """One frame as uint8 [H, W, 3], resized to size = (H, W)."""
    from PIL import Image, UnidentifiedImageError

    h, w = size
    try:
        with Image.open(path) as img:
            img.draft("RGB", (w, h))  # JPEG: decode at a reduced scale when much larger than needed
            img = img.convert("RGB")
            if img.size != (w, h):
                img = img.resize((w, h), Image.BILINEAR)
            return np.array(img, dtype=np.uint8)
    except FileNotFoundError as err:
        raise DatasetError(f"{path}: missing image") from err
    except (OSError, UnidentifiedImageError, SyntaxError, ValueError) as err:
        reason = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise DatasetError(f"{path}: unreadable image ({reason})") from err


def split_trajectories(names: Sequence[str], split: str, test_fraction: float, seed: int) -> list[str]:
    """Deterministic split by trajectory: a seeded permutation of the sorted names; the first
    round(test_fraction * n) (at least 1 when test_fraction > 0 and n >= 2) are the test split."""
    names = sorted(names)
    if split == "all":
        return names
    if split not in ("train", "test"):
        raise DatasetError(f"split={split!r}: choose 'train', 'test' or 'all'")
    n = len(names)
    n_test = int(round(test_fraction * n))
    if 0 < test_fraction < 1 and n >= 2:
        n_test = min(max(n_test, 1), n - 1)
    perm = np.random.default_rng(seed).permutation(n)
    test = {names[i] for i in perm[:n_test]}
    return [s for s in names if (s in test) == (split == "test")]


def waypoint_targets(metric: torch.Tensor, waypoint_dt: float,
                     min_speed: float = 0.05) -> tuple[torch.Tensor, torch.Tensor]:
    """Metric waypoints [..., W, 2] -> (normalized waypoints [..., W, 2], speed [...]) per the data contract."""
    steps = torch.diff(metric, dim=-2, prepend=torch.zeros_like(metric[..., :1, :]))
    speed = (steps.norm(dim=-1).sum(-1) / (metric.shape[-2] * waypoint_dt)).clamp_min(min_speed)
    return metric / (speed[..., None, None] * waypoint_dt), speed


class GNMDataset(Dataset):
    """One GNM/ViNT-format dataset (one split of it); see the module docstring for a sample."""

    def __init__(self, cfg: GNMDatasetCfg):
        self.cfg = cfg
        root = Path(cfg.path).expanduser()
        if not root.is_dir():
            raise DatasetError(f"{root}: dataset folder not found")
        self.root = root
        cfg.meta = read_meta(root)
        frame_dt = cfg.frame_dt if cfg.frame_dt is not None else cfg.meta.get("frame_dt")
        if frame_dt is None:
            raise DatasetError(f"{root}: frame_dt unknown: set GNMDatasetCfg.frame_dt (seconds between frames) or add "
                               f"it to {META_FILE}")
        if not (isinstance(frame_dt, (int, float)) and frame_dt > 0):
            raise DatasetError(f"{root}: frame_dt must be a positive number of seconds, got {frame_dt!r}")
        self.frame_dt = float(frame_dt)
        scale = cfg.metric_scale if cfg.metric_scale is not None else cfg.meta.get("metric_scale", 1.0)
        self.metric_scale = float(scale)
        if cfg.context < 1 or cfg.context_stride < 1 or cfg.num_waypoints < 1 or cfg.waypoint_dt <= 0:
            raise DatasetError(f"{root}: context, context_stride and num_waypoints must be >= 1 and waypoint_dt > 0")
        if cfg.goal_unit not in ("s", "frames", "m"):
            raise DatasetError(f"{root}: goal_unit={cfg.goal_unit!r}: choose 's', 'frames' or 'm'")
        if cfg.goal_range[0] > cfg.goal_range[1]:
            raise DatasetError(f"{root}: goal_range {tuple(cfg.goal_range)} has min > max")

        # .tmp_*: being written
        folders = [p.name for p in os.scandir(root) if p.is_dir() and not p.name.startswith(".")]
        if not folders:
            raise DatasetError(f"{root}: no trajectories (expected one folder per trajectory with 0.jpg ... and "
                               f"{TRAJ_FILE})")
        self.all_trajectories = sorted(folders)
        self.trajectories = split_trajectories(folders, cfg.split, cfg.test_fraction, cfg.split_seed)

        positions, yaws, experts, starts = [], [], [], [0]
        for name in self.trajectories:
            pos, yaw, expert = load_traj_data(root / name / TRAJ_FILE)
            _frame_count(root / name, len(pos))
            positions.append(pos * self.metric_scale)
            yaws.append(yaw)
            experts.append(expert)
            starts.append(starts[-1] + len(pos))
        self.lengths = np.diff(starts)
        self.starts = np.asarray(starts[:-1], dtype=np.int64)
        self.position = torch.as_tensor(np.concatenate(positions) if positions else np.zeros((0, 2)),
                                        dtype=torch.float64)
        self.yaw = torch.as_tensor(np.concatenate(yaws) if yaws else np.zeros(0), dtype=torch.float64)
        self.expert_action = np.concatenate(experts) if experts else np.zeros(0, dtype=bool)
        self._pos_np, self._yaw_np = self.position.numpy(), self.yaw.numpy()
        self._build_index()
        self.images: torch.Tensor | None = self._preload() if cfg.preload else None
        """uint8 [frames, H, W, 3] when preloaded (frame f of trajectory i at starts[i] + f)."""
        self._images_np = self.images.numpy() if self.images is not None else None

    # -- index -----------------------------------------------------------------------------------------

    def _build_index(self) -> None:
        """Per sample: trajectory, current frame t and the [g_lo, g_hi] range of goal frames (vectorized)."""
        cfg = self.cfg
        horizon = cfg.num_waypoints * cfg.waypoint_dt / self.frame_dt  # frames spanned by the waypoints
        first = 0 if cfg.pad_context else (cfg.context - 1) * cfg.context_stride
        span = int(math.ceil(horizon - 1e-6))  # actions at frames t .. t+span-1 shape the waypoints of t
        traj, t, g_lo, g_hi = [], [], [], []
        for i, (start, n) in enumerate(zip(self.starts, self.lengths)):
            last = int(math.floor(n - 1 - horizon + 1e-6))  # last frame whose horizon stays within the trajectory
            if last < first:
                continue
            ts = np.arange(first, last + 1)
            perturbed = np.concatenate([[0], np.cumsum(~self.expert_action[start:start + n])])
            ts = ts[perturbed[ts + span] == perturbed[ts]]
            if len(ts) == 0:
                continue
            if cfg.goal_unit == "m":
                p = self.position[start:start + n].numpy()
                arc = np.concatenate([[0.0], np.cumsum(np.linalg.norm(np.diff(p, axis=0), axis=1))])
                lo = np.searchsorted(arc, arc[ts] + cfg.goal_range[0], side="left")
                hi = np.searchsorted(arc, arc[ts] + cfg.goal_range[1], side="right") - 1
            else:
                per = 1.0 / self.frame_dt if cfg.goal_unit == "s" else 1.0
                lo = ts + int(math.ceil(cfg.goal_range[0] * per - 1e-9))
                hi = ts + int(math.floor(cfg.goal_range[1] * per + 1e-9))
            lo = np.clip(lo, ts, n - 1)
            hi = np.clip(np.maximum(hi, lo), lo, n - 1)
            traj.append(np.full(len(ts), i))
            t.append(ts)
            g_lo.append(lo)
            g_hi.append(hi)
        cat = lambda xs: torch.as_tensor(np.concatenate(xs) if xs else np.zeros(0, dtype=np.int64), dtype=torch.long)
        self.sample_traj, self.sample_t, self.goal_lo, self.goal_hi = cat(traj), cat(t), cat(g_lo), cat(g_hi)

    def __len__(self) -> int:
        return len(self.sample_t)

    def __repr__(self) -> str:
        return (f"GNMDataset({self.root}, split={self.cfg.split}: {len(self.trajectories)} trajectories, "
                f"{int(self.lengths.sum())} frames, {len(self)} samples, frame_dt={self.frame_dt})")

    # -- samples ---------------------------------------------------------------------------------------

    def frame_path(self, traj: int, frame: int) -> Path:
        return self.root / self.trajectories[traj] / f"{frame}.jpg"

    def _preload(self) -> torch.Tensor:
        h, w = self.cfg.image_size
        out = torch.empty(int(self.lengths.sum()), h, w, 3, dtype=torch.uint8)
        view = out.numpy()
        for i, (start, n) in enumerate(zip(self.starts, self.lengths)):
            for f in range(n):
                view[start + f] = load_image(self.frame_path(i, f), (h, w))
        return out

    def _frames(self, traj: int, frames: list[int]) -> np.ndarray:
        """uint8 [k, H, W, 3]."""
        if self.images is not None:
            return self._images_np[self.starts[traj] + np.asarray(frames)]
        return np.stack([load_image(self.frame_path(traj, f), self.cfg.image_size) for f in frames])

    def _rng(self, index: int) -> torch.Generator | None:
        """'train'/'all': the global torch RNG (seeded per DataLoader worker). 'test': fixed per sample."""
        if self.cfg.split != "test":
            return None
        return torch.Generator().manual_seed(self.cfg.split_seed * 1_000_003 + index)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        # Per-sample work is in numpy: tiny torch ops in a busy process lose most of their time to
        # intra-op thread hand-offs, which numpy does not make.
        cfg = self.cfg
        if not -len(self) <= index < len(self):
            raise IndexError(f"sample {index} out of range ({len(self)} samples)")
        index = index % len(self)
        traj, t = int(self.sample_traj[index]), int(self.sample_t[index])
        start, n = int(self.starts[traj]), int(self.lengths[traj])
        gen = self._rng(index)
        pos = self._pos_np[start:start + n]
        origin, yaw = pos[t], float(self._yaw_np[start + t])

        # waypoints: positions at t + j * waypoint_dt, linearly interpolated between frames
        f = np.minimum(t + np.arange(1, cfg.num_waypoints + 1) * (cfg.waypoint_dt / self.frame_dt), n - 1)
        i0 = np.minimum(np.floor(f).astype(np.int64), max(n - 2, 0))
        a = (f - i0)[:, None]
        world = pos[i0] * (1 - a) + pos[np.minimum(i0 + 1, n - 1)] * a
        metric = world_to_body_np(world - origin, yaw)
        steps = np.diff(metric, axis=0, prepend=np.zeros((1, 2)))
        speed = max(float(np.linalg.norm(steps, axis=1).sum()) / (cfg.num_waypoints * cfg.waypoint_dt), cfg.min_speed)

        lo, hi = int(self.goal_lo[index]), int(self.goal_hi[index])
        g = lo + int(torch.randint(hi - lo + 1, (1,), generator=gen)) if hi > lo else lo
        goal = world_to_body_np(pos[g] - origin, yaw)

        frames = [max(0, t - (cfg.context - 1 - j) * cfg.context_stride) for j in range(cfg.context)]
        # [k, 3, H, W]
        images = self._frames(traj, frames).transpose(0, 3, 1, 2).astype(np.float32) * np.float32(1 / 255)

        if cfg.augment and cfg.split != "test":
            images, goal, metric = self._augment(images, goal, metric, gen)
        waypoints = metric / (speed * cfg.waypoint_dt)
        f32 = lambda x: torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
        return {"images": f32(images), "goal": f32(goal), "waypoints": f32(waypoints),
                "speed": torch.tensor(speed, dtype=torch.float32), "metric_waypoints": f32(metric)}

    def _augment(self, images: np.ndarray, goal: np.ndarray, metric: np.ndarray, gen):
        cfg = self.cfg
        u = torch.rand(3, generator=gen, dtype=torch.float64).tolist()
        if cfg.brightness > 0 or cfg.contrast > 0:
            b = 1.0 + cfg.brightness * (2 * u[0] - 1)
            c = 1.0 + cfg.contrast * (2 * u[1] - 1)
            mean = float(images.mean()) * b
            images = np.clip((images * b - mean) * c + mean, 0.0, 1.0)
        if u[2] < cfg.flip_prob:
            mirror = np.array([1.0, -1.0])
            images = images[..., ::-1]
            goal, metric = goal * mirror, metric * mirror
        return images, goal, metric


# -- mixing ----------------------------------------------------------------------------------------------

SAMPLE_SHAPE_KEYS = ("context", "image_size", "num_waypoints", "waypoint_dt")
"""Settings that fix a sample's shape and meaning: mixed datasets and the model they train must agree on each."""


class MixedDataset(ConcatDataset):
    """Several GNMDatasets concatenated; `sample_weights()` gives each sample the weight that makes
    dataset d contribute a fraction weights[d] / sum(weights) of a WeightedRandomSampler's draws."""

    def __init__(self, datasets: Sequence[GNMDataset], weights: Sequence[float] | None = None):
        if not datasets:
            raise DatasetError("MixedDataset: no datasets given")
        weights = [1.0] * len(datasets) if weights is None else [float(w) for w in weights]
        if len(weights) != len(datasets):
            raise DatasetError(f"MixedDataset: {len(weights)} weights for {len(datasets)} datasets")
        if any(w < 0 or not math.isfinite(w) for w in weights) or sum(weights) <= 0:
            raise DatasetError(f"MixedDataset: weights must be >= 0 with a positive sum, got {weights}")
        ref = datasets[0].cfg
        for d in datasets[1:]:
            for key in SAMPLE_SHAPE_KEYS:
                if tuple(np.atleast_1d(getattr(d.cfg, key))) != tuple(np.atleast_1d(getattr(ref, key))):
                    raise DatasetError(f"{d.root}: {key}={getattr(d.cfg, key)} differs from {datasets[0].root}'s "
                                       f"{getattr(ref, key)}; mixed datasets must produce samples of one shape")
        for d, w in zip(datasets, weights):
            if w > 0 and len(d) == 0:
                raise DatasetError(f"{d.root}: no samples in split {d.cfg.split!r} (trajectories shorter than the "
                                   f"waypoint horizon of {ref.num_waypoints * ref.waypoint_dt} s?)")
        super().__init__(datasets)
        self.weights = weights

    def check_fits(self, model_cfg) -> None:
        """DatasetError unless the samples have the shape `model_cfg` (an AGDMConfig) is built for: a model
        trained on other frames, image size or waypoint timing would fail, or mislabel its own outputs."""
        ref = self.datasets[0].cfg
        for key in SAMPLE_SHAPE_KEYS:
            ours, model = tuple(np.atleast_1d(getattr(ref, key))), tuple(np.atleast_1d(getattr(model_cfg, key)))
            if ours != model:
                raise DatasetError(f"the data gives {key}={getattr(ref, key)} but the model is built for "
                                   f"{getattr(model_cfg, key)}: set model.{key} (the data follows it) and drop the "
                                   f"data's own {key}")

    def sample_weights(self) -> torch.Tensor:
        total = sum(self.weights)
        return torch.cat([torch.full((len(d),), w / total / max(len(d), 1), dtype=torch.float64)
                          for d, w in zip(self.datasets, self.weights)])


def make_mixed_loader(cfgs: Sequence[GNMDatasetCfg], weights: Sequence[float] | None = None, batch_size: int = 64,
                      num_samples: int | None = None, num_workers: int = 0, seed: int | None = None,
                      **loader_kwargs) -> DataLoader:
    """A DataLoader drawing `num_samples` samples per epoch (default: the total number of samples),
    with replacement, from the datasets in proportion to `weights` (default: equal)."""
    mixed = MixedDataset([GNMDataset(c) for c in cfgs], weights)
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    sampler = WeightedRandomSampler(mixed.sample_weights(), num_samples or len(mixed), replacement=True, generator=gen)
    return DataLoader(mixed, batch_size=batch_size, sampler=sampler, num_workers=num_workers,
                      persistent_workers=num_workers > 0, **loader_kwargs)


def cfg_from_dict(d: dict) -> GNMDatasetCfg:
    """GNMDatasetCfg from a plain mapping (YAML/Hydra); unknown keys are an error naming them."""
    names = {f.name for f in fields(GNMDatasetCfg)}
    unknown = sorted(set(d) - names)
    if unknown:
        raise DatasetError(f"unknown dataset setting(s) {unknown}; known: {sorted(names - {'meta'})}")
    d = dict(d)
    for key in ("image_size", "goal_range"):
        if key in d:
            d[key] = tuple(d[key])
    return GNMDatasetCfg(**d)
