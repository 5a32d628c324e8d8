"""Counting finished episodes of the S2E-Urban tasks fairly, with tracks for top-down maps.

Every env runs `quota` episodes; episodes an env finishes beyond its quota are not counted, so short
episodes are not over-represented. Each record carries (env, env_episode), the env's k-th counted
episode, so two policies' runs on the same seed pair up episode by episode (route_length should
match). Poses and routes are snapshots (on CPU, `tensor.cpu().numpy()` shares memory with the live
simulator buffers).
"""

from __future__ import annotations

import time
from collections import deque
from pathlib import Path

import numpy as np
import torch

from s2e.rl.vec_env_wrapper import VecEnvWrapper


class EpisodeCounter:
    """Step the env through `step(env, action)` (or `before_step()` / `after_step(terminated, truncated)` around
    each `env.step`); `run(env, policy, obs)` is the whole loop of a script that only acts and counts."""

    def __init__(self, nav, quota: int, max_panels: int = 8, label: str = "episodes"):
        self.nav, self.quota, self.max_panels, self.label = nav, quota, max_panels, label
        self.num_envs = nav.num_envs
        self.counted = np.zeros(self.num_envs, dtype=int)
        self.kept: list[dict[str, np.ndarray]] = []
        self.panels: list[dict] = []
        self._history: list[np.ndarray] = []
        self._start = np.zeros(self.num_envs, dtype=int)
        self._routes = None
        self.steps, self.t0, self._last_print = 0, time.time(), 0.0
        nav.episode_log.clear()

    def resume(self, records: dict[str, np.ndarray]) -> None:
        """Count the episodes of an interrupted run (its `records()`) as done; each env then owes only the rest of its
        quota, and the command must start env i at its queue position `counted[i]`."""
        counted = np.bincount(np.asarray(records["env"], dtype=int), minlength=self.num_envs)
        if len(counted) != self.num_envs or (counted > self.quota).any():
            raise ValueError(f"the saved episodes do not fit {self.num_envs} envs x {self.quota} episodes")
        self.kept = [dict(records)] if len(records["env"]) else []
        self.counted = counted

    @property
    def target(self) -> int:
        return self.quota * self.num_envs

    @property
    def finished(self) -> bool:
        return int(self.counted.sum()) >= self.target

    def before_step(self) -> None:
        self._history.append(self.nav.robot_pose_2d()[0].cpu().numpy().copy())
        self._routes = self.nav.routes.cpu().numpy().copy()

    def after_step(self, terminated: torch.Tensor, truncated: torch.Tensor) -> None:
        self.steps += 1
        while self.nav.episode_log:
            batch = self.nav.episode_log.popleft()
            keep = self.counted[batch["env"]] < self.quota
            envs = batch["env"][keep]
            self.kept.append({**{k: v[keep] for k, v in batch.items()}, "env_episode": self.counted[envs].copy()})
            self.counted[envs] += 1
            for j, (i, ok) in enumerate(zip(batch["env"], keep)):
                if ok and len(self.panels) < self.max_panels:
                    track = np.stack(self._history[self._start[i]:])[:, i]
                    outcome = "success" if batch["success"][j] else "failure"
                    self.panels.append(dict(layout=self.nav.layouts[i], route=self._routes[i], trajectory=track,
                                            title=f"env {i}: {outcome}"))
        self._start[(terminated | truncated).cpu().numpy()] = len(self._history)

    def step(self, env, action):
        """env.step(action), counted: returns env.step's (obs, reward, terminated, truncated, info)."""
        self.before_step()
        out = env.step(action)
        self.after_step(out[2], out[3])
        return out

    def run(self, env, policy, obs, log=None, every_s: float = 10.0):
        """Act with `policy(obs)` (no autograd) and step until every env has run its quota; `log(line)` gets a
        progress line at most every `every_s` seconds. Returns the last observation."""
        while not self.finished:
            with torch.inference_mode():
                action = policy(obs)
            obs = self.step(env, action)[0]
            line = self.progress_line(every_s)
            if line and log is not None:
                log(line)
        return obs

    def save(self, out_dir, result: dict) -> None:
        """A script's results.json (`result`) and episodes.png (top-down maps of the first episodes) in `out_dir`."""
        from s2e.urban.topdown import save_topdown_grid
        from s2e.utils.files import write_json_atomic

        write_json_atomic(Path(out_dir) / "results.json", result)
        if self.panels:
            save_topdown_grid(Path(out_dir) / "episodes.png", self.panels)

    def progress_line(self, every_s: float = 10.0) -> str | None:
        """A progress line with the ETA, at most every `every_s` seconds (None in between)."""
        now = time.time()
        if now - self._last_print < every_s:
            return None
        self._last_print = now
        done = int(self.counted.sum())
        rate = done / max(now - self.t0, 1e-6)
        eta = (self.target - done) / rate if rate > 0 else float("nan")
        return (f"{done}/{self.target} {self.label}, {self.steps} steps, "
                f"{self.steps * self.num_envs / (now - self.t0):.1f} env-steps/s, ETA {eta:.0f} s")

    def records(self) -> dict[str, np.ndarray]:
        """Per-episode records ordered by (env, env_episode): the same episodes give the same arrays (and the same
        bootstrap intervals) whatever order they finished in, e.g. after a resume."""
        merged = {k: np.concatenate([np.asarray(r[k]) for r in self.kept]) for k in self.kept[0]}
        order = np.lexsort((merged["env_episode"], merged["env"]))
        return {k: v[order] for k, v in merged.items()}

    def summary(self) -> dict:
        """SR, RC, CT and the per-episode records."""
        r = self.records()
        return {"episodes": int(len(r["success"])), "SR": float(r["success"].mean()),
                "RC": float(r["route_completion"].mean()), "CT": float(r["collisions"].mean()),
                "env_steps": self.steps * self.num_envs, "wall_time_s": time.time() - self.t0,
                "per_episode": {k: v.tolist() for k, v in r.items()}}


