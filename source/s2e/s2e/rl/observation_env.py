"""An rsl-rl VecEnv wrapper that turns camera frames into cached AGDM context tokens.

PPO stores every observation of a rollout and re-reads them at every update. With a frozen encoder
and fusion (strategies ram, decoder) the images themselves are never needed again: each step this
wrapper encodes only the newest frame of every env (the camera's history is a ring buffer, newest
last) into a per-env window of frame features (s2e.models.frame_window, which re-encodes the whole
window of envs that were just reset), and fuses the window with the goal into context tokens
[E, k+1, D]. The rollout storage then holds those tokens instead of [E, k, 3, H, W] images.
The "full" strategy trains the encoder, so it gets the frames (uint8) and the goal instead.

With a `labeler` (per-mode experience labels, s2e.nav.mode_labels) each observation also carries
`mode_labels` [E, M]: the labeler's score of each mode of the imported checkpoint (the frozen
decoder's mean trajectories) at that state, computed from privileged state when the observation is
made, and `mode_prior` [E, M], the checkpoint's anchor log-probabilities there, so the rollout
storage keeps both beside the sample for the ranking loss (s2e.rl.mode_ranking).

Observations out: {"context" | "frames", "goal", "critic"[, "mode_labels", "mode_prior"]}; actions,
rewards, dones, extras pass through.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from tensordict import TensorDict

from ..models.agdm import AGDM
from ..models.frame_window import FrameFeatureWindow
from .mode_ranking import LABELS_KEY, PRIOR_KEY
from .vec_env_wrapper import VecEnvWrapper

ModeLabelFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""(normalized mode waypoints [E, M, W, 2], mode speeds [E, M]) -> label scores [E, M]."""


class AGDMObservationEnv(VecEnvWrapper):
    """Wraps `env` (an rsl-rl VecEnv with obs[camera_group][rgb_term] [E, k, 3, H, W] in [0, 1],
    obs[goal_group] [E, >= 2] robot-frame goal in metres, obs[critic_group] [E, D]).
    `agdm` is a frozen copy of the checkpoint's model used for the features; `labeler` (optional) scores
    its modes from privileged state (see the module docstring)."""

    def __init__(self, env, agdm: AGDM, strategy: str = "ram", camera_group: str = "camera", rgb_term: str = "rgb",
                 goal_group: str = "route", critic_group: str = "critic", labeler: ModeLabelFn | None = None):
        super().__init__(env)
        self.strategy, self.labeler = strategy, labeler
        self.agdm = agdm.eval().requires_grad_(False)
        self.camera_group, self.rgb_term = camera_group, rgb_term
        self.goal_group, self.critic_group = goal_group, critic_group
        self.window = FrameFeatureWindow(self.agdm.encode_frames)  # [E, k, D] features of the camera history

    def _rgb(self, obs) -> torch.Tensor:
        try:
            rgb = obs[self.camera_group][self.rgb_term]
        except KeyError:
            raise KeyError(f"the env gives no {self.camera_group}/{self.rgb_term} observation: the AGDM policy needs "
                           f"the camera (groups: {list(obs.keys())})") from None
        k = self.agdm.cfg.context
        if rgb.dim() != 5 or rgb.shape[1] != k:
            raise ValueError(f"camera history is {tuple(rgb.shape)}, the AGDM checkpoint needs [E, {k}, 3, H, W]: "
                             f"set env.scene.camera.history={k}")
        return rgb

    @torch.no_grad()
    def convert(self, obs, refresh: torch.Tensor | None = None) -> TensorDict:
        """Env observations -> policy observations; `refresh`: [E] bool, envs whose camera history restarted
        (None, a re-read or a reset: the window re-encodes the envs whose history is not the cached one, and the others
        keep their cached features bit for bit, so `learn()`'s `get_observations()` after a resume gives what the steps
        gave)."""
        rgb = self._rgb(obs)
        goal = obs[self.goal_group][:, :2]
        out = {"goal": goal, "critic": obs[self.critic_group]}
        if self.strategy == "full":
            out["frames"] = (rgb * 255.0).round().to(torch.uint8)
        if self.strategy != "full" or self.labeler is not None:
            context = self.agdm.fuse(self.window(rgb, refresh), goal)
            if self.strategy != "full":
                out["context"] = context
            if self.labeler is not None:
                modes = self.agdm.decode(context)
                out[LABELS_KEY] = self.labeler(modes.mu, modes.speed)
                out[PRIOR_KEY] = torch.log_softmax(modes.logits, dim=-1)
        return TensorDict(out, batch_size=[self.num_envs], device=goal.device)

    def get_observations(self) -> TensorDict:
        return self.convert(self.env.get_observations())

    def step(self, actions: torch.Tensor):
        obs, rewards, dones, extras = self.env.step(actions)
        return self.convert(obs, dones.bool()), rewards, dones, extras

    def reset(self):
        obs, extras = self.env.reset()
        return self.convert(obs), extras
