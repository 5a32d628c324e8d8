"""NavBench-GS task configs: an S2E-Urban robot task on the held-out blocks of an episode file.

Differences from S2E-Urban: episodes come from the task's episode file (fixed starts, goals, routes,
pedestrian seeds, held-out block seeds never drawn in training; the registered tasks use the `urban`
split's files, `make_navbench` puts a task on any split's or a user's file, with the file's appearance
family for the blocks' generator and the camera's looks); a collision is counted and the
episode goes on; an episode ends on arrival (within 1 m), at its own time limit, or if the robot
leaves its block. The fast base-velocity control mode is the default so the whole suite runs on a
CPU; `--mode joint` evaluates with the locomotion controllers.
"""

from __future__ import annotations

from dataclasses import replace

from isaaclab.managers import TerminationTermCfg as DoneTerm
from isaaclab.utils import configclass

from s2e.navbench.episodes import EpisodeFileError, EpisodeSuite, bundle_path, load_suite
from s2e.navbench.splits import DEFAULT_SPLIT, SPLITS
from s2e.navbench.tasks import ROBOTS as NAVBENCH_ROBOTS
from s2e.navbench.tasks import TASK_CONTENT
from s2e.urban.families import appearance_family

from ...paths import asset_path
from ..urban.config.quadruped.env_cfg import EnvCfg as QuadrupedEnvCfg
from ..urban.config.wheeled.env_cfg import EnvCfg as WheeledEnvCfg
from ..urban.urban_env_cfg import MAX_PEDESTRIANS, apply_control_mode
from . import terminations
from .navbench_command import NavBenchCommandCfg

ROBOTS = tuple(r.capitalize() for r in NAVBENCH_ROBOTS)


def task_id(task: str, robot: str) -> str:
    return f"NavBench-GS-{task}-{robot}"


def episode_file(task: str, robot: str, split: str = DEFAULT_SPLIT) -> str:
    """The shipped episode file of a task of a split (s2e.navbench.splits)."""
    return asset_path(f"{SPLITS[split].folder}/{task_id(task, robot)}.json")


def make_navbench(cfg, suite: EpisodeSuite, task: str, path: str) -> None:
    """Turn a post-initialized S2E-Urban robot cfg (its command a NavBenchCommandCfg) into the NavBench-GS task `task`
    over the episode file `path` (the shipped one, or a user's: e.g. made for a scene bundle by
    make_navbench_episodes.py --scene_bundle)."""
    fix = "regenerate it with scripts/make_navbench_episodes.py"
    if suite.task != task:
        raise EpisodeFileError(f"{path} holds the episodes of {suite.task}, not {task}: {fix}")
    if suite.pedestrians[1] > MAX_PEDESTRIANS:
        raise EpisodeFileError(f"{path}: up to {suite.pedestrians[1]} pedestrians, the scene holds {MAX_PEDESTRIANS}: "
                               f"{fix}")
    cfg.commands.nav.episode_file = str(path)
    cfg.commands.nav.route.num_points = len(suite.episodes[0].route)
    if cfg.content in ("pedestrians", "mixed"):
        cfg.commands.nav.pedestrians.count = suite.pedestrians
    bundle = bundle_path(suite, path)
    terrain = cfg.scene.terrain
    terrain.scene_bundle = None if bundle is None else str(bundle)
    obstacles = replace(terrain.layout.obstacles, density=suite.scenes[0].obstacle_density)
    terrain.layout = replace(appearance_family(suite.family).layout, obstacles=obstacles)
    terrain.layout_seeds = [s.layout_seed for s in suite.scenes]  # a bundle's: the seeds of the obstacles spawned on it
    if getattr(cfg.scene, "camera", None) is not None:
        cfg.scene.camera.appearance = suite.family
    cfg.scene.num_envs = suite.default_num_envs()
    cfg.terminations.collision = None
    cfg.terminations.episode_time_limit = DoneTerm(func=terminations.episode_time_limit, time_out=True)
    cfg.episode_length_s = max(e.time_limit_s for e in suite.episodes) + 1.0
    apply_control_mode(cfg, "base")


def _navbench_cfg(robot_cfg, task: str, robot: str):
    @configclass
    class NavBenchEnvCfg(robot_cfg):
        def __post_init__(self):
            path = episode_file(task, robot)
            suite = load_suite(path)
            self.content = TASK_CONTENT[task]
            self.commands.nav = NavBenchCommandCfg(robot=None, episode_file=path)
            super().__post_init__()
            make_navbench(self, suite, task_id(task, robot), path)

    NavBenchEnvCfg.__name__ = NavBenchEnvCfg.__qualname__ = f"{task}{robot}EnvCfg"
    return NavBenchEnvCfg


EmptyWheeledEnvCfg = _navbench_cfg(WheeledEnvCfg, "Empty", "Wheeled")
ObstacleWheeledEnvCfg = _navbench_cfg(WheeledEnvCfg, "Obstacle", "Wheeled")
PedestrianWheeledEnvCfg = _navbench_cfg(WheeledEnvCfg, "Pedestrian", "Wheeled")
MixedWheeledEnvCfg = _navbench_cfg(WheeledEnvCfg, "Mixed", "Wheeled")
EmptyQuadrupedEnvCfg = _navbench_cfg(QuadrupedEnvCfg, "Empty", "Quadruped")
ObstacleQuadrupedEnvCfg = _navbench_cfg(QuadrupedEnvCfg, "Obstacle", "Quadruped")
PedestrianQuadrupedEnvCfg = _navbench_cfg(QuadrupedEnvCfg, "Pedestrian", "Quadruped")
MixedQuadrupedEnvCfg = _navbench_cfg(QuadrupedEnvCfg, "Mixed", "Quadruped")
