"""Base of the rsl-rl VecEnv wrappers: forwards everything it does not override to the wrapped env."""

from __future__ import annotations

from rsl_rl.env import VecEnv


class VecEnvWrapper(VecEnv):
    """Subclasses override step / get_observations; reset and close, and reading any attribute the wrapper does not
    have (num_envs, num_actions, device, cfg, unwrapped, ...: VecEnv only annotates them), reach the wrapped env.
    `episode_length_buf` is a property so that writes (rsl-rl randomizes it at start) reach the env too."""

    def __init__(self, env):
        self.env = env

    def __getattr__(self, name):  # only called for attributes the wrapper does not have
        if name == "env":
            raise AttributeError(name)
        return getattr(self.env, name)

    @property
    def episode_length_buf(self):
        return self.env.episode_length_buf

    @episode_length_buf.setter
    def episode_length_buf(self, value) -> None:
        self.env.episode_length_buf = value

    def get_observations(self):
        return self.env.get_observations()

    def step(self, actions):
        return self.env.step(actions)

    def reset(self):
        return self.env.reset()

    def close(self):
        return self.env.close()
