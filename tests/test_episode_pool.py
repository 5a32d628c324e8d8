import time

import numpy as np
import torch

from s2e.urban.episode_pool import EpisodePool, episode_generators, plan_block_episodes, reuse_index
from s2e.urban.routes import RouteCfg, RoutePlanner
from s2e.utils.processes import parallel_map


def _pool(layouts, units, size=4, seed=3):
    """A pool as the navigation command plans it (unit u on block u mod 6), entries tagged u * 100 + k."""
    planned = {u: plan_block_episodes(layouts[u % len(layouts)], RouteCfg(), seed, [u], 1, size)[0] for u in set(units)}
    tagged = {u: [(ep, u * 100 + k, crowd) for k, (ep, _, crowd) in enumerate(eps)] for u, eps in planned.items()}
    return EpisodePool.from_units(units, tagged, seed), [RoutePlanner(l, RouteCfg()) for l in layouts]


def test_first_episodes_are_the_planned_ones_in_order_whoever_resets_alongside(layouts):
    pool, planners = _pool(layouts, units=[0, 1, 2], size=3)
    expected = {}
    for u in range(3):
        rng = np.random.default_rng(3 * 7919 + u)
        expected[u] = [planners[u].sample_episode(rng) for _ in range(3)]
    got = {u: [] for u in range(3)}
    for ids in ([0, 2], [1], [0], [1, 2], [0, 1, 2]):  # envs reset at different steps
        batch = pool.draw(torch.tensor(ids))
        for j, i in enumerate(ids):
            got[i].append((batch.start[j], batch.start_yaw[j], batch.goal[j], batch.routes[j], int(batch.tag[j])))
    for u in range(3):
        for k, (ep, (start, yaw, goal, route, tag)) in enumerate(zip(expected[u], got[u])):
            assert torch.equal(start, torch.as_tensor(ep.start)) and torch.equal(goal, torch.as_tensor(ep.goal))
            assert torch.equal(route, torch.as_tensor(ep.route))
            assert yaw.item() == np.float32(ep.start_yaw) and tag == u * 100 + k
    assert pool.started.tolist() == [3, 3, 3]


def test_reuse_is_seeded_per_unit_and_independent_of_the_reset_batch(layouts):
    pool, _ = _pool(layouts, units=[0, 0, 1], size=2)  # envs 0 and 1 form one unit (a same-start group)
    tags = {i: [] for i in range(3)}
    for ids in ([0, 1, 2],) * 3 + ([2],) * 5 + ([0],) * 5 + ([1],) * 5 + ([0, 1, 2],) * 2:
        batch = pool.draw(torch.tensor(ids))
        for j, i in enumerate(ids):
            tags[i].append(int(batch.tag[j]))
    assert tags[0] == tags[1]  # one unit: the same k-th episode whenever each member reset
    assert tags[0][:2] == [0, 1] and tags[2][:2] == [100, 101]
    assert set(tags[0]) == {0, 1} and set(tags[2]) == {100, 101}
    k = torch.arange(2, 2000)
    for unit in (0, 1, 7):
        idx = reuse_index(3, torch.full_like(k, unit), k, 5)
        counts = torch.bincount(idx, minlength=5)
        assert idx.min() >= 0 and idx.max() < 5 and counts.min() > 300  # every entry is reused, roughly evenly
    assert not torch.equal(reuse_index(3, torch.zeros_like(k), k, 5), reuse_index(3, torch.ones_like(k), k, 5))
    assert not torch.equal(reuse_index(3, torch.zeros_like(k), k, 5), reuse_index(4, torch.zeros_like(k), k, 5))


def test_resetting_1024_envs_takes_tensor_ops_only(layouts):
    pool, _ = _pool(layouts, units=[i % 6 for i in range(1024)], size=8)  # 6 planned units shared by 1,024 envs
    ids = torch.arange(1024)
    times = []
    for _ in range(12):  # the planned episodes, then reuse
        t0 = time.perf_counter()
        batch = pool.draw(ids)
        times.append(time.perf_counter() - t0)
    assert batch.routes.shape == (1024, RouteCfg().num_points, 2) and pool.started.eq(12).all()
    assert max(times) < 0.2, times


def test_episode_seeds_of_envs_and_of_same_start_groups(layouts):
    env = [(rng.random(), crowd) for rng, crowd in episode_generators(3, 5, 1, 3)]  # one generator for the sequence
    reference = np.random.default_rng(3 * 7919 + 5)
    assert env == [(reference.random(), -1) for _ in range(3)]
    for k, (rng, crowd) in enumerate(episode_generators(3, 5, 4, 3)):  # a group: a generator per episode
        own = np.random.default_rng([3, 5, k])
        assert crowd == own.integers(2**62) and rng.random() == own.random()


def test_blocks_planned_on_worker_processes_are_the_same_episodes(layouts):
    jobs = [(layouts[b], RouteCfg(), 3, [2 * b, 2 * b + 1], 2, 2) for b in range(4)]  # two groups per block
    here = [plan_block_episodes(*job) for job in jobs]
    there = parallel_map(plan_block_episodes, jobs, workers=2, min_jobs=1)
    given = plan_block_episodes(*jobs[0][:6], clearance=RoutePlanner(layouts[0], RouteCfg()).clearance_map)
    for a, b in zip(here + [here[0]], there + [given], strict=True):
        for ua, ub in zip(a, b, strict=True):
            for (ea, ta, ca), (eb, tb, cb) in zip(ua, ub, strict=True):
                assert np.array_equal(ea.route, eb.route) and ea.start_yaw == eb.start_yaw and (ta, ca) == (tb, cb)
    assert not np.array_equal(here[0][0][0][0].route, here[0][1][0][0].route)  # the block's two groups differ
