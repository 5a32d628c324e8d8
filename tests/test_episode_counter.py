"""EpisodeCounter: per-env quotas and the (env, env_episode) ids that pair two policies' runs."""

from collections import deque
from types import SimpleNamespace

import numpy as np
import torch

from s2e_isaaclab.utils.episodes import EpisodeCounter


def _fake_nav(num_envs: int):
    nav = SimpleNamespace(num_envs=num_envs, episode_log=deque(), layouts=[None] * num_envs)
    nav.robot_pose_2d = lambda: (torch.zeros(num_envs, 3),)
    nav.routes = torch.zeros(num_envs, 2, 2)
    return nav


def _end(nav, envs, success):
    envs = np.asarray(envs)
    nav.episode_log.append({"env": envs, "success": np.asarray(success, dtype=bool),
                            "route_completion": np.ones(len(envs)), "collisions": np.zeros(len(envs))})


def test_counter_numbers_each_envs_episodes_and_drops_those_beyond_the_quota():
    nav = _fake_nav(3)
    counter = EpisodeCounter(nav, quota=2)
    no = torch.zeros(3, dtype=torch.bool)
    for envs, success in (([1], [True]), ([0, 1], [False, True]), ([1, 2], [False, True]), ([0, 2], [True, False])):
        counter.before_step()
        _end(nav, envs, success)
        counter.after_step(no, no)
    assert counter.finished
    r = counter.records()
    got = sorted(zip(r["env"].tolist(), r["env_episode"].tolist(), r["success"].tolist()))
    # env 1's third episode (a failure) is beyond the quota and not counted
    assert got == [(0, 0, False), (0, 1, True), (1, 0, True), (1, 1, True), (2, 0, True), (2, 1, False)]
    assert counter.summary()["SR"] == 4 / 6


def test_records_come_in_env_order_and_a_resumed_counter_owes_only_the_rest():
    steps = (([1], [True]), ([0, 1], [False, True]), ([1, 2], [False, True]), ([0, 2], [True, False]))
    no = torch.zeros(3, dtype=torch.bool)

    def play(counter, nav):
        for envs, success in steps:
            counter.before_step()
            _end(nav, envs, success)
            counter.after_step(no, no)

    nav = _fake_nav(3)
    whole = EpisodeCounter(nav, quota=2)
    play(whole, nav)
    r = whole.records()
    assert list(zip(r["env"].tolist(), r["env_episode"].tolist())) == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)]
    # interrupted with env 0's first and env 1's two episodes finished: env 0 owes one more, env 2 two
    first = EpisodeCounter(nav, quota=2)
    play(first, nav)
    kept = {k: v[np.isin(first.records()["env"], [1]) | (np.arange(6) == 0)] for k, v in first.records().items()}
    resumed = EpisodeCounter(nav, quota=2)
    resumed.resume(kept)
    assert resumed.counted.tolist() == [1, 2, 0] and not resumed.finished
    for envs, success in (([0, 2], [True, True]), ([2], [False])):
        resumed.before_step()
        _end(nav, envs, success)
        resumed.after_step(no, no)
    assert resumed.finished
    out = resumed.records()
    assert (list(zip(out["env"].tolist(), out["env_episode"].tolist()))
            == [(0, 0), (0, 1), (1, 0), (1, 1), (2, 0), (2, 1)])
    assert out["success"].tolist() == r["success"].tolist()
