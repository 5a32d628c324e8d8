"""NavBench-GS verdicts: every method compared with a reference method on the same episodes, task by task.

Intervals of two success rates overlap long before two policies are alike; pairing each episode of one
method with the same episode of the reference answers the question directly: on how many episodes does
the method succeed where the reference fails (wins) and the other way round (losses), with the exact
McNemar p of that split, and paired bootstrap intervals of the differences in route completion and
collisions (s2e.navbench.paired). Episodes are matched on their index in the task's episode file.
"""

from __future__ import annotations

import numpy as np

from .paired import PairedComparison, compare

EPISODE_KEY = ("episode",)
POOLED = "All"
"""The column pooling every task both methods ran: each (task, episode) is one pair."""
DEFAULT_REFERENCE = "S2E-BC"
ALPHA = 0.05


def _pooled(per_task: dict[str, dict], tasks: list[str]) -> dict[str, np.ndarray]:
    """The records of `tasks` as one set, each episode keyed by (task, episode)."""
    columns = ("episode", "success", "collisions", "route_completion")
    out = {k: np.concatenate([np.asarray(per_task[t][k]) for t in tasks]) for k in columns
           if all(k in per_task[t] for t in tasks)}
    out["task"] = np.concatenate([np.full(len(per_task[t]["success"]), k) for k, t in enumerate(tasks)])
    return out


def task_verdicts(records: dict[str, dict[str, dict]], reference: str) -> dict[str, dict[str, PairedComparison]]:
    """{method: {task: comparison of the method against `reference`}} for every task both ran on the same
    episode file, and under POOLED all of those tasks together; `records` maps method -> task -> per-episode
    records (lists or arrays)."""
    base = records.get(reference, {})
    out: dict[str, dict[str, PairedComparison]] = {}
    for method, per_task in records.items():
        if method == reference:
            continue
        shared = [t for t in per_task if t in base]
        for task in shared:
            out.setdefault(method, {})[task] = compare(base[task], per_task[task], reference, method, keys=EPISODE_KEY)
        if len(shared) > 1:
            out[method][POOLED] = compare(_pooled(base, shared), _pooled(per_task, shared), reference, method,
                                          keys=("task", *EPISODE_KEY))
    return out


def verdict_word(wins: int, losses: int, p: float) -> str:
    """'better' / 'worse' when a paired difference is significant (exact McNemar p < 0.05), else 'n.s.'."""
    if p >= ALPHA:
        return "n.s."
    return "better" if wins > losses else "worse"


def _interval(lo: float, hi: float, digits: int = 2) -> str:
    mark = "*" if lo > 0 or hi < 0 else ""
    return f"[{lo:+.{digits}f}, {hi:+.{digits}f}]{mark}"


def verdict_cells(c: PairedComparison) -> tuple[str, str, str, str]:
    """(SR, SR-NC, RC, CT) columns of one method and task in the verdict table."""
    sr = (f"{c.sr_diff_points:+.0f} ({c.wins}/{c.losses}, p={c.mcnemar_p:.2g}) "
          f"{verdict_word(c.wins, c.losses, c.mcnemar_p)}")
    clean_points = 100.0 * (c.clean_b - c.clean_a)
    clean = (f"{clean_points:+.0f} ({c.clean_wins}/{c.clean_losses}, p={c.clean_p:.2g}) "
             f"{verdict_word(c.clean_wins, c.clean_losses, c.clean_p)}")
    rc = "–" if np.isnan(c.rc_a) else f"{c.rc_b - c.rc_a:+.2f} {_interval(*c.rc_diff_ci)}"
    ct = f"{c.ct_b - c.ct_a:+.2f} {_interval(*c.ct_diff_ci)}"
    return sr, clean, rc, ct


def verdict_table(verdicts: dict[str, dict[str, PairedComparison]], reference: str, tasks) -> str:
    """Markdown, a row per method and task (then POOLED): the SR and SR-NC differences to the reference in points
    with wins / losses, exact McNemar p and the verdict; the RC and CT differences with their paired 95 % intervals
    (* where the interval excludes 0)."""
    lines = [f"| method | task | ΔSR vs {reference} (W/L, p) | ΔSR-NC (W/L, p) | ΔRC [95 %] | ΔCT [95 %] |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for method, per_task in verdicts.items():
        for task in [*tasks, POOLED]:
            if task in per_task:
                lines.append(f"| {method} | {task} | " + " | ".join(verdict_cells(per_task[task])) + " |")
    return "\n".join(lines) + "\n"
