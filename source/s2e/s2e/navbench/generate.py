"""Make a NavBench-GS episode suite: held-out procedural blocks and fixed episodes on them.

The blocks come from the split's appearance family (its generator ranges; s2e.navbench.splits) and
their seeds start at the split's seed base, far from the seeds training draws (terrain seed * 100003
+ env index), so benchmark scenes are never trained on. Each episode's time limit gives the
robot `time_factor` times the route's length at its top speed, plus `time_margin_s`.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from ..urban.families import appearance_family
from ..urban.layout import generate_layout, with_spawned_obstacles
from ..urban.routes import RouteCfg, RoutePlanner
from ..urban.scene_bundle import BundleEpisodes, SceneBundleError, bundle_route_cfg, check_hosts_episodes
from .episodes import BenchEpisode, BenchScene, EpisodeSuite, layout_fingerprint
from .splits import Split


def make_suite(task: str, robot: str, content: str, split: Split, *, num_scenes: int, episodes_per_scene: int,
               route: RouteCfg, max_lin_vel: float, obstacle_density: float, pedestrians: tuple[int, int],
               seed: int = 0, time_factor: float = 2.5, time_margin_s: float = 10.0) -> EpisodeSuite:
    layout_cfg = appearance_family(split.family).layout
    layout_cfg = replace(layout_cfg, obstacles=replace(layout_cfg.obstacles, density=obstacle_density))
    scenes, episodes = [], []
    for j in range(num_scenes):
        layout_seed = split.seed_base + j
        block = generate_layout(layout_cfg, layout_seed)
        scenes.append(BenchScene(layout_seed, obstacle_density, layout_fingerprint(block)))
        planner = RoutePlanner(block, route)
        rng = np.random.default_rng([seed, j])
        for _ in range(episodes_per_scene):
            episodes.append(_bench_episode(j, planner.sample_episode(rng), rng, max_lin_vel, time_factor,
                                           time_margin_s))
    return EpisodeSuite(task, robot, content, tuple(pedestrians), tuple(scenes), tuple(episodes), family=split.family)


def make_bundle_suite(task: str, robot: str, content: str, bundle, bundle_ref: str, *, num_scenes: int,
                      episodes_per_scene: int,
                      route: RouteCfg, max_lin_vel: float, obstacle_density: float, pedestrians: tuple[int, int],
                      seed: int = 0, time_factor: float = 2.5, time_margin_s: float = 10.0,
                      family: str = "urban") -> EpisodeSuite:
    """Episodes on a scene bundle (s2e.urban.scene_bundle.SceneBundle), `num_scenes` scenes of `episodes_per_scene`:
    scene j is the bundle with obstacles spawned from seed j at `obstacle_density` (the spawner of the procedural
    blocks, with the family's obstacle settings; s2e.urban.layout.with_spawned_obstacles), the bundle itself at
    density 0. Episodes follow the bundle's routes in turn when it has some and no obstacles were spawned, else are
    sampled on the scene's walkable area its route_distance apart. `bundle_ref`: the bundle folder relative to the
    episode file. SceneBundleError (one line) when the bundle cannot host the task's episodes."""
    route = bundle_route_cfg(route, bundle)
    check_hosts_episodes(bundle, route)
    obstacles = replace(appearance_family(family).layout.obstacles, density=obstacle_density)
    scenes, out = [], []
    for j in range(num_scenes):
        layout = with_spawned_obstacles(bundle.layout, obstacles, j, route.clearance)
        planner = RoutePlanner(layout, route)
        drawn = BundleEpisodes(planner, bundle.routes) if bundle.routes and layout is bundle.layout else None
        rng = np.random.default_rng([seed, j])
        for _ in range(episodes_per_scene):
            try:
                ep = drawn.sample(rng)[1] if drawn is not None else planner.sample_episode(rng)
            except RuntimeError:
                raise SceneBundleError(f"{bundle.path}: with obstacles spawned at {obstacle_density:g} per 100 m^2 "
                                       f"(scene {j}), no start and goal {route.min_distance:g}-{route.max_distance:g} "
                                       f"m apart are connected with {route.clearance:g} m clearance: the walkable area "
                                       "is too narrow for the obstacle tasks") from None
            out.append(_bench_episode(j, ep, rng, max_lin_vel, time_factor, time_margin_s))
        scenes.append(BenchScene(j, obstacle_density, layout_fingerprint(layout), bundle_ref))
    return EpisodeSuite(task, robot, content, tuple(pedestrians), tuple(scenes), tuple(out), family=family)


def _bench_episode(scene: int, ep, rng: np.random.Generator, max_lin_vel: float, time_factor: float,
                   time_margin_s: float) -> BenchEpisode:
    return BenchEpisode(
        scene=scene, start=_xy(ep.start), start_yaw=round(float(ep.start_yaw), 4), goal=_xy(ep.goal),
        route=tuple(_xy(p) for p in ep.route),
        time_limit_s=round(time_margin_s + time_factor * ep.length / max_lin_vel, 1),
        pedestrian_seed=int(rng.integers(2**31 - 1)),
    )


def _xy(p) -> tuple[float, float]:
    return round(float(p[0]), 4), round(float(p[1]), 4)
