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
    assert (split.chosen == "dark" and split.walkable[:, x < -0.5].mean() > 0.95 and split.walkable[:, x > 0.5].mean()
            < 0.05)
    assert "(forced)" in split.line("dark")
    with pytest.raises(ValueError, match="walkable ground must be one of auto, all, light, dark"):
        split_ground(_free(), p, c, SIZE, 0.1, GroundSplitCfg(choice="road"))


def _uneven(points, rng, share=0.3):
    """Lift a share of the ground Gaussians into the curb band: paving that is not flat (a sloped or bumpy plaza)."""
    z = points[:, 2].copy()
    lift = rng.random(len(z)) < share
    z[lift] = rng.uniform(0.05, 0.11, lift.sum())
    return np.c_[points[:, :2], z]


@pytest.mark.parametrize("tones", ["patches", "halves"])
def test_an_uneven_two_tone_plaza_is_not_a_street(tones):
    """Low geometry everywhere and two pavings: curb cells between the tones, but no curb line standing out, so all
    free ground stays walkable (the evidence the colour and curb-count tests alone took for a street)."""
    rng = np.random.default_rng(3)
    if tones == "patches":  # 2.5 m squares of two pavings
        xy = rng.uniform(-SIZE / 2, SIZE / 2, (N * N * 4, 2))
        lum = np.where((np.floor(xy[:, 0] / 2.5) + np.floor(xy[:, 1] / 2.5)) % 2 == 0, 0.3, 0.7)
        p = np.c_[xy, rng.normal(0, 0.01, len(xy))]
        c = np.repeat(np.clip(lum + rng.normal(0, 0.03, len(xy)), 0, 1)[:, None], 3, 1)
    else:
        p, c = _ground_points(rng, lambda x: np.where(x < 0, 0.3, 0.7))
    split = split_ground(_free(), _uneven(p, rng), c, SIZE, 0.1, GroundSplitCfg())
    # two tones and low geometry: the colour and count evidence
    assert split.separation >= 0.6 and split.curb_cells >= 20
    if tones == "patches":
        # curb cells between the tones too: all the evidence but the line said "street"
        assert split.curb_between >= 0.5
    assert split.curb_line < GroundSplitCfg().min_curb_line and split.chosen == "all", split


def test_a_street_on_uneven_paving_still_has_its_curb_lines():
    rng = np.random.default_rng(4)
    p, c = _ground_points(rng, lambda x: np.where(np.abs(x) < 4.0, 0.25, 0.65))
    (p1, c1), (p2, c2) = _curb(rng, -4.0), _curb(rng, 4.0)
    split = split_ground(_free(), np.r_[_uneven(p, rng, share=0.01), p1, p2], np.r_[c, c1, c2], SIZE, 0.1,
                         GroundSplitCfg())
    assert split.chosen == "light" and split.curb_line > 15.0, split
