"""NavBench-GS episode files: the fixed episodes of one benchmark task, so a result reproduces anywhere.

One JSON file per task and split (e.g. assets/navbench/v1/NavBench-GS-Obstacle-Wheeled.json, the `urban`
split; s2e.navbench.splits) names the appearance family its blocks are drawn from and rendered in
(s2e.urban.families; "urban" when the file does not say) and lists its scenes
(procedural blocks: layout seed, obstacle density and a fingerprint of the generated geometry; or
one scene bundle, a captured place, by its folder relative to the file, once per obstacle draw on it,
fingerprinted the same way) and
its episodes (scene, start pose, goal, reference route, time limit, pedestrian seed). The fingerprint
is checked when the task builds its blocks: a file made by another version of the block generator
fails with a message instead of silently scoring other scenes.

Envs are tied to scenes round-robin (env i shows scene i mod S; the terrain is built once), and each
scene's episodes are dealt to its envs in file order (`env_queues`).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..urban.families import FAMILIES
from ..urban.layout import UrbanLayout, collision_footprints
from ..utils.files import write_json_atomic

FORMAT_VERSION = 1


class EpisodeFileError(ValueError):
    """An episode file that cannot be used (message names the file, the problem and the fix)."""


@dataclass(frozen=True)
class BenchScene:
    layout_seed: int
    obstacle_density: float
    fingerprint: str
    bundle: str = ""
    """A scene bundle folder, relative to the episode file ("" : the procedural block of layout_seed)."""


@dataclass(frozen=True)
class BenchEpisode:
    scene: int
    start: tuple[float, float]
    start_yaw: float
    goal: tuple[float, float]
    route: tuple[tuple[float, float], ...]
    time_limit_s: float
    pedestrian_seed: int


@dataclass(frozen=True)
class EpisodeSuite:
    task: str
    robot: str
    content: str
    pedestrians: tuple[int, int]
    scenes: tuple[BenchScene, ...]
    episodes: tuple[BenchEpisode, ...]
    format_version: int = FORMAT_VERSION
    family: str = "urban"
    """Appearance family of the procedural blocks (s2e.urban.families): their generator ranges and looks."""

    def episodes_per_env(self, num_envs: int) -> int:
        return len(self.episodes) // num_envs

    def env_queues(self, num_envs: int) -> list[list[int]]:
        """Episode indices each env runs, in order; env i shows scene i mod S (see module docstring)."""
        s = len(self.scenes)
        per_scene = [[k for k, ep in enumerate(self.episodes) if ep.scene == j] for j in range(s)]
        counts = {len(q) for q in per_scene}
        if num_envs % s or len(counts) != 1 or next(iter(counts)) % (num_envs // s):
            raise EpisodeFileError(
                f"{self.task}: {len(self.episodes)} episodes over {s} scenes cannot be dealt evenly to {num_envs} "
                f"envs: use --num_envs {s} or a multiple of it that divides the episodes per scene ({sorted(counts)})")
        envs_per_scene = num_envs // s
        return [per_scene[i % s][i // s::envs_per_scene] for i in range(num_envs)]

    def default_num_envs(self, max_envs: int = 16) -> int:
        """The most envs (at most `max_envs`) the episodes deal to evenly."""
        for n in range(max_envs - max_envs % len(self.scenes), 0, -len(self.scenes)):
            try:
                self.env_queues(n)
                return n
            except EpisodeFileError:
                continue
        return len(self.scenes)


def layout_fingerprint(layout: UrbanLayout) -> str:
    """A short hash of a block's collision geometry (mm resolution), ground classes and walkable cells."""
    h = hashlib.sha256()
    h.update(np.round(collision_footprints(layout).astype(np.float64), 3).tobytes())
    h.update(np.ascontiguousarray(layout.semantic).tobytes())
    h.update(np.ascontiguousarray(layout.walkable).tobytes())
    return h.hexdigest()[:16]


def save_suite(path: str | Path, suite: EpisodeSuite) -> Path:
    data = asdict(suite)
    if data["family"] == "urban":  # the v1 files do not name it: they stay byte for byte what they were
        del data["family"]
    for scene in data["scenes"]:
        if not scene["bundle"]:  # procedural blocks: no bundle key
            del scene["bundle"]
    return write_json_atomic(path, data)


