"""The navigation command: each env's episode (start, goal, reference route) and its moving actors.

An episode is a start and goal 10-40 m apart on the env's walkable area (on a scene bundle: its route_distance
apart when it gives one; with routes: one of the bundle's routes) and its planned reference route; each env's
first `episode_pool_size` episodes are planned at start-up and resets draw from them with tensor ops
(s2e.urban.episode_pool). At reset the robot is placed at the start and the env's pedestrians are re-spawned (with
`group_size` G > 1, envs g*G .. g*G+G-1 form a same-start group: their k-th episodes share start, goal and crowd
placement, drawn from the seeds (seed, g, k); the terrain gives them one block). Every step it advances the
pedestrians (social-force crowd), writes their kinematic bodies, and updates the geometric episode
state the rewards, terminations and metrics read: route progress, arrival, collisions (the robot's
footprint touching an obstacle, building, curb or pedestrian; counted once per contact).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import MISSING
from typing import TYPE_CHECKING

import numpy as np
import torch

from isaaclab.managers import CommandTerm, CommandTermCfg
from isaaclab.utils import configclass

from s2e.nav.episode_state import EpisodeState
from s2e.urban.episode_pool import EpisodeBatch, EpisodePool, episode_generators, plan_block_episodes
from s2e.urban.geometry import quat_xyzw_from_yaw, world_to_body, yaw_from_quat_xyzw
from s2e.urban.layout import collision_footprints, distinct_layouts
from s2e.urban.pedestrians import PedestrianCfg, PedestrianCrowd
from s2e.urban.routes import RouteCfg, RoutePlanner, clearance_map, point_along_route
from s2e.urban.scene_bundle import BundleEpisodes, bundle_route_cfg
from s2e.utils.processes import parallel_map

from ....robots.spec import RobotSpec

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv


def heading_velocity(robot) -> torch.Tensor:
    """(forward, lateral, yaw rate) of an articulation's base in its heading frame [E, 3]."""
    d = robot.data
    yaw = yaw_from_quat_xyzw(d.root_quat_w.torch)
    v = d.root_lin_vel_w.torch
    c, s = torch.cos(yaw), torch.sin(yaw)
    return torch.stack([c * v[:, 0] + s * v[:, 1], -s * v[:, 0] + c * v[:, 1], d.root_ang_vel_w.torch[:, 2]], dim=-1)


