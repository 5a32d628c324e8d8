"""Writes navigation videos in the GNM/ViNT format that s2e.pretrain.dataset reads (see its docstring).

`DatasetWriter` takes the batched steps of E parallel envs (each env's newest camera frame, its pose
x, y, yaw at that instant, and whether the step's action was the demonstrator's own) and writes an
env's episode as one trajectory folder when the episode ends: `<root>/<prefix>_<env>_<n>/` holding
0.jpg ... and traj_data.pkl (position [T, 2], yaw [T], expert_action [T]; plus success, collisions,
truncated, env and the writer's `extra` fields). A folder is built as the hidden `<root>/.tmp_<name>`
and renamed into place, so a killed run never leaves half a trajectory (the reader skips hidden
folders). Episodes with a collision are dropped unless `keep_collisions`, and ones shorter than
`min_frames` always. `write_meta` writes the root's dataset.yaml (frame_dt, how the data was made).
"""

from __future__ import annotations

import os
import pickle
import shutil
from pathlib import Path

import numpy as np

from .dataset import META_FILE, TRAJ_FILE, DatasetError, DatasetMeta

TMP_PREFIX = ".tmp_"
"""Trajectory folders being written (hidden: the reader skips them; left by a killed run, removed by prepare_folder)."""


class FolderNotEmptyError(DatasetError):
    """The output folder holds entries and appending was not asked for."""


def write_trajectory(root: Path, name: str, frames: list[np.ndarray], poses: list[np.ndarray], expert: list[bool],
                     extra: dict, quality: int = 95) -> None:
    """Write one trajectory folder atomically (temporary folder, then rename): frames uint8 [H, W, 3], poses
    (x, y, yaw), expert-action flags, one per frame; `extra` joins traj_data.pkl."""
    from PIL import Image

    root = Path(root)
    tmp = root / f"{TMP_PREFIX}{name}"
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    for i, frame in enumerate(frames):
        Image.fromarray(frame).save(tmp / f"{i}.jpg", quality=quality)
    pose = np.stack(poses).astype(np.float64)
    data = {"position": pose[:, :2].copy(), "yaw": pose[:, 2].copy(), "expert_action": np.asarray(expert, dtype=bool),
            **extra}
    with open(tmp / TRAJ_FILE, "wb") as f:
        pickle.dump(data, f)
    os.replace(tmp, root / name)


def write_meta(root: Path, meta: DatasetMeta) -> None:
    """The root's dataset.yaml, written atomically (a reader never sees half of it)."""
    import yaml

    from ..utils.files import write_text_atomic

    write_text_atomic(Path(root) / META_FILE, yaml.safe_dump(meta.to_dict(), sort_keys=False))


def prepare_folder(root: Path, append: bool) -> dict:
    """Create the dataset folder (or check an existing one when `append`), removing trajectories a killed run left
    half-written; returns the existing dataset.yaml (empty when none). DatasetError for a file in its place,
    FolderNotEmptyError for entries without `append`."""
    import yaml

    root = Path(root)
    if root.exists() and not root.is_dir():
        raise DatasetError(f"{root} is a file, not a folder")
    existing = {}
    if root.is_dir():
        for stale in root.glob(f"{TMP_PREFIX}*"):
            shutil.rmtree(stale, ignore_errors=True)
        entries = [p for p in root.iterdir() if not p.name.startswith(".")]
        if entries and not append:
            raise FolderNotEmptyError(f"{root} is not empty ({len(entries)} entries)")
        meta = root / META_FILE
        if meta.is_file():
            existing = yaml.safe_load(meta.read_text()) or {}
    root.mkdir(parents=True, exist_ok=True)
    return existing


