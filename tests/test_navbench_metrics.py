"""NavBench-GS metrics on hand-made trajectories, and their summaries with confidence intervals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from s2e.nav.episode_state import EpisodeState
from s2e.nav.metrics import count_contacts, path_length, route_completion
from s2e.navbench.summary import bootstrap_interval, summarize, summarize_by, wilson_interval

# A U-shaped route: 10 m east, 4 m north, 10 m west (24 m); start (0, 0), goal (0, 4).
U_ROUTE = torch.tensor([[0.0, 0.0], [10.0, 0.0], [10.0, 4.0], [0.0, 4.0]])


def _line(a, b, n=41):
    t = torch.linspace(0, 1, n)[:, None]
    return torch.as_tensor(a, dtype=torch.float) * (1 - t) + torch.as_tensor(b, dtype=torch.float) * t


def test_route_completion_along_a_bent_route():
    follow = torch.cat([_line((0, 0), (10, 0)), _line((10, 0), (10, 4)), _line((10, 4), (5, 4))])
    shortcut = _line((0, 0), (0, 4))  # straight across to the goal: next to the route's end, but never along it
    half_way = _line((0, 0), (6, 0))
    trajs = torch.nn.utils.rnn.pad_sequence([follow, shortcut, half_way], batch_first=True, padding_side="right")
    # pad by repeating each trajectory's last point (standing still)
    for k, t in enumerate((follow, shortcut, half_way)):
        trajs[k, len(t):] = t[-1]
    rc = route_completion(trajs, U_ROUTE.expand(3, -1, -1))
    assert rc[0].item() == pytest.approx(19 / 24, abs=1e-4)
    assert rc[1].item() < 3.5 / 24  # the window lets progress move at most 3 m past the best so far
    assert rc[2].item() == pytest.approx(6 / 24, abs=1e-4)
    arrived = torch.tensor([False, True, False])
    assert route_completion(trajs, U_ROUTE.expand(3, -1, -1), arrived)[1].item() == 1.0


def test_collisions_count_distinct_contacts_not_steps_in_contact():
    touching = torch.tensor([[0, 1, 1, 1, 0, 0, 1, 0, 1, 1],
                             [1, 1, 0, 0, 0, 0, 0, 0, 0, 0],
                             [0] * 10], dtype=torch.bool)
    assert count_contacts(touching).tolist() == [3, 1, 0]


def test_episode_state_counts_contacts_and_path_like_the_offline_metrics():
    """The simulator's online CT, RC and path length equal the offline functions on the same path."""
    foot = torch.tensor([[[5.0, 1.0, 0.0, 0.5, 0.5, 1.0, 0.0]]])  # a box the path brushes twice
    valid = torch.ones(1, 1, dtype=torch.bool)
    xs = torch.linspace(0, 10, 101)
    path = torch.stack([xs, 0.55 * torch.cos(xs * 6.0)], -1)  # weaves towards and away from the box
    route = torch.tensor([[[0.0, 0.0], [10.0, 0.0]]])
    s = EpisodeState.zeros(1, "cpu")
    s.reset(torch.tensor([0]), path[:1], route)
    touching = []
    for p in path[1:]:
        s.update(p[None], route[:, -1], route, foot, valid, torch.zeros(1, 0, 2), torch.zeros(1, 0, dtype=torch.bool),
                 0.4, 0.3, 1.0, 0.02)
        touching.append(bool(s.colliding))
    offline = count_contacts(torch.tensor([touching]))
    assert offline.item() >= 2 and s.collision_count.item() == offline.item()
    assert s.path_length.item() == pytest.approx(path_length(path[None]).item(), rel=1e-5)
    rc = route_completion(path[None], route)
    assert (s.progress / s.route_length).item() == pytest.approx(rc.item(), abs=1e-5)
    assert s.arrival_step.item() == 91  # within 1 m of (10, 0) from x = 9.0 on (index 90, the 91st update)


def test_wilson_interval_matches_the_closed_form_and_stays_in_range():
    lo, hi = wilson_interval(8, 10)
    assert (lo, hi) == pytest.approx((0.4902, 0.9433), abs=1e-4)
    assert wilson_interval(0, 20)[0] == 0.0 and wilson_interval(20, 20)[1] == 1.0
    assert wilson_interval(0, 20)[1] > 0.1  # 0/20 still leaves real doubt


def test_bootstrap_interval_is_deterministic_and_covers_the_mean():
    v = np.random.default_rng(3).normal(2.0, 1.0, size=64)
    a, b = bootstrap_interval(v), bootstrap_interval(v)
    assert a == b and a[0] < v.mean() < a[1]
    se = v.std(ddof=1) / np.sqrt(len(v))
    assert (a[1] - a[0]) == pytest.approx(2 * 1.96 * se, rel=0.15)


def test_summary_uses_successes_only_for_path_ratio_and_time_to_goal():
    records = {
        "success": np.array([True, False, True, True]),
        "route_completion": np.array([1.0, 0.5, 1.0, 1.0]),
        "collisions": np.array([0, 3, 1, 0]),
        "route_length": np.array([10.0, 20.0, 10.0, 20.0]),
        "path_length": np.array([12.0, 5.0, 11.0, 20.0]),
        "arrival_step": np.array([100, 0, 120, 200]),
        "scene": np.array([0, 0, 1, 1]),
    }
    s = summarize(records, step_dt=0.1)
    assert s["SR"]["mean"] == 0.75 and s["SR"]["n"] == 4
    assert s["RC"]["mean"] == pytest.approx(0.875) and s["CT"]["mean"] == 1.0
    assert s["PLR"]["mean"] == pytest.approx((1.2 + 1.1 + 1.0) / 3) and s["PLR"]["n"] == 3
    assert s["TTG"]["mean"] == pytest.approx(14.0)
    per_scene = summarize_by(records, "scene", 0.1)
    assert per_scene[0]["SR"]["mean"] == 0.5 and per_scene[1]["SR"]["mean"] == 1.0
