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
    return in_table_order(results)


def in_table_order(by_method: dict) -> dict:
    """`by_method` with its methods in TABLE_ORDER, other names after them alphabetically."""
    rank = {name: k for k, name in enumerate(TABLE_ORDER)}
    return dict(sorted(by_method.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0])))


def _records(results: dict[str, dict[str, dict]]) -> dict[str, dict[str, dict]]:
    return {m: {t: saved["per_episode"] for t, saved in per_task.items()} for m, per_task in results.items()}


def machine_kinds(per_task: dict[str, dict]) -> set[str]:
    """The machine kinds, torch thread counts and numerics fingerprints (s2e.utils.numerics; results older than it
    have none) the tasks' results were made with: together they set the float rounding."""
    from s2e.utils.machine import machine_kind

    return {f"{machine_kind(str(saved.get('machine', 'unknown machine')))}, "
            f"{saved.get('torch_threads', '?')} torch thread(s), numerics {saved.get('numerics') or 'not recorded'}"
            for saved in per_task.values()}


def pair_by_machine(saved: dict[str, dict[str, dict]], reference: str) -> tuple[dict[str, dict[str, dict]], str]:
    """(the results that pair with `reference`'s: every task made with the reference's machine kind, torch thread
    count and numerics fingerprint, the reference included; a note naming them, and the rows made otherwise, which
    get no verdict). Closed-loop outcomes repeat only when all three match, so pairing rows made otherwise would
    count rounding as a difference between methods."""
    kinds = {m: machine_kinds(per_task) for m, per_task in saved.items()}
    if reference not in saved:
        named = sorted(set().union(*kinds.values())) if kinds else []
        return {}, f"Made on: {'; '.join(named)}." if named else ""
    ref_kinds = kinds[reference]
    if len(ref_kinds) != 1:
        return {}, (f"{reference}'s tasks were made on different machine kinds or thread counts "
                   f"({'; '.join(sorted(ref_kinds))}): no verdicts; make them again on one.")
    (kind,) = ref_kinds
    paired = {m: per_task for m, per_task in saved.items() if kinds[m] == ref_kinds}
    elsewhere = [f"{m} ({'; '.join(sorted(kinds[m]))})" for m in saved if m not in paired]
    note = f"Made on: {kind}" + ("." if not elsewhere else "; rows made on another machine kind, thread count or "
                                 f"numerics have no verdicts: {', '.join(elsewhere)}.")
    return paired, note


def report_markdown(robot_dir: Path, warn=print, reference: str = DEFAULT_REFERENCE) -> str:
    """The results table of every method under <out>/<split>/<robot>/ with the machine note and the verdicts against
    `reference` of the rows made on its machine kind."""
    from s2e.navbench.report import results_markdown

    results, verdicts, note = _report(robot_dir, warn, reference)
    return results_markdown(results, verdicts=verdicts, reference=reference, note=note)


def _report(robot_dir: Path, warn, reference: str):
    from s2e.navbench.summary import summarize
    from s2e.navbench.verdicts import task_verdicts

    saved = read_results(robot_dir, warn)
    if not saved:
        raise UserError(f"no results under {robot_dir}")
    results = {m: {t: summarize(r["per_episode"], r["step_dt"]) for t, r in per_task.items()}
               for m, per_task in saved.items()}
    paired, note = pair_by_machine(saved, reference)
    verdicts = task_verdicts(_records(paired), reference) if paired else None
    return results, verdicts, note


def write_report(robot_dir: Path, warn=print, reference: str = DEFAULT_REFERENCE) -> Path:
    """Collect every method's task results under <out>/<split>/<robot>/ into the tables, the verdicts against
    `reference` (when it was evaluated; rows made on its machine kind only) and the bar chart; returns the Markdown
    table."""
    from s2e.navbench.report import save_bar_charts, write_tables

    results, verdicts, note = _report(robot_dir, warn, reference)
    paths = write_tables(robot_dir, results, verdicts=verdicts, reference=reference, note=note)
    save_bar_charts(robot_dir / "bars.png", results)
    return paths["md"]


def split_drop_markdown(root: Path, split: str, robot: str, reference: str = DEFAULT_REFERENCE,
                        base_split: str = DEFAULT_SPLIT) -> tuple[str, list]:
    """(Markdown table, drops) of every method evaluated on both `base_split` and `split` (and the reference on both),
    made on the reference's machine kind on both, with its extra drop beyond the reference's
    (s2e.navbench.split_drop); ("", []) when there is no such method yet, or `split` is the base split."""
    from s2e.navbench.split_drop import split_drop_table, split_drops

    if split == base_split:
        return "", []
    quiet = lambda _line: None  # noqa: E731 (write_report of each split names unreadable results)
    base, other = (pair_by_machine(read_results(root / s / robot, quiet), reference)[0] for s in (base_split, split))
    if reference in base and reference in other and machine_kinds(base[reference]) != machine_kinds(other[reference]):
        return "", []  # the two splits' reference rows come from different machine kinds: nothing pairs across them
    drops = split_drops(_records(base), _records(other), reference)
    if not drops:
        return "", []
    return split_drop_table(drops, base_split, split), drops


def write_split_drop(root: Path, split: str, robot: str, reference: str = DEFAULT_REFERENCE,
                     base_split: str = DEFAULT_SPLIT) -> Path | None:
    """<root>/<split>/<robot>/split_drop.md / .json (split_drop_markdown); None when there is nothing to write."""
    from s2e.utils.files import write_json_atomic, write_text_atomic

    md, drops = split_drop_markdown(root, split, robot, reference, base_split)
    if not drops:
        return None
    out = root / split / robot / "split_drop.md"
    write_text_atomic(out, f"# From `{base_split}` to `{split}`, {robot}: the drop beyond {reference}'s\n\n{md}")
    write_json_atomic(out.with_suffix(".json"), [d.to_dict() for d in drops])
    return out
