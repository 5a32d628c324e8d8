"""Aggregate NavBench-GS episodes into SR / SR without collision / RC / CT / path-length ratio / time to
goal, with 95 % CIs.

SR and SRNC (arrival with no contact in the whole episode) use the Wilson score interval (sound at 0 % and 100 % and for
a few dozen episodes); the means use a percentile bootstrap over episodes with a fixed generator, so the same records
always give the same interval. Path-length ratio and time to goal are over the successful episodes only (an
episode that never arrives has neither).
"""

from __future__ import annotations

import math

import numpy as np

Z95 = 1.959964
BOOTSTRAP_SAMPLES = 2000
METRICS = ("SR", "SRNC", "RC", "CT", "PLR", "TTG")
"""success rate, success rate with no collision in the episode, route completion, collisions per episode,
path-length ratio, time to goal (s)."""


def wilson_interval(successes: int, n: int, z: float = Z95) -> tuple[float, float]:
    if n == 0:
        return float("nan"), float("nan")
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, centre - half), min(1.0, centre + half)


def bootstrap_interval(values: np.ndarray, samples: int = BOOTSTRAP_SAMPLES, seed: int = 0) -> tuple[float, float]:
    values = np.asarray(values, dtype=np.float64)
    if len(values) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(samples, len(values)))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return float(lo), float(hi)


def _stat(mean: float, interval: tuple[float, float], n: int) -> dict:
    return {"mean": float(mean), "lo": interval[0], "hi": interval[1], "n": int(n)}


def summarize(records: dict[str, np.ndarray], step_dt: float) -> dict[str, dict]:
    """Per-episode records (success, route_completion, collisions, route_length, path_length,
    arrival_step) -> {metric: {mean, lo, hi, n}}."""
    success = np.asarray(records["success"], dtype=bool)
    n = len(success)
    clean = success & (np.asarray(records["collisions"]) == 0)
    out = {name: _stat(hits.mean() if n else float("nan"), wilson_interval(int(hits.sum()), n), n)
           for name, hits in (("SR", success), ("SRNC", clean))}
    for key, name in (("RC", "route_completion"), ("CT", "collisions")):
        v = np.asarray(records[name], dtype=np.float64)
        out[key] = _stat(v.mean() if n else float("nan"), bootstrap_interval(v), n)
    plr = (np.asarray(records["path_length"], dtype=np.float64)[success]
           / np.maximum(np.asarray(records["route_length"], dtype=np.float64)[success], 1e-6))
    ttg = np.asarray(records["arrival_step"], dtype=np.float64)[success] * step_dt
    for key, v in (("PLR", plr), ("TTG", ttg)):
        out[key] = _stat(v.mean() if len(v) else float("nan"), bootstrap_interval(v), len(v))
    return out


def summarize_by(records: dict[str, np.ndarray], key: str, step_dt: float) -> dict[int, dict[str, dict]]:
    """`summarize` for each value of records[key] (e.g. per scene)."""
    groups = np.asarray(records[key])
    return {int(g): summarize({k: np.asarray(v)[groups == g] for k, v in records.items()}, step_dt)
            for g in np.unique(groups)}
