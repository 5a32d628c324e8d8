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
from s2e.urban.episode_pool import EpisodeBatch

from ..urban.mdp.navigation_command import NavigationCommand, NavigationCommandCfg

if TYPE_CHECKING:
    from isaaclab.envs import ManagerBasedRLEnv


class NavBenchCommand(NavigationCommand):
    cfg: NavBenchCommandCfg

    def __init__(self, cfg: NavBenchCommandCfg, env: ManagerBasedRLEnv):
        self.suite: EpisodeSuite = load_suite(cfg.episode_file)
        super().__init__(cfg, env)
        queues = self.suite.env_queues(self.num_envs)  # first: it checks that every scene has an env
        check_fingerprints(self.suite, {j: self.layouts[j] for j in range(len(self.suite.scenes))}, cfg.episode_file)
        episodes = self.suite.episodes
        if any(len(ep.route) != cfg.route.num_points for ep in episodes):
            raise ValueError(f"{cfg.episode_file}: its routes do not have {cfg.route.num_points} points like the "
                             "command's: keep commands.nav.route.num_points at the file's")
        device = self.device
        self.queues = torch.as_tensor(queues, dtype=torch.long, device=device)
        """[E, Q] indices into suite.episodes of the episodes each env runs, in order."""
        self.cursor = torch.zeros(self.num_envs, dtype=torch.long, device=device)
        """Episodes each env has started (an env past its queue repeats its last episode)."""
        self.episode_index = torch.full((self.num_envs,), -1, dtype=torch.long, device=device)
        """Index into suite.episodes of each env's current episode."""
        self.time_limit_steps = torch.full((self.num_envs,), 10**9, dtype=torch.long, device=device)
        self._episodes = EpisodeBatch(
            start=torch.as_tensor(np.asarray([ep.start for ep in episodes], np.float32), device=device),
            start_yaw=torch.as_tensor([ep.start_yaw for ep in episodes], dtype=torch.float, device=device),
            goal=torch.as_tensor(np.asarray([ep.goal for ep in episodes], np.float32), device=device),
            routes=torch.as_tensor(np.asarray([ep.route for ep in episodes], np.float32), device=device),
            tag=torch.full((len(episodes),), -1, dtype=torch.long, device=device),
            crowd_seed=torch.as_tensor([ep.pedestrian_seed for ep in episodes], dtype=torch.long, device=device))
        """Every episode of the file as tensors."""
        self._limit_steps = torch.as_tensor([int(round(ep.time_limit_s / env.step_dt)) for ep in episodes],
                                            device=device)
        self._scene = torch.as_tensor([ep.scene for ep in episodes], dtype=torch.long, device=device)

    def _plan_episodes(self) -> None:
        """Episodes come from the file: nothing to plan."""
        return None

    def _next_episodes(self, ids: torch.Tensor) -> EpisodeBatch:
        slot = self.cursor[ids].clamp(max=self.queues.shape[1] - 1)
        k = self.queues[ids, slot]
        self.cursor[ids] += 1
        self.episode_index[ids] = k
        self.time_limit_steps[ids] = self._limit_steps[k]
        e = self._episodes
        return EpisodeBatch(e.start[k], e.start_yaw[k], e.goal[k], e.routes[k], e.tag[k], e.crowd_seed[k])

    def _episode_record_extras(self, done: torch.Tensor) -> dict[str, np.ndarray]:
        episode = self.episode_index[done]
        return {"episode": episode.cpu().numpy(), "scene": self._scene[episode].cpu().numpy()}


@configclass
class NavBenchCommandCfg(NavigationCommandCfg):
    class_type: type = NavBenchCommand
    episode_file: str = ""
    """The task's episode file (s2e.navbench.episodes), e.g. assets/navbench/v1/NavBench-GS-Obstacle-Wheeled.json."""
