"""NavBench-GS verdicts: methods paired with the reference on the same episodes, per task and pooled."""

from __future__ import annotations

import pytest

from s2e.navbench.paired import mcnemar_exact_p
from s2e.navbench.verdicts import POOLED, task_verdicts, verdict_table


def _records(success, collisions, order=None):
    n = len(success)
    episodes = list(order or range(n))
    by_ep = {e: k for k, e in enumerate(range(n))}
    return {"episode": episodes, "success": [success[by_ep[e]] for e in episodes],
            "collisions": [collisions[by_ep[e]] for e in episodes],
            "route_completion": [1.0 if success[by_ep[e]] else 0.5 for e in episodes]}


def test_verdicts_pair_episodes_by_their_index_and_pool_the_tasks():
    ref = {"Empty": _records([1, 1, 0, 0, 1, 1, 1, 1], [0, 1, 0, 2, 0, 0, 1, 0]),
           "Obstacle": _records([0] * 8, [1] * 8)}
    # the method's records come in another order: pairing is by episode index, not position
    method = {"Empty": _records([1, 1, 1, 1, 1, 1, 1, 0], [0, 0, 0, 0, 0, 0, 0, 0], order=[7, 6, 5, 4, 3, 2, 1, 0]),
              "Obstacle": _records([1] * 8, [0] * 8)}
    v = task_verdicts({"S2E-BC": ref, "M": method}, "S2E-BC")["M"]
    empty = v["Empty"]
    assert (empty.wins, empty.losses) == (2, 1) and empty.mcnemar_p == pytest.approx(mcnemar_exact_p(2, 1))
    assert (empty.clean_wins, empty.clean_losses) == (4, 1)  # reference arrives without contact on 4 of 8
    assert empty.clean_a == pytest.approx(4 / 8) and empty.clean_b == pytest.approx(7 / 8)
    assert empty.ct_b - empty.ct_a == pytest.approx(-0.5)
    assert v["Obstacle"].wins == 8 and v["Obstacle"].mcnemar_p == pytest.approx(2 / 2**8)
    pooled = v[POOLED]
    assert pooled.episodes == 16 and (pooled.wins, pooled.losses) == (10, 1)
    table = verdict_table({"M": v}, "S2E-BC", ["Empty", "Obstacle"])
    rows = table.strip().splitlines()
    assert rows[0].startswith("| method | task | ΔSR vs S2E-BC") and len(rows) == 5
    assert rows[3].startswith("| M | Obstacle | +100 (8/0, p=0.0078) better | +100 (8/0, p=0.0078) better |")
    assert rows[4].startswith("| M | All |")


def test_a_method_without_the_reference_tasks_gets_no_verdict():
    ref = {"Empty": _records([1, 0], [0, 0])}
    v = task_verdicts({"S2E-BC": ref, "M": {"Mixed": _records([1, 1], [0, 0])}}, "S2E-BC")
    assert v == {}
