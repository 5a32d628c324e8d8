"""Paired comparison of two policies on the same fixed episodes: wins and losses, exact McNemar, bootstrap CIs.

Two evaluations with the same task, seed, number of envs and episodes per env run the same episodes
(the blocks, starts, goals and obstacles come from the seed; each record carries (env, env_episode));
NavBench-GS episodes are matched on their index in the episode file instead.
Pairing by that key removes the episode-to-episode variance that two unpaired success rates carry:
the question becomes "on how many episodes does B succeed where A fails, and vice versa", which the
exact McNemar test answers, and the paired bootstrap gives intervals of the SR and CT differences.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

KEY_FIELDS = ("seed", "env", "env_episode")
MIN_ONE_WAY = 6
"""Discordant pairs, all one way, that the two-sided exact McNemar test needs for p < 0.05 (2 / 2^6 = 0.031; 5 give
0.0625)."""


def mcnemar_exact_p(wins: int, losses: int) -> float:
    """Two-sided exact McNemar p-value: the discordant pairs under H0 are Binomial(wins + losses, 1/2)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2.0**n
    return min(1.0, 2.0 * tail)


def paired_bootstrap_interval(diff: np.ndarray, samples: int = 10_000, seed: int = 0,
                              level: float = 0.95) -> tuple[float, float]:
    """Percentile interval of the mean of per-episode differences, resampling episodes (pairs kept together)."""
    diff = np.asarray(diff, dtype=float)
    if diff.size == 0:
        return (float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = diff[rng.integers(0, diff.size, size=(samples, diff.size))].mean(axis=1)
    alpha = (1.0 - level) / 2.0
    return float(np.quantile(means, alpha)), float(np.quantile(means, 1.0 - alpha))


@dataclass
class PairedComparison:
    name_a: str
    name_b: str
    episodes: int
    sr_a: float
    sr_b: float
    ct_a: float
    ct_b: float
    wins: int
    """Episodes B succeeds and A fails."""
    losses: int
    """Episodes A succeeds and B fails."""
    mcnemar_p: float
    sr_diff_ci: tuple[float, float]
    ct_diff_ci: tuple[float, float]
    rc_a: float = float("nan")
    rc_b: float = float("nan")
    rc_diff_ci: tuple[float, float] = (float("nan"), float("nan"))
    """Route completion, where both evaluations recorded it."""
    clean_a: float = float("nan")
    clean_b: float = float("nan")
    """SR without collision: arrival with no contact in the episode."""
    clean_wins: int = 0
    clean_losses: int = 0
    clean_p: float = 1.0
    """Exact McNemar p of the collision-free arrivals' wins and losses."""

    @property
    def sr_diff_points(self) -> float:
        return 100.0 * (self.sr_b - self.sr_a)

    @property
    def significant(self) -> bool:
        """Whether the success difference is significant at the 5 % level (exact McNemar)."""
        return self.mcnemar_p < 0.05

    def line(self) -> str:
        """One line whose words match its statistics: 'SR 0.62 -> 0.75 (+13 pts; 14 wins / 2 losses, McNemar p = 0.004:
        fine-tuned better), CT 0.36 -> 0.22 (96 paired episodes)', or, when the test cannot tell, '...: not significant;
        16 paired episodes tell apart only differences of 38 pts or more)...'."""
        if self.significant:
            verdict = f"{self.name_b} {'better' if self.wins > self.losses else 'worse'}"
        else:
            verdict = (f"not significant; {self.episodes} paired episodes tell apart only differences of "
                       f"{self.detectable_points:.0f} pts or more")
        return (f"SR {self.sr_a:.2f} -> {self.sr_b:.2f} ({self.sr_diff_points:+.0f} pts; {self.wins} wins / "
                f"{self.losses} losses, McNemar p = {self.mcnemar_p:.3g}: {verdict}), CT {self.ct_a:.2f} -> "
                f"{self.ct_b:.2f} ({self.episodes} paired episodes)")

    @property
    def detectable_points(self) -> float:
        """The smallest SR difference (points) these episodes can call significant: the exact McNemar test needs at
        least MIN_ONE_WAY discordant pairs, all one way, for p < 0.05."""
        return 100.0 * min(1.0, MIN_ONE_WAY / max(self.episodes, 1))

    def to_dict(self) -> dict:
        return {**asdict(self), "sr_diff_points": self.sr_diff_points}


def pair_records(a: dict[str, list], b: dict[str, list],
                 keys: tuple[str, ...] = KEY_FIELDS) -> tuple[list[int], list[int]]:
    """Rows of two evaluations' per-episode records (columns `keys`, and route_length when both have it) that hold
    the same episodes, in key order. Raises ValueError when the two share no episode or when a shared episode's
    route differs."""
    def index(r):
        rows = list(zip(*(np.asarray(r[k]).tolist() for k in keys)))
        if len(set(rows)) != len(rows):
            raise ValueError(f"an evaluation holds the same ({', '.join(keys)}) twice: merge only different episode "
                             "sets")
        return {k: i for i, k in enumerate(rows)}

    ia, ib = index(a), index(b)
    shared = sorted(set(ia) & set(ib))
    if not shared:
        raise ValueError("the two evaluations share no episode: run both with the same task, seeds, --num_envs and "
                         "--episodes_per_env")
    rows_a, rows_b = [ia[k] for k in shared], [ib[k] for k in shared]
    if "route_length" in a and "route_length" in b:
        la, lb = np.asarray(a["route_length"])[rows_a], np.asarray(b["route_length"])[rows_b]
        if not np.allclose(la, lb, atol=1e-3):
            raise ValueError(f"{int((np.abs(la - lb) > 1e-3).sum())} paired episodes have different routes: the two "
                             "runs used different episodes (task, content, seed or env count differ)")
    return rows_a, rows_b


def compare(a: dict[str, list], b: dict[str, list], name_a: str = "A", name_b: str = "B",
            bootstrap_samples: int = 10_000, keys: tuple[str, ...] = KEY_FIELDS) -> PairedComparison:
    """The paired comparison of B against A (see the module docstring); episodes are matched on `keys`."""
    rows_a, rows_b = pair_records(a, b, keys)

    def column(r, rows, k):
        return np.asarray(r[k], dtype=float)[rows]

    sa, sb = column(a, rows_a, "success"), column(b, rows_b, "success")
    ca, cb = column(a, rows_a, "collisions"), column(b, rows_b, "collisions")
    wins, losses = int(((sb > 0) & (sa == 0)).sum()), int(((sa > 0) & (sb == 0)).sum())
    clean_a, clean_b = (sa > 0) & (ca == 0), (sb > 0) & (cb == 0)
    clean_wins, clean_losses = int((clean_b & ~clean_a).sum()), int((clean_a & ~clean_b).sum())
    rc = {}
    if "route_completion" in a and "route_completion" in b:
        ra, rb = column(a, rows_a, "route_completion"), column(b, rows_b, "route_completion")
        rc = dict(rc_a=float(ra.mean()), rc_b=float(rb.mean()),
                  rc_diff_ci=paired_bootstrap_interval(rb - ra, bootstrap_samples, seed=2))
    return PairedComparison(
        name_a=name_a, name_b=name_b, episodes=int(sa.size), sr_a=float(sa.mean()), sr_b=float(sb.mean()),
        ct_a=float(ca.mean()), ct_b=float(cb.mean()), wins=wins, losses=losses, mcnemar_p=mcnemar_exact_p(wins, losses),
        sr_diff_ci=paired_bootstrap_interval(sb - sa, bootstrap_samples),
        ct_diff_ci=paired_bootstrap_interval(cb - ca, bootstrap_samples, seed=1), clean_a=float(clean_a.mean()),
        clean_b=float(clean_b.mean()), clean_wins=clean_wins, clean_losses=clean_losses,
        clean_p=mcnemar_exact_p(clean_wins, clean_losses), **rc)


def markdown_report(c: PairedComparison, per_seed: dict[int, PairedComparison] | None = None) -> str:
    """A markdown table of the comparison (overall, then per seed)."""
    rows = [("all", c)] + [(f"seed {s}", p) for s, p in sorted((per_seed or {}).items())]
    lines = [f"# {c.name_b} vs {c.name_a} (paired episodes)", "",
             "| episodes | | SR A | SR B | SR diff (95 % CI) | wins / losses | McNemar p | CT A | CT B | CT diff (95 % "
             "CI) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for label, p in rows:
        lines.append(f"| {p.episodes} | {label} | {p.sr_a:.3f} | {p.sr_b:.3f} | {p.sr_diff_points:+.1f} pts "
                     f"({100 * p.sr_diff_ci[0]:+.1f}, {100 * p.sr_diff_ci[1]:+.1f}) | {p.wins} / {p.losses} | "
                     f"{p.mcnemar_p:.3g} | {p.ct_a:.3f} | {p.ct_b:.3f} | {p.ct_b - p.ct_a:+.3f} "
                     f"({p.ct_diff_ci[0]:+.3f}, {p.ct_diff_ci[1]:+.3f}) |")
    lines += ["", f"A = {c.name_a}, B = {c.name_b}; wins: B succeeds where A fails."]
    return "\n".join(lines) + "\n"
