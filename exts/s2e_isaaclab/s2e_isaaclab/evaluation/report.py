"""The NavBench-GS results of every method evaluated for a robot on a split: results.md / .csv / .json, the verdicts
against a reference method (default S2E-BC) and bars.png. Summaries are computed again from each result's
per-episode records, so every row has the same metrics whichever version of the code ran it."""

from __future__ import annotations

from pathlib import Path

from ..utils.cli import UserError
from s2e.navbench.tasks import TASKS
from s2e.navbench.verdicts import DEFAULT_REFERENCE

from .results import read_task_result

TABLE_ORDER = ("Expert", "Straight-to-goal", "S2E-BC-Single", "S2E-BC", "SFT", "RL-Full", "RL-Decoder", "S2E-RAM",
               "S2E-RAM-held")
"""Rows of the results table in the paper's order (baselines, BC, the fine-tuning strategies); other names follow."""


def write_report(robot_dir: Path, warn=print, reference: str = DEFAULT_REFERENCE) -> Path:
    """Collect every method's task results under <out>/<split>/<robot>/ into the tables, the verdicts against
    `reference` (when it was evaluated) and the bar chart; returns the Markdown table. `warn(line)` hears of each
    result file that cannot be read (it is left out of the table)."""
    from s2e.navbench.report import save_bar_charts, write_tables
    from s2e.navbench.summary import summarize
    from s2e.navbench.verdicts import task_verdicts

    results: dict[str, dict[str, dict]] = {}
    records: dict[str, dict[str, dict]] = {}
    for method_dir in sorted(p for p in robot_dir.iterdir() if p.is_dir()):
        for task in TASKS:
            path = method_dir / f"{task}.json"
            if path.is_file():
                try:
                    name, saved = read_task_result(path, default_name=method_dir.name)
                except ValueError as err:
                    warn(f"{path} is not a readable result ({err}), left out of the table: delete it, or re-run that "
                         "method to replace it")
                    continue
                results.setdefault(name, {})[task] = summarize(saved["per_episode"], saved["step_dt"])
                records.setdefault(name, {})[task] = saved["per_episode"]
    if not results:
        raise UserError(f"no results under {robot_dir}")
    rank = {name: k for k, name in enumerate(TABLE_ORDER)}
    results = dict(sorted(results.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))
    verdicts = task_verdicts({m: records[m] for m in results}, reference) if reference in results else None
    paths = write_tables(robot_dir, results, verdicts=verdicts, reference=reference)
    save_bar_charts(robot_dir / "bars.png", results)
    return paths["md"]
