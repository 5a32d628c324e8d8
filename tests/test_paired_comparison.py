"""Paired comparison statistics on hand-made outcomes: exact McNemar against scipy, bootstrap intervals,
pairing by (seed, env, env_episode)."""

import numpy as np
import pytest
from scipy.stats import binomtest

from s2e.navbench.paired import compare, markdown_report, mcnemar_exact_p, paired_bootstrap_interval


@pytest.mark.parametrize("wins, losses", [(0, 0), (1, 0), (14, 2), (11, 5), (9, 6), (3, 17), (40, 40), (0, 12)])
def test_mcnemar_exact_p_matches_scipys_binomial_test(wins, losses):
    expected = 1.0 if wins + losses == 0 else binomtest(wins, wins + losses, 0.5).pvalue
    assert mcnemar_exact_p(wins, losses) == pytest.approx(expected, rel=1e-9)


def _records(success, collisions, seed=7, route=None):
    n = len(success)
    return {"seed": [seed] * n, "env": [i // 2 for i in range(n)], "env_episode": [i % 2 for i in range(n)],
            "success": list(success), "collisions": list(collisions),
            "route_length": list(route if route is not None else np.arange(n) + 10.0)}


def test_compare_counts_wins_and_losses_on_paired_episodes():
    a = _records([1, 0, 0, 1, 0, 1, 0, 0], [0, 1, 1, 0, 1, 0, 1, 1])
    b = _records([1, 1, 1, 0, 1, 1, 0, 1], [0, 0, 0, 1, 0, 0, 1, 0])
    c = compare(a, b, "ckpt", "tuned", bootstrap_samples=2000)
    assert (c.episodes, c.wins, c.losses) == (8, 4, 1)
    assert c.sr_a == 3 / 8 and c.sr_b == 6 / 8 and c.ct_a == 5 / 8 and c.ct_b == 2 / 8
    assert c.sr_diff_points == pytest.approx(37.5)
    assert c.mcnemar_p == pytest.approx(binomtest(4, 5, 0.5).pvalue)
    assert c.sr_diff_ci[0] < 0.375 < c.sr_diff_ci[1] and c.ct_diff_ci[0] < -0.375 < c.ct_diff_ci[1]
    assert c.line().startswith("SR 0.38 -> 0.75 (+38 pts; 4 wins / 1 losses, McNemar p = 0.375: not significant; 8 "
                               "paired episodes tell apart only differences of 75 pts or more), CT 0.62 -> 0.25")
    many = compare(_records([0] * 8 + [1] * 8, [1] * 16), _records([1] * 16, [0] * 16), "ckpt", "tuned",
                   bootstrap_samples=200)
    assert (many.wins, many.losses) == (8, 0) and "McNemar p = 0.00781: tuned better)" in many.line()
    worse = compare(_records([1] * 16, [0] * 16), _records([0] * 8 + [1] * 8, [1] * 16), "ckpt", "tuned",
                    bootstrap_samples=200)
    assert "McNemar p = 0.00781: tuned worse)" in worse.line()
    assert "| 8 | all | 0.375 | 0.750 | +37.5 pts" in markdown_report(c)


def test_pairing_follows_the_episode_key_not_the_record_order():
    a = _records([1, 0, 1, 0], [0, 1, 0, 1])
    b = {k: v[::-1] for k, v in _records([1, 0, 1, 0], [0, 1, 0, 1]).items()}  # same episodes, reversed order
    c = compare(a, b)
    assert (c.wins, c.losses, c.sr_a, c.sr_b) == (0, 0, 0.5, 0.5)
    extra = _records([1, 0, 1, 0, 1, 1], [0, 1, 0, 1, 0, 0])  # B ran more episodes: only the shared ones count
    assert compare(a, extra).episodes == 4


def test_different_episode_sets_are_refused():
    a = _records([1, 0], [0, 1], seed=7)
    with pytest.raises(ValueError, match="share no episode"):
        compare(a, _records([1, 0], [0, 1], seed=8))
    with pytest.raises(ValueError, match="different routes"):
        compare(a, _records([1, 0], [0, 1], route=[30.0, 31.0]))


def test_paired_bootstrap_interval_covers_the_mean_and_shrinks_with_more_episodes():
    rng = np.random.default_rng(3)
    small = rng.choice([-1.0, 0.0, 1.0], size=40, p=[0.1, 0.6, 0.3])
    large = rng.choice([-1.0, 0.0, 1.0], size=4000, p=[0.1, 0.6, 0.3])
    lo_s, hi_s = paired_bootstrap_interval(small, 4000)
    lo_l, hi_l = paired_bootstrap_interval(large, 4000)
    assert lo_s <= small.mean() <= hi_s and lo_l <= large.mean() <= hi_l
    assert (hi_l - lo_l) < 0.3 * (hi_s - lo_s)
    assert lo_l < 0.2 < hi_l  # the true mean difference
    assert paired_bootstrap_interval(np.zeros(10), 100) == (0.0, 0.0)


def test_recipe_runs_are_recorded_once_per_robot_recipe_and_seed(tmp_path):
    from s2e.navbench.recipe_runs import markdown_table, recipe_entry, record_run

    a = _records([1, 0, 0, 1], [0, 1, 1, 0])
    path = tmp_path / "rl_recipe.json"
    # seed 0 recorded twice: the second replaces it
    for seed, b in ((0, [1, 1, 0, 1]), (1, [1, 1, 1, 1]), (0, [1, 1, 1, 0])):
        record_run(path, recipe_entry(compare(a, _records(b, [0, 0, 0, 0]), bootstrap_samples=100), "wheeled", "labels",
                                      seed, 30.0, "train_ram.py ...", f"model_{seed}.pt"))
    runs = record_run(path, recipe_entry(compare(a, a, bootstrap_samples=100), "wheeled", "plain", 0, None, "", "m.pt"))
    assert [(r["recipe"], r["train_seed"]) for r in runs] == [("labels", 0), ("labels", 1), ("plain", 0)]
    assert runs[0]["sr_finetuned"] == 0.75 and runs[0]["wins"] == 2 and runs[0]["losses"] == 1
    table = markdown_table(runs)
    assert ("| wheeled | labels | 2 | +37.5 (+25.0 .. +50.0) |" in table
            and "| wheeled | plain | 1 | +0.0 (+0.0 .. +0.0) |" in table)