def load_suite(path: str | Path) -> EpisodeSuite:
    """Read and validate an episode file; EpisodeFileError (one line) on any problem."""
    path = Path(path)
    fix = "regenerate it with scripts/make_navbench_episodes.py"
    if not path.is_file():
        raise EpisodeFileError(f"episode file {path} not found: {fix}")
    try:
        raw = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise EpisodeFileError(f"episode file {path} is not valid JSON ({err}): {fix}") from None

    def fail(msg: str):
        raise EpisodeFileError(f"episode file {path}: {msg}: {fix}")

    if not isinstance(raw, dict):
        fail("expected a JSON object")
    if raw.get("format_version") != FORMAT_VERSION:
        fail(f"format_version {raw.get('format_version')!r}, this code reads {FORMAT_VERSION}")
    for key in ("task", "robot", "content", "pedestrians", "scenes", "episodes"):
        if key not in raw:
            fail(f"missing {key!r}")
    try:
        scenes = tuple(BenchScene(int(s["layout_seed"]), float(s["obstacle_density"]), str(s["fingerprint"]),
                                  str(s.get("bundle", "")))
                       for s in raw["scenes"])
        episodes = tuple(
            BenchEpisode(int(e["scene"]), _pair(e["start"]), float(e["start_yaw"]), _pair(e["goal"]),
                         tuple(_pair(p) for p in e["route"]), float(e["time_limit_s"]), int(e["pedestrian_seed"]))
            for e in raw["episodes"])
        pedestrians = _int_pair(raw["pedestrians"])
    except (KeyError, TypeError, ValueError) as err:
        fail(f"malformed scene or episode entry ({type(err).__name__}: {err})")
    if not scenes or not episodes:
        fail("no scenes or no episodes")
    if any(s.bundle for s in scenes) and len({s.bundle for s in scenes}) != 1:
        fail("its scenes must all be on one scene bundle (each with its own obstacles) or all procedural")
    family = raw.get("family", "urban")
    if family not in FAMILIES:
        fail(f"appearance family {family!r} is not one of {', '.join(FAMILIES)}")
    for k, ep in enumerate(episodes):
        if not 0 <= ep.scene < len(scenes):
            fail(f"episode {k} names scene {ep.scene}, the file has {len(scenes)}")
        if len(ep.route) < 2 or ep.time_limit_s <= 0:
            fail(f"episode {k} needs a route of >= 2 points and a positive time limit")
        route = np.asarray(ep.route)
        if np.linalg.norm(route[0] - ep.start) > 0.05 or np.linalg.norm(route[-1] - ep.goal) > 0.05:
            fail(f"episode {k}'s route does not run from its start to its goal")
    return EpisodeSuite(str(raw["task"]), str(raw["robot"]), str(raw["content"]), pedestrians, scenes, episodes,
                        family=str(family))


def bundle_path(suite: EpisodeSuite, episode_file: str | Path) -> Path | None:
    """The scene bundle folder of a bundle suite (relative paths are from the episode file), else None."""
    ref = suite.scenes[0].bundle
    return (Path(episode_file).resolve().parent / ref).resolve() if ref else None


def check_fingerprints(suite: EpisodeSuite, layouts: dict[int, UrbanLayout], source: str) -> None:
    """The blocks built from the file's seeds must be the ones its episodes were made on."""
    for j, scene in enumerate(suite.scenes):
        got = layout_fingerprint(layouts[j])
        if got != scene.fingerprint:
            raise EpisodeFileError(
                f"episode file {source}: scene {j} (layout seed {scene.layout_seed}) has fingerprint "
                f"{scene.fingerprint}, this code builds {got} (the block generator changed): regenerate it with "
                "scripts/make_navbench_episodes.py")


def _pair(v) -> tuple[float, float]:
    x, y = v
    return float(x), float(y)


def _int_pair(v) -> tuple[int, int]:
    a, b = v
    return int(a), int(b)
