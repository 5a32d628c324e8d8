"""Video frames of an S2E-Urban rollout: the robot's first-person camera beside a top-down map.

Shared by record_rollout.py (the scripted expert), play.py and train_ram.py --video (a policy).
"""

from __future__ import annotations

import numpy as np
import torch

from s2e.rl.vec_env_wrapper import VecEnvWrapper


class RolloutFilm:
    """Frames of one env: call `frame()` before each env.step and `after_step(terminated, truncated)` after."""

    def __init__(self, base_env, env_index: int = 0, view_size: int = 256, label: str = ""):
        from s2e.urban.topdown import TopdownAnimator

        if not 0 <= env_index < base_env.num_envs:
            raise ValueError(f"env {env_index} is not one of the {base_env.num_envs} envs")
        self.base, self.i, self.view_size, self.label = base_env, env_index, view_size, label
        self.nav = base_env.command_manager.get_term("nav")
        self.camera = base_env.scene.sensors["camera"]
        self.animator = TopdownAnimator(size_px=view_size + 128)
        self.track: list[np.ndarray] = []
        self.episode, self.step = 0, 0

    def frame(self) -> np.ndarray:
        """RGB uint8 [H, W, 3]: the camera at view_size (the policy's own low-res view inset) | the map."""
        from s2e.utils.video import side_by_side, upscale_nearest

        i, nav = self.i, self.nav
        xy, yaw = nav.robot_pose_2d()
        state = nav.refresh()
        self.track.append(xy[i].cpu().numpy())
        view = self.camera.render_preview([i], self.view_size, self.view_size)[0].cpu().numpy()
        inset = upscale_nearest(self.camera.data.rgb[i, -1].cpu().numpy(), self.view_size // 2)
        view[: inset.shape[0], : inset.shape[1]] = inset
        peds = nav.crowd.pos[i][nav.crowd.active[i]].cpu().numpy()
        title = (f"{self.label} env {i}  episode {self.episode}  t={len(self.track) * self.base.step_dt:5.1f} s  "
                 f"collisions {int(state.collision_count[i])}")
        topdown = self.animator.frame(nav.layouts[i], nav.routes[i].cpu().numpy(), np.stack(self.track), float(yaw[i]),
                                      peds, title)
        return side_by_side(view, topdown)

    def after_step(self, terminated, truncated) -> None:
        self.step += 1
        if bool(terminated[self.i] | truncated[self.i]):
            self.episode += 1
            self.track.clear()

    def close(self) -> None:
        self.animator.close()


class FilmingVecEnv(VecEnvWrapper):
    """rsl-rl VecEnv wrapper (train_ram.py --video): films env 0 for `length` steps every `interval`
    env steps into <folder>/step_<n>.mp4; everything else passes through."""

    def __init__(self, env, folder, length: int = 200, interval: int = 2000, label: str = ""):
        super().__init__(env)
        self.folder, self.length, self.interval = folder, length, interval
        self.film = RolloutFilm(env.unwrapped, 0, label=label)
        self.steps, self._writer = 0, None

    def step(self, actions):
        from s2e.utils.video import Mp4Writer

        if self._writer is None and self.steps % self.interval == 0:
            self._writer = Mp4Writer(self.folder / f"step_{self.steps}.mp4", fps=1.0 / self.env.unwrapped.step_dt)
        if self._writer is not None:
            self._writer.append(self.film.frame())
        obs, rewards, dones, extras = self.env.step(actions)
        self.steps += 1
        if self._writer is not None:
            time_outs = extras.get("time_outs", torch.zeros_like(dones)).bool()
            self.film.after_step(dones.bool() & ~time_outs, time_outs)
            if self._writer.frames >= self.length:
                print(f"[video] wrote {self._writer.close()}", flush=True)
                self._writer = None
        return obs, rewards, dones, extras

    def close(self):
        if self._writer is not None:
            self._writer.close()
        self.film.close()
        return self.env.close()
