"""The windowed learning curve (SR_last100) appears only once its window is full; the iteration's episodes always."""

from collections import deque
from types import SimpleNamespace as NS

import numpy as np
import torch

from s2e_isaaclab.utils.episodes import EpisodeMetricsVecEnv


class _FakeEnv:
    """Ends `per_step` episodes every step: the first ones fail (short collisions), later ones succeed."""

    def __init__(self, per_step):
        self.log = deque()
        self.unwrapped = NS(command_manager=NS(get_term=lambda name: NS(episode_log=self.log)))
        self.per_step, self.t = per_step, 0

    def step(self, actions):
        self.t += 1
        ok = float(self.t > 3)
        n = self.per_step
        self.log.append({"success": np.full(n, ok), "route_completion": np.full(n, ok),
                         "collisions": np.full(n, 1.0 - ok)})
        return None, torch.zeros(n), torch.ones(n, dtype=torch.bool), {}


def test_the_window_is_reported_only_when_full():
    env = EpisodeMetricsVecEnv(_FakeEnv(per_step=30), window=100)
    seen = [env.step(None)[3]["episode"] for _ in range(5)]
    assert all("SR" in e for e in seen)  # the episodes that ended in the step, every time some did
    assert ["SR_last100" in e for e in seen] == [False, False, False, True, True]  # 30, 60, 90 < 100: not yet
    assert abs(seen[3]["SR_last100"].item() - 0.3) < 1e-6  # the last 100 of 120: 70 early failures, 30 successes
    assert seen[0]["SR"].tolist() == [0.0] * 30 and seen[4]["CT"].tolist() == [0.0] * 30
