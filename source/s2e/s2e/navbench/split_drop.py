"""How much more a method loses than the reference when the split changes (e.g. `urban` -> `shift`).

Two splits hold different episodes, so a method's drop from one to the other cannot be paired episode by
episode; what is paired is each split's difference to the reference on that split's own episodes,
Δ = mean over episodes of (method − reference). The extra drop Δ_base − Δ_other is what the method loses
beyond what the reference loses: near 0 when the method keeps its lead (or its gap) to the reference under
the new looks, positive when it loses more. Its 95 % interval resamples each split's episode pairs on their
own (bootstrap); it is marked significant when it excludes 0. Tasks are pooled: every (task, episode) of the
tasks both methods ran on both splits is one pair (the tasks share blocks, so the pairs are not independent
across tasks).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from .paired import pair_records
from .tasks import TASKS

METRICS = {"SR": "arrival", "SR-NC": "arrival with no collision"}
BOOTSTRAP_SAMPLES = 10_000


def episode_values(records: dict, metric: str) -> np.ndarray:
    """Per episode 1.0 / 0.0 for `metric` (a METRICS key) of one task's per-episode records."""
    success = np.asarray(records["success"], dtype=float) > 0
    if metric == "SR-NC":
        success &= np.asarray(records["collisions"], dtype=float) == 0
    return success.astype(float)


def paired_differences(reference: dict[str, dict], method: dict[str, dict], metric: str,
                       tasks: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(reference values, method − reference differences) over the episodes of `tasks`."""
    refs, diffs = [], []
    for task in tasks:
        rows_r, rows_m = pair_records(reference[task], method[task], keys=("episode",))
        r = episode_values(reference[task], metric)[rows_r]
        refs.append(r)
        diffs.append(episode_values(method[task], metric)[rows_m] - r)
    return (np.concatenate(refs), np.concatenate(diffs)) if refs else (np.empty(0), np.empty(0))


@dataclass
class SplitDrop:
    method: str
    reference: str
    metric: str
    tasks: tuple[str, ...]
    """The tasks pooled: those both methods ran on both splits."""
    episodes: tuple[int, int]
    """Paired episodes on the base and the other split."""
    rate: tuple[float, float]
    """The method's rate on the base and the other split."""
    reference_rate: tuple[float, float]
    extra_drop: float
    """(method − reference) on the base split minus the same on the other split."""
    extra_drop_ci: tuple[float, float]

    @property
    def significant(self) -> bool:
        lo, hi = self.extra_drop_ci
        return lo > 0 or hi < 0

    def to_dict(self) -> dict:
        return {**asdict(self), "significant": self.significant}


def split_drop(base: tuple[dict, dict], other: tuple[dict, dict], method: str, reference: str, metric: str = "SR",
               samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> SplitDrop:
    """The extra drop of `method` against `reference`; `base` and `other` are each split's (reference records,
    method records), task -> per-episode records."""
    tasks = [t for t in base[0] if all(t in records for records in (*base, *other))]
    ref_b, diff_b = paired_differences(*base, metric, tasks)
    ref_o, diff_o = paired_differences(*other, metric, tasks)
    if not diff_b.size or not diff_o.size:
        raise ValueError(f"{method} and {reference} share no task on both splits")
    rng = np.random.default_rng(seed)
    boot = (diff_b[rng.integers(0, diff_b.size, size=(samples, diff_b.size))].mean(axis=1)
            - diff_o[rng.integers(0, diff_o.size, size=(samples, diff_o.size))].mean(axis=1))
    lo, hi = np.quantile(boot, [0.025, 0.975])
    return SplitDrop(method, reference, metric, tuple(tasks), (int(diff_b.size), int(diff_o.size)),
                     (float((ref_b + diff_b).mean()), float((ref_o + diff_o).mean())),
                     (float(ref_b.mean()), float(ref_o.mean())), float(diff_b.mean() - diff_o.mean()),
                     (float(lo), float(hi)))


def split_drops(base: dict[str, dict[str, dict]], other: dict[str, dict[str, dict]], reference: str) -> list[SplitDrop]:
    """Every method evaluated on both splits (method -> task -> records) against `reference`, for each metric."""
    methods = [m for m in base if m in other and m != reference]
    if reference not in base or reference not in other:
        return []
    return [split_drop((base[reference], base[m]), (other[reference], other[m]), m, reference, metric)
            for m in methods for metric in METRICS]


def split_drop_table(drops: list[SplitDrop], base_name: str, other_name: str) -> str:
    """Markdown: per method and metric, its rate on both splits, the reference's, and the extra drop with its interval
    (* where the interval excludes 0)."""
    if not drops:
        return ""
    ref = drops[0].reference
    lines = [f"| method | metric | tasks | {base_name} | {other_name} | {ref} {base_name} → {other_name} | "
             f"extra drop vs {ref} [95 %] |", "| --- | --- | --- | ---: | ---: | ---: | ---: |"]
    for d in drops:
        mark = "*" if d.significant else ""
        tasks = "all" if set(d.tasks) == set(TASKS) else ", ".join(d.tasks)
        lines.append(f"| {d.method} | {d.metric} | {tasks} | {d.rate[0]:.2f} | {d.rate[1]:.2f} | "
                     f"{d.reference_rate[0]:.2f} → {d.reference_rate[1]:.2f} | {100 * d.extra_drop:+.0f} pts "
                     f"[{100 * d.extra_drop_ci[0]:+.0f}, {100 * d.extra_drop_ci[1]:+.0f}]{mark} |")
    return "\n".join(lines) + "\n"
