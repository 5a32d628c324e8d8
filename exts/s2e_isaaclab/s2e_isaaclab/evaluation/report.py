"""The NavBench-GS results of every method evaluated for a robot on a split: results.md / .csv / .json, the verdicts
against a reference method (default S2E-BC) and bars.png; and, for a split other than the base one, each method's
drop from the base split beyond the reference's (split_drop.md / .json). Summaries are computed again from each
result's per-episode records, so every row has the same metrics whichever version of the code ran it."""

from __future__ import annotations

from pathlib import Path

from s2e.navbench.splits import DEFAULT_SPLIT
from s2e.navbench.tasks import TASKS
from s2e.navbench.verdicts import DEFAULT_REFERENCE

from ..utils.cli import UserError
from .results import read_task_result

TABLE_ORDER = ("Expert", "Straight-to-goal", "S2E-BC-Single", "S2E-BC", "SFT", "RL-Full", "RL-Decoder", "S2E-RAM",
               "S2E-RAM-held")
"""Rows of the results table in the paper's order (baselines, BC, the fine-tuning strategies); other names follow."""


def read_results(robot_dir: Path, warn=print) -> dict[str, dict[str, dict]]:
    """{method: {task: saved result}} of every readable result under <out>/<split>/<robot>/, in
    the table's order. `warn(line)` hears of each result file that cannot be read (it is left out)."""
    results: dict[str, dict[str, dict]] = {}
    for method_dir in sorted(p for p in robot_dir.iterdir() if p.is_dir()) if robot_dir.is_dir() else []:
        for task in TASKS:
            path = method_dir / f"{task}.json"
            if path.is_file():
                try:
                    name, saved = read_task_result(path, default_name=method_dir.name)
                except ValueError as err:
                    warn(f"{path} is not a readable result ({err}), left out of the table: delete it, or re-run that "
                         "method to replace it")
                    continue
                results.setdefault(name, {})[task] = saved
    rank = {name: k for k, name in enumerate(TABLE_ORDER)}
    return dict(sorted(results.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def _records(results: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    return {m: {t: saved["per_episode"] for t, saved in per_task.items()} for m, per_task in results.items()}


def write_report(robot_dir: Path, warn=print, reference: str = DEFAULT_REFERENCE) -> Path:
    """Collect every method's task results under <out>/<split>/<robot>/ into the tables, the verdicts against
    `reference` (when it was evaluated) and the bar chart; returns the Markdown table."""
    from s2e.navbench.report import save_bar_charts, write_tables
    from s2e.navbench.summary import summarize
    from s2e.navbench.verdicts import task_verdicts

    saved = read_results(robot_dir, warn)
    if not saved:
        raise UserError(f"no results under {robot_dir}")
    results = {m: {t: summarize(r["per_episode"], r["step_dt"]) for t, r in per_task.items()}
               for m, per_task in saved.items()}
    verdicts = task_verdicts(_records(saved), reference) if reference in results else None
    paths = write_tables(robot_dir, results, verdicts=verdicts, reference=reference)
    save_bar_charts(robot_dir / "bars.png", results)
    return paths["md"]


def write_split_drop(root: Path, split: str, robot: str, reference: str = DEFAULT_REFERENCE,
                     base_split: str = DEFAULT_SPLIT) -> Path | None:
    """<root>/<split>/<robot>/split_drop.md / .json: every method evaluated on both `base_split` and `split` (and
    the reference on both) with its extra drop beyond the reference's (s2e.navbench.split_drop); None when there is
    no such method yet, or `split` is the base split."""
    from s2e.navbench.split_drop import split_drop_table, split_drops
    from s2e.utils.files import write_json_atomic, write_text_atomic

    if split == base_split:
        return None
    quiet = lambda _line: None  # noqa: E731 (write_report of each split names unreadable results)
    drops = split_drops(_records(read_results(root / base_split / robot, quiet)),
                        _records(read_results(root / split / robot, quiet)), reference)
    if not drops:
        return None
    out = root / split / robot / "split_drop.md"
    write_text_atomic(out, f"# From `{base_split}` to `{split}`, {robot}: the drop beyond {reference}'s\n\n"
                           + split_drop_table(drops, base_split, split))
    write_json_atomic(out.with_suffix(".json"), [d.to_dict() for d in drops])
    return out