class EpisodeMetricsVecEnv(VecEnvWrapper):
    """rsl-rl VecEnv wrapper: SR / RC / CT of the episodes that ended this step, in extras["episode"]
    (rsl-rl's logger averages them over an iteration's episodes: `Mean episode SR`), and the same
    over the last `window` episodes (`SR_last100`: a steadier learning curve, since an iteration of a
    few env steps ends only a handful of episodes) once that many have ended: before, the window holds
    mostly the short episodes, the ones that end early by colliding or arriving, and its mean would climb
    with the window's filling, not with the policy.

    Isaac Lab keeps extras["log"] from the last reset until the next one, so reading it every step
    would repeat old episodes' metrics; the nav command's episode_log has exactly one record per
    finished episode. The reset-time terms of extras["log"] ride along on steps with a reset.
    """

    KEYS = (("SR", "success"), ("RC", "route_completion"), ("CT", "collisions"))

    def __init__(self, env, window: int = 100):
        super().__init__(env)
        self.nav = env.unwrapped.command_manager.get_term("nav")
        self.nav.episode_log.clear()
        self.window = window
        self.recent = {key: deque(maxlen=window) for key, _ in self.KEYS}

    def step(self, actions):
        obs, rewards, dones, extras = self.env.step(actions)
        records = list(self.nav.episode_log)
        self.nav.episode_log.clear()
        episode = dict(extras.get("log", {})) if bool(dones.any()) else {}
        device = rewards.device
        for key, name in self.KEYS:
            values = (np.concatenate([r[name] for r in records]).astype(np.float32) if records
                      else np.zeros(0, np.float32))
            if len(values):  # only when episodes ended, so an iteration without any prints no SR (not nan)
                episode[key] = torch.as_tensor(values, device=device)
                self.recent[key].extend(values.tolist())
            if len(self.recent[key]) == self.window:
                episode[f"{key}_last{self.window}"] = torch.tensor(float(np.mean(self.recent[key])), device=device)
        extras["episode"] = episode
        return obs, rewards, dones, extras
