"""The env class of the S2E-Urban and NavBench-GS tasks: Isaac Lab's ManagerBasedRLEnv on a finalized cfg."""

from __future__ import annotations

from isaaclab.envs import ManagerBasedRLEnv

from .finalize import finalize


class UrbanNavEnv(ManagerBasedRLEnv):
    """ManagerBasedRLEnv that derives and checks its cfg's dependent settings first (`finalize`), so that whatever
    builds the env (the project's scripts, Isaac Lab's train.py / play.py, a user's own) runs the same settings."""

    def __init__(self, cfg, render_mode: str | None = None, **kwargs):
        finalize(cfg)
        super().__init__(cfg, render_mode, **kwargs)