class RunningEpisodes:
    """The frames and poses of every env's running episode, kept as one [E, ...] snapshot per step
    (no per-env work per step); an env's episode is the steps since its start."""

    def __init__(self, num_envs: int):
        self.rgb: list[np.ndarray] = []
        self.pose: list[np.ndarray] = []
        self.expert: list[np.ndarray] = []
        self.first = 0  # step index of rgb[0]
        self.now = 0
        self.start = np.zeros(num_envs, dtype=int)

    def append(self, rgb: np.ndarray, pose: np.ndarray, expert: np.ndarray) -> None:
        self.rgb.append(rgb)
        self.pose.append(pose)
        self.expert.append(expert)
        self.now += 1

    def lengths(self) -> np.ndarray:
        return self.now - self.start

    def episode(self, i: int) -> tuple[list[np.ndarray], list[np.ndarray], list[bool]]:
        """Env i's frames, poses and expert-action flags since its episode started."""
        k = self.start[i] - self.first
        return [f[i] for f in self.rgb[k:]], [p[i] for p in self.pose[k:]], [bool(x[i]) for x in self.expert[k:]]

    def restart(self, i: int) -> None:
        self.start[i] = self.now
        self._trim()

    def drop(self) -> None:
        self.start[:] = self.now
        self._trim()

    def _trim(self) -> None:
        """Forget the steps no running episode needs any more."""
        k = int(self.start.min()) - self.first
        if k > 0:
            del self.rgb[:k], self.pose[:k], self.expert[:k]
            self.first += k


class DatasetWriter:
    """Every env's running episode, written as a trajectory of `root` when it ends (see the module docstring).

    `counts`: frames and trajectories written (truncated ones among them), episodes dropped for a collision
    or for being short, and the episodes that ended (and reached the goal) as reported to `end_episode`.
    """

    def __init__(self, root: Path, num_envs: int, prefix: str = "traj", min_frames: int = 20,
                 keep_collisions: bool = False, jpeg_quality: int = 95, extra: dict | None = None):
        if min_frames < 1 or not 1 <= jpeg_quality <= 100:
            raise ValueError(f"min_frames must be >= 1 and jpeg_quality 1-100, got {min_frames} and {jpeg_quality}")
        self.root, self.prefix = Path(root), prefix
        self.min_frames, self.keep_collisions = int(min_frames), bool(keep_collisions)
        self.jpeg_quality = int(jpeg_quality)
        self.extra = dict(extra or {})
        self.running = RunningEpisodes(num_envs)
        self.episode_no = np.zeros(num_envs, dtype=int)
        self.counts = dict(frames=0, trajectories=0, truncated=0, dropped_collision=0, dropped_short=0, episodes=0,
                           successes=0)

    def append(self, rgb: np.ndarray, pose: np.ndarray, expert: np.ndarray) -> None:
        """One step of every env: frames uint8 [E, H, W, 3], poses [E, 3] (x, y, yaw), expert-action flags [E].
        The arrays are kept as given: pass copies of buffers that change."""
        self.running.append(rgb, pose, expert)

    def end_episode(self, i: int, success: bool, collisions: int) -> None:
        """Env i's episode ended (it counts as an episode): write it as a trajectory or drop it; a new one starts."""
        self.counts["episodes"] += 1
        self.counts["successes"] += int(success)
        self._finish(i, success, collisions, truncated=False)

    def close(self, collisions: np.ndarray) -> None:
        """Write the episodes still running as truncated trajectories (collisions [E]: each env's count so far)."""
        for i in np.flatnonzero(self.running.lengths() > 0):
            self._finish(int(i), False, int(collisions[i]), truncated=True)

    def drop_running(self) -> None:
        """Forget the running episodes (a step may have been cut mid-append)."""
        self.running.drop()

    def kept_in_progress(self, collisions: np.ndarray) -> int:
        """Frames the running episodes would add if written now (collisions [E]: each env's count so far)."""
        lengths = self.running.lengths()
        clean = self.keep_collisions | (np.asarray(collisions) == 0)
        return int(lengths[(lengths >= self.min_frames) & clean].sum())

    def _finish(self, i: int, success: bool, collisions: int, truncated: bool) -> None:
        frames, poses, expert_flags = self.running.episode(i)
        n = len(frames)
        if collisions > 0 and not self.keep_collisions:
            self.counts["dropped_collision"] += 1
        elif n < self.min_frames:
            self.counts["dropped_short"] += 1
        else:
            name = f"{self.prefix}_{i}_{self.episode_no[i]}"
            extra = {"success": bool(success), "collisions": int(collisions), "truncated": truncated, "env": i,
                     **self.extra}
            write_trajectory(self.root, name, frames, poses, expert_flags, extra, self.jpeg_quality)
            self.counts["frames"] += n
            self.counts["trajectories"] += 1
            self.counts["truncated"] += int(truncated)
        self.episode_no[i] += 1
        self.running.restart(i)
