"""Base of the rsl-rl VecEnv wrappers: forwards everything it does not override to the wrapped env."""

from __future__ import annotations

from rsl_rl.env import VecEnv


class VecEnvWrapper(VecEnv):
    """Subclasses override step / get_observations; attributes, reset and close reach the wrapped env."""

    def __init__(self, env):
        self.env = env

    def __getattr__(self, name):  # only called for attributes the wrapper does not have
        if name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)

    @property
    def num_envs(self) -> int:
        return self.env.num_envs

    @property
    def num_actions(self) -> int:
        return self.env.num_actions

    @property
    def max_episode_length(self):
        return self.env.max_episode_length

    @property
    def device(self):
        return self.env.device

    @property
    def cfg(self):
        return self.env.cfg

    @property
    def episode_length_buf(self):
        return self.env.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value) -> None:
        self.env.episode_length_buf = value

    @property
    def unwrapped(self):
        return self.env.unwrapped

    def get_observations(self):
        return self.env.get_observations()

    def step(self, actions):
        return self.env.step(actions)

    def reset(self):
        return self.env.reset()

    def close(self):
        return self.env.close()