class NavigationCommand(CommandTerm):
    cfg: NavigationCommandCfg

    def __init__(self, cfg: NavigationCommandCfg, env: ManagerBasedRLEnv):
        super().__init__(cfg, env)
        self.robot = env.scene[cfg.asset_name]
        terrain = env.scene.terrain
        if not hasattr(terrain, "layouts"):
            raise TypeError("NavigationCommand needs the scene's terrain to be an UrbanTerrainImporterCfg")
        self.layouts = terrain.layouts
        self.origins = terrain.env_origins
        terrain.fix_mujoco_bounds()  # the solver exists now (managers are built after the simulation starts)
        self.spec: RobotSpec = cfg.robot
        # envs sharing a block: a scene bundle, NavBench-GS
        self._blocks, self._block_of_env = distinct_layouts(self.layouts)
        self._block_clearance = [clearance_map(b) for b in self._blocks]
        self.clearance = torch.stack([torch.as_tensor(self._block_clearance[b])
                                      for b in self._block_of_env]).to(self.device)
        bundle = getattr(terrain, "bundle", None)
        self.route_cfg = cfg.route if bundle is None else bundle_route_cfg(cfg.route, bundle)
        """cfg.route, with a scene bundle's start-goal distances when it gives them (its walkable area's extent)."""
        on_bundle = bundle is not None and bundle.routes and all(b is bundle.layout for b in self._blocks)
        self.bundle_episodes = BundleEpisodes(RoutePlanner(self._blocks[0], self.route_cfg, self._block_clearance[0]),
                                              bundle.routes) \
            if on_bundle else None
        """Episodes come from the scene bundle's routes when it has some and no obstacles were spawned on it (None:
        sampled on the walkable area)."""
        self.bundle_route = torch.full((self.num_envs,), -1, dtype=torch.long, device=self.device)
        """Index of each env's current bundle route (-1 when episodes are sampled)."""
        self.footprints, self.footprint_valid = terrain.footprints()
        self.crowd = PedestrianCrowd(self.layouts, [collision_footprints(l) for l in self.layouts], cfg.pedestrians,
                                     self.device, seed=cfg.seed, robot_radius=self.spec.radius)
        self.pedestrian_asset = env.scene[cfg.pedestrian_asset] if cfg.pedestrians.count[1] > 0 else None
        n, k = self.num_envs, cfg.route.num_points
        self.routes = torch.zeros(n, k, 2, device=self.device)
        self.goal = torch.zeros(n, 2, device=self.device)
        self.state = EpisodeState.zeros(n, self.device)
        self.pool = self._plan_episodes()
        self._goal_b = torch.zeros(n, 3, device=self.device)
        self._last_step = -1
        for key in ("success", "route_completion", "collisions"):
            self.metrics[key] = torch.zeros(n, device=self.device)
        self.episode_log: deque[dict[str, np.ndarray]] = deque(maxlen=cfg.episode_log_size)
        """Finished episodes (one dict of arrays per reset batch), newest last, for scripts and evaluation."""

    def __str__(self) -> str:
        return (f"NavigationCommand: route {self.route_cfg.min_distance}-{self.route_cfg.max_distance} m, "
                f"pedestrians {self.cfg.pedestrians.count}")

    # -- state shared with the MDP terms ------------------------------------------------------------

    @property
    def command(self) -> torch.Tensor:
        """Goal in the robot frame: (x, y, distance) [E, 3]."""
        return self._goal_b

    def robot_pose_2d(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Robot (x, y) in its env's tile frame [E, 2] and yaw [E]."""
        pos = self.robot.data.root_pos_w.torch[:, :2] - self.origins[:, :2]
        return pos, yaw_from_quat_xyzw(self.robot.data.root_quat_w.torch)

    def route_goal(self, lookahead: float) -> torch.Tensor:
        """Route guidance [E, 2], robot frame (m): the point `lookahead` m further along the reference route
        than the robot's progress (the goal itself near the end), like a navigation app's next waypoint."""
        xy, yaw = self.robot_pose_2d()
        target = point_along_route(self.routes, self.refresh().progress + lookahead)
        return world_to_body(target - xy, yaw)

    def refresh(self) -> EpisodeState:
        """Update progress, arrival and collisions once per env step (idempotent within a step)."""
        step = int(self._env.common_step_counter)
        if step != self._last_step:
            self._last_step = step
            xy, _ = self.robot_pose_2d()
            ped_xy, ped_valid = self.crowd.pos, self.crowd.active
            self.state.update(
                xy, self.goal, self.routes, self.footprints, self.footprint_valid, ped_xy, ped_valid,
                self.spec.radius, self.cfg.pedestrians.radius, self.cfg.arrival_radius, self.cfg.collision_margin,
            )
        return self.state

    # -- CommandTerm hooks ----------------------------------------------------------------------------

    def reset(self, env_ids: Sequence[int] | None = None) -> dict[str, torch.Tensor]:
        ids = self._as_ids(env_ids)
        s = self.state
        success, rc, ct = self._episode_metrics(ids)
        self.metrics["success"][ids], self.metrics["route_completion"][ids] = success, rc
        self.metrics["collisions"][ids] = ct
        ran = s.steps[ids] > 0
        if ran.any():
            done = ids[ran]
            self.episode_log.append({
                "env": done.cpu().numpy(),
                "success": success[ran].bool().cpu().numpy(),
                "route_completion": rc[ran].cpu().numpy(),
                "collisions": s.collision_count[done].cpu().numpy(),
                "steps": s.steps[done].cpu().numpy(),
                "route_length": s.route_length[done].cpu().numpy(),
                "path_length": s.path_length[done].cpu().numpy(),
                "arrival_step": s.arrival_step[done].cpu().numpy(),
                **self._episode_record_extras(done),
            })
        return super().reset(ids)

    def _episode_record_extras(self, done: torch.Tensor) -> dict[str, np.ndarray]:
        """More per-episode fields for `episode_log` (subclasses: which fixed episode it was)."""
        return {}

    def _episode_metrics(self, ids) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Success, route completion (1 on arrival) and collision count of the current episodes."""
        s = self.state
        success = s.arrived_ever[ids].float()
        rc = (s.progress[ids] / s.route_length[ids].clamp_min(1e-6)).clamp(0, 1)
        rc = torch.where(s.arrived_ever[ids], torch.ones_like(rc), rc)
        return success, rc, s.collision_count[ids].float()

    def _as_ids(self, env_ids) -> torch.Tensor:
        if env_ids is None or isinstance(env_ids, slice):
            return torch.arange(self.num_envs, device=self.device)[env_ids if isinstance(env_ids, slice)
                                                                   else slice(None)]
        return torch.as_tensor(env_ids, device=self.device, dtype=torch.long)

    def _plan_episodes(self) -> EpisodePool | None:
        """Plan each env's first `episode_pool_size` episodes (s2e.urban.episode_pool.episode_generators: from
        the env's own generator, or its same-start group's per-episode seeds): one of the scene bundle's
        routes, or sampled on its block (blocks planned on worker processes when there are many)."""
        g, seed, size = self.cfg.group_size, self.cfg.seed, self.cfg.episode_pool_size
        units = [i // g for i in range(self.num_envs)]  # an env, or a same-start group of g consecutive envs
        if self.bundle_episodes is not None:
            def bundle_episode(rng, crowd):
                route, ep = self.bundle_episodes.sample(rng)
                return ep, route, crowd

            planned = {u: [bundle_episode(rng, crowd) for rng, crowd in episode_generators(seed, u, g, size)]
                       for u in range(units[-1] + 1)}
        else:
            units_on = [[] for _ in self._blocks]
            for u in range(units[-1] + 1):
                units_on[self._block_of_env[u * g]].append(u)  # a group's envs share one block
            jobs = [(block, self.route_cfg, seed, us, g, size, self._block_clearance[b])
                    for b, (block, us) in enumerate(zip(self._blocks, units_on)) if us]
            planned = {u: episodes for job, per_unit in zip(jobs, parallel_map(plan_block_episodes, jobs))
                       for u, episodes in zip(job[3], per_unit)}
        return EpisodePool.from_units(units, planned, seed, self.device)

    def _next_episodes(self, ids: torch.Tensor) -> EpisodeBatch:
        """The new episodes of the envs `ids` (tag: the scene bundle's route index, -1 when sampled)."""
        return self.pool.draw(ids)

    def _resample_command(self, env_ids: Sequence[int]):
        ids = self._as_ids(env_ids)
        if len(ids) == 0:
            return
        ep = self._next_episodes(ids)
        self.routes[ids] = ep.routes
        self.goal[ids] = ep.goal
        self.bundle_route[ids] = ep.tag
        pose = torch.cat([
            ep.start + self.origins[ids, :2],
            torch.full((len(ids), 1), self.spec.base_height, device=self.device) + self.origins[ids, 2:3],
            quat_xyzw_from_yaw(ep.start_yaw),
        ], dim=-1)
        self.robot.write_root_pose_to_sim_index(root_pose=pose, env_ids=ids)
        self.robot.write_root_velocity_to_sim_index(root_velocity=torch.zeros(len(ids), 6, device=self.device),
                                                    env_ids=ids)
        default_q = self.robot.data.default_joint_pos.torch[ids]
        self.robot.write_joint_state_to_sim_index(position=default_q, velocity=torch.zeros_like(default_q), env_ids=ids)
        self.state.reset(ids, ep.start, self.routes[ids])
        self._reset_crowd(ids, ep.start, ep.crowd_seed)
        self._write_pedestrians()

    def _reset_crowd(self, ids: torch.Tensor, start: torch.Tensor, crowd_seed: torch.Tensor) -> None:
        """New crowds for the envs `ids`: from the crowd's shared generator in one batch, or, where the episodes
        carry crowd seeds (same-start groups, NavBench-GS), one seeded placement per episode."""
        if self.crowd.max_count == 0:
            return
        clear = self.cfg.pedestrian_start_clearance
        if bool((crowd_seed < 0).all()):
            self.crowd.reset(ids, keep_clear=start, clear_radius=clear)
            return
        for j, s in enumerate(crowd_seed.tolist()):
            self.crowd.generator.manual_seed(s)
            self.crowd.reset(ids[j:j + 1], keep_clear=start[j:j + 1], clear_radius=clear)

    def _update_command(self):
        self.crowd.step(self._env.step_dt, self.robot_pose_2d()[0])
        self._write_pedestrians()
        xy, yaw = self.robot_pose_2d()
        d = self.goal - xy
        c, s = torch.cos(yaw), torch.sin(yaw)
        self._goal_b = torch.stack([c * d[:, 0] + s * d[:, 1], -s * d[:, 0] + c * d[:, 1], d.norm(dim=-1)], dim=-1)

    def _update_metrics(self):
        """Keep the metrics current, so that they can be read mid-episode too."""
        ids = slice(None)
        success, rc, ct = self._episode_metrics(ids)
        self.metrics["success"][:], self.metrics["route_completion"][:], self.metrics["collisions"][:] = success, rc, ct

    def _write_pedestrians(self) -> None:
        """Move the pedestrians' kinematic bodies to the crowd state (inactive ones parked underground)."""
        if self.pedestrian_asset is None:
            return
        e, p = self.crowd.pos.shape[:2]
        pos = self.crowd.pos + self.origins[:, None, :2]
        z = torch.where(self.crowd.active, torch.full((e, p), self.cfg.pedestrian_height / 2, device=self.device),
                        torch.full((e, p), -5.0, device=self.device))
        pose = torch.cat([pos, z[..., None], quat_xyzw_from_yaw(self.crowd.heading)], dim=-1)
        vel = torch.zeros(e, p, 6, device=self.device)
        vel[..., :2] = self.crowd.vel * self.crowd.active[..., None]
        self.pedestrian_asset.write_body_pose_to_sim_index(body_poses=pose)
        self.pedestrian_asset.write_body_velocity_to_sim_index(body_velocities=vel)


@configclass
class NavigationCommandCfg(CommandTermCfg):
    class_type: type = NavigationCommand
    asset_name: str = "robot"
    robot: RobotSpec = MISSING
    route: RouteCfg = RouteCfg()
    pedestrians: PedestrianCfg = PedestrianCfg()
    pedestrian_asset: str = "pedestrians"
    pedestrian_height: float = 1.7
    pedestrian_start_clearance: float = 2.5
    """No pedestrian starts closer than this to the robot's start (m)."""
    arrival_radius: float = 1.0
    collision_margin: float = 0.02
    """Footprint distance below which the robot counts as touching something (m)."""
    seed: int = 0
    episode_pool_size: int = 8
    """Episodes planned per env at start-up (s2e.urban.episode_pool): an env's first episodes are these, in
    order; later ones reuse them, picked by a seeded hash, so resets cost tensor ops only. Larger pools give
    more distinct episodes per env and take longer to start (~1 ms of planning per episode on a CPU core)."""
    group_size: int = 1
    """Envs per same-start group (see the module docstring; the task's finalize gives the terrain the same
    envs_per_block, and sets this from agent.algorithm.loss_terms.group_size for the S2E runner). 1: each env draws
    its own episodes."""
    episode_log_size: int = 4096
    """Reset batches kept in `episode_log` (bounded so that long training runs do not grow memory)."""
    resampling_time_range: tuple[float, float] = (1.0e9, 1.0e9)
    """Episodes are resampled on reset only."""
