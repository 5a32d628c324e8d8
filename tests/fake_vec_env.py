"""A tiny rsl-rl VecEnv with the S2E-Urban observation layout, for RL tests without a simulator.

Camera: a ring buffer of the last k random frames per env, newest last, refilled with the first frame
after a reset (as the Gaussian-splat camera does). Episodes end at random; the reward prefers actions
whose speed is near 1 m/s, so a policy has something to learn. Every frame ever shown is kept in
`frames_log` (per step, [E, k, 3, H, W]) so tests can recompute what the policy should have seen.
"""

from __future__ import annotations

import torch
from rsl_rl.env import VecEnv
from tensordict import TensorDict


class FakeUrbanEnv(VecEnv):
    def __init__(self, num_envs=4, k=4, size=32, num_waypoints=10, done_prob=0.15, seed=0, log_frames=False):
        self.num_envs, self.num_actions = num_envs, 2 * num_waypoints + 1
        self.max_episode_length, self.device, self.cfg = 50, "cpu", {}
        self.k, self.size, self.done_prob = k, size, done_prob
        self.gen = torch.Generator().manual_seed(seed)
        self.episode_length_buf = torch.zeros(num_envs, dtype=torch.long)
        self.rgb = self._frames(num_envs)[:, None].repeat(1, k, 1, 1, 1)
        self.goal = torch.randn(num_envs, 3, generator=self.gen) * 5
        self.log_frames = log_frames
        self.frames_log: list[torch.Tensor] = []
        self.goals_log: list[torch.Tensor] = []

    def _frames(self, n):
        return torch.rand(n, 3, self.size, self.size, generator=self.gen)

    def get_observations(self) -> TensorDict:
        if self.log_frames:
            self.frames_log.append(self.rgb.clone())
            self.goals_log.append(self.goal[:, :2].clone())
        critic = torch.cat([self.goal, self.episode_length_buf[:, None].float() / self.max_episode_length], -1)
        return TensorDict({"camera": TensorDict({"rgb": self.rgb.clone()}, batch_size=[self.num_envs]),
                           "route": self.goal.clone(), "critic": critic}, batch_size=[self.num_envs])

    def step(self, actions: torch.Tensor):
        assert actions.shape == (self.num_envs, self.num_actions)
        rewards = -(actions[:, -1] - 1.0).abs()
        self.episode_length_buf += 1
        dones = ((torch.rand(self.num_envs, generator=self.gen) < self.done_prob)
                 | (self.episode_length_buf >= self.max_episode_length))
        self.rgb = torch.cat([self.rgb[:, 1:], self._frames(self.num_envs)[:, None]], dim=1)
        ids = dones.nonzero().squeeze(-1)
        if ids.numel():
            self.rgb[ids] = self._frames(ids.numel())[:, None].repeat(1, self.k, 1, 1, 1)
            self.goal[ids] = torch.randn(ids.numel(), 3, generator=self.gen) * 5
            self.episode_length_buf[ids] = 0
        extras = {"time_outs": torch.zeros(self.num_envs, dtype=torch.bool),
                  "log": {"Metrics/nav/success": dones.float().mean()}}
        return self.get_observations(), rewards, dones.long(), extras

    def reset(self):
        return self.get_observations(), {}
