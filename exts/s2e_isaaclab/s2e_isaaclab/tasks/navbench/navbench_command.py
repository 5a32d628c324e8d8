"""NavBench-GS's navigation command: episodes come from the task's episode file, in order, not sampled.

Each env runs its queue of the file's episodes (s2e.navbench.episodes.EpisodeSuite.env_queues); an
env past its queue repeats its last episode, which evaluation does not count. Each episode's crowd is
placed from its own pedestrian seed, so it does not depend on which other envs reset at that step.
The episode's time limit is exposed as `time_limit_steps` for the `episode_time_limit` termination.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import torch

from isaaclab.utils import configclass

from s2e.navbench.episodes import EpisodeSuite, check_fingerprints, load_suite
from s2e.urban.routes import Episode, polyline_length

from ..urban.mdp.navigation_command import NavigationCommand, NavigationCommandCfg

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv


class NavBenchCommand(NavigationCommand):
    cfg: NavBenchCommandCfg

    def __init__(self, cfg: NavBenchCommandCfg, env: ManagerBasedRLEnv):
        self.suite: EpisodeSuite = load_suite(cfg.episode_file)
        super().__init__(cfg, env)
        self.queues = self.suite.env_queues(self.num_envs)  # first: it checks that every scene has an env
        check_fingerprints(self.suite, {j: self.layouts[j] for j in range(len(self.suite.scenes))}, cfg.episode_file)
        self.cursor = np.zeros(self.num_envs, dtype=int)
        self.episode_index = torch.full((self.num_envs,), -1, dtype=torch.long, device=self.device)
        """Index into suite.episodes of each env's current episode."""
        self.time_limit_steps = torch.full((self.num_envs,), 10**9, dtype=torch.long, device=self.device)
        self.route_points = cfg.route.num_points

    def _next_episode(self, i: int) -> Episode:
        queue = self.queues[i]
        k = queue[min(self.cursor[i], len(queue) - 1)]
        self.cursor[i] += 1
        self.episode_index[i] = k
        ep = self.suite.episodes[k]
        self.time_limit_steps[i] = int(round(ep.time_limit_s / self._env.step_dt))
        route = np.asarray(ep.route, dtype=np.float32)
        if len(route) != self.route_points:
            raise ValueError(f"{self.cfg.episode_file}: episode {k} has {len(route)} route points, the command uses "
                             f"{self.route_points}: keep commands.nav.route.num_points at the file's")
        return Episode(np.asarray(ep.start, np.float32), ep.start_yaw, np.asarray(ep.goal, np.float32), route, polyline_length(route))

    def _crowd_seed(self, i: int) -> int:
        return self.suite.episodes[int(self.episode_index[i])].pedestrian_seed

    def _episode_record_extras(self, done: torch.Tensor) -> dict[str, np.ndarray]:
        episode = self.episode_index[done]
        return {"episode": episode.cpu().numpy(),
                "scene": torch.as_tensor([self.suite.episodes[int(k)].scene for k in episode], dtype=torch.long).numpy()}


@configclass
class NavBenchCommandCfg(NavigationCommandCfg):
    class_type: type = NavBenchCommand
    episode_file: str = ""
    """The task's episode file (s2e.navbench.episodes), e.g. assets/navbench/v1/NavBench-GS-Obstacle-Wheeled.json."""
