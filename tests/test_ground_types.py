"""Which free ground of a capture is walkable: street (dark road, light sidewalks, curbs between) vs plaza."""

import numpy as np
import pytest

from s2e.urban.ground_types import GroundSplitCfg, otsu, split_ground

SIZE, N = 20.0, 80  # 0.25 m cells


def _ground_points(rng, lum_of_x, per_cell=4):
    """Flat ground Gaussians over the tile, grey with the luminance lum_of_x(x) and a little noise."""
    xy = rng.uniform(-SIZE / 2, SIZE / 2, (N * N * per_cell, 2))
    lum = np.clip(lum_of_x(xy[:, 0]) + rng.normal(0, 0.03, len(xy)), 0, 1)
    return np.c_[xy, rng.normal(0, 0.01, len(xy))], np.repeat(lum[:, None], 3, 1)


def _curb(rng, x, count=600):
    """A curb line along y at x: Gaussians 0.05-0.11 m high."""
    xy = np.c_[rng.normal(x, 0.05, count), rng.uniform(-SIZE / 2, SIZE / 2, count)]
    return np.c_[xy, rng.uniform(0.05, 0.11, count)], np.full((count, 3), 0.8)


def _free():
    return np.ones((N, N), bool)


def test_otsu_finds_the_gap_and_its_separation():
    values = np.r_[np.full(100, 0.25), np.full(100, 0.65)]
    threshold, separation = otsu(values)
    assert 0.25 <= threshold < 0.65 and separation > 0.95
    assert otsu(np.random.default_rng(0).uniform(0.4, 0.6, 500))[1] < 0.8


def test_a_street_keeps_the_sidewalks_and_drops_the_road():
    rng = np.random.default_rng(0)
    road = lambda x: np.where(np.abs(x) < 4.0, 0.25, 0.65)  # noqa: E731  road |x| < 4 m, sidewalks beyond
    (p, c), (p1, c1), (p2, c2) = _ground_points(rng, road), _curb(rng, -4.0), _curb(rng, 4.0)
    split = split_ground(_free(), np.r_[p, p1, p2], np.r_[c, c1, c2], SIZE, 0.1, GroundSplitCfg())
    assert split.chosen == "light" and split.curb_between > 0.9
    x = (np.arange(N) + 0.5) * SIZE / N - SIZE / 2
    sidewalk = np.broadcast_to(np.abs(x) > 4.0, (N, N))
    iou = (split.walkable & sidewalk).sum() / (split.walkable | sidewalk).sum()
    assert iou > 0.9, iou
    assert "walkable = the lighter ground" in split.line("auto") and "(a street)" in split.line("auto")


def test_without_curbs_or_with_one_paving_all_free_ground_stays_walkable():
    rng = np.random.default_rng(1)
    two_tones = lambda x: np.where(np.abs(x) < 4.0, 0.25, 0.65)  # noqa: E731  a two-tone plaza, no curbs
    p, c = _ground_points(rng, two_tones)
    assert split_ground(_free(), p, c, SIZE, 0.1, GroundSplitCfg()).chosen == "all"
    p, c = _ground_points(rng, lambda x: np.full_like(x, 0.5))  # one paving, curbs on it
    (p1, c1) = _curb(rng, 0.0)
    split = split_ground(_free(), np.r_[p, p1], np.r_[c, c1], SIZE, 0.1, GroundSplitCfg())
    assert split.chosen == "all" and split.walkable.all() and "(not a street)" in split.line("auto")


def test_a_forced_choice_wins_and_a_bad_one_is_refused():
    rng = np.random.default_rng(2)
    p, c = _ground_points(rng, lambda x: np.where(x < 0, 0.25, 0.65))
    split = split_ground(_free(), p, c, SIZE, 0.1, GroundSplitCfg(choice="dark"))
    x = (np.arange(N) + 0.5) * SIZE / N - SIZE / 2
    assert split.chosen == "dark" and split.walkable[:, x < -0.5].mean() > 0.95 and split.walkable[:, x > 0.5].mean() < 0.05
    assert "(forced)" in split.line("dark")
    with pytest.raises(ValueError, match="walkable ground must be one of auto, all, light, dark"):
        split_ground(_free(), p, c, SIZE, 0.1, GroundSplitCfg(choice="road"))
