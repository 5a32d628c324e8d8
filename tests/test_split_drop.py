"""The drop from one split to another beyond the reference's: paired within each split, resampled per split."""

from __future__ import annotations

import pytest

from s2e.navbench.split_drop import split_drop, split_drop_table, split_drops


def _task(success, collisions=None):
    n = len(success)
    return {"episode": list(range(n)), "success": list(success), "collisions": list(collisions or [0] * n),
            "route_length": [20.0] * n}


def test_a_method_that_keeps_its_gap_to_the_reference_has_no_extra_drop():
    # urban: both arrive in 30 of 32; shift: both lose the same 10 episodes
    urban = _task([1] * 30 + [0] * 2)
    shift = _task([1] * 20 + [0] * 12)
    d = split_drop(({"Empty": urban}, {"Empty": urban}), ({"Empty": shift}, {"Empty": shift}), "RAM", "BC")
    assert d.extra_drop == 0 and d.extra_drop_ci == (0.0, 0.0) and not d.significant
    assert d.rate == pytest.approx((30 / 32, 20 / 32)) and d.reference_rate == d.rate and d.episodes == (32, 32)
    # only tasks both methods ran on both splits are pooled
    partial = split_drop(({"Empty": urban, "Mixed": urban}, {"Empty": urban, "Mixed": urban}),
                         ({"Empty": shift}, {"Empty": shift, "Mixed": urban}), "RAM", "BC")
    assert partial.tasks == ("Empty",) and partial.episodes == (32, 32)


def test_a_method_that_loses_what_the_reference_keeps_drops_significantly():
    ref_u, ref_s = _task([1] * 28 + [0] * 4), _task([1] * 24 + [0] * 8)
    full_u = _task([1] * 28 + [0] * 4)  # level with the reference on urban
    full_s = _task([1] * 10 + [0] * 22)  # 14 episodes fewer than the reference on shift
    d = split_drop(({"Obstacle": ref_u}, {"Obstacle": full_u}), ({"Obstacle": ref_s}, {"Obstacle": full_s}), "Full",
                   "BC")
    assert d.extra_drop == pytest.approx(14 / 32)
    assert d.extra_drop_ci[0] > 0.2 and d.significant
    # the collision-free rate counts an arrival with contact as a failure
    clean = split_drop(({"Obstacle": ref_u}, {"Obstacle": _task([1] * 28 + [0] * 4, [1] * 28 + [0] * 4)}),
                       ({"Obstacle": ref_s}, {"Obstacle": ref_s}), "Bumpy", "BC", metric="SR-NC")
    assert clean.rate == (0.0, 24 / 32) and clean.extra_drop == pytest.approx(-28 / 32)


def test_every_method_on_both_splits_gets_a_row_per_metric():
    u, s = _task([1, 1, 0, 1]), _task([1, 0, 0, 1])
    base = {"BC": {"Empty": u}, "RAM": {"Empty": u}, "Only-urban": {"Empty": u}}
    other = {"BC": {"Empty": s}, "RAM": {"Empty": s}}
    drops = split_drops(base, other, "BC")
    assert [(d.method, d.metric) for d in drops] == [("RAM", "SR"), ("RAM", "SR-NC")]
    table = split_drop_table(drops, "urban", "shift")
    assert "| RAM | SR | Empty | 0.75 | 0.50 | 0.75 → 0.50 | +0 pts [+0, +0] |" in table
    assert split_drops(base, {"RAM": {"Empty": s}}, "BC") == []  # no reference on the other split: nothing to say
