"""NavBench-GS results tables (the paper's layout: one row per method, SR / SR-NC / RC / CT per task), the
verdicts against a reference method (s2e.navbench.verdicts) and charts.

`results` maps method -> task -> summary (s2e.navbench.summary.summarize). The markdown table gives
means with the 95 % interval's half-width; CSV and JSON keep every metric with its interval.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

from ..utils.files import write_json_atomic, write_text_atomic
from ..utils.plots import save_figure_atomic
from .summary import METRICS
from .tasks import TASKS

TABLE_METRICS = (("SR", "↑"), ("SRNC", "↑"), ("RC", "↑"), ("CT", "↓"))


def _cell(stat: dict | None, digits: int = 2) -> str:
    if stat is None or stat["mean"] != stat["mean"]:  # missing or nan
        return "–"
    half = (stat["hi"] - stat["lo"]) / 2
    return f"{stat['mean']:.{digits}f} ± {half:.{digits}f}" if half == half else f"{stat['mean']:.{digits}f}"


def markdown_table(results: dict[str, dict[str, dict]], tasks=TASKS) -> str:
    head = "| method | " + " | ".join(f"{t} {m}{arrow}" for t in tasks for m, arrow in TABLE_METRICS) + " |"
    rule = "| --- | " + " | ".join("---:" for _ in tasks for _ in TABLE_METRICS) + " |"
    rows = [f"| {method} | " + " | ".join(_cell(per_task.get(t, {}).get(m)) for t in tasks for m, _ in TABLE_METRICS)
            + " |"
            for method, per_task in results.items()]
    return "\n".join([head, rule, *rows]) + "\n"


def csv_table(results: dict[str, dict[str, dict]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["method", "task", "episodes", *(f"{m}{s}" for m in METRICS for s in ("", "_lo", "_hi"))])
    for method, per_task in results.items():
        for task, summary in per_task.items():
            w.writerow([method, task, summary["SR"]["n"],
                        *(f"{summary[m][k]:.4f}" for m in METRICS for k in ("mean", "lo", "hi"))])
    return buf.getvalue()


def results_markdown(results: dict[str, dict[str, dict]], tasks=TASKS, verdicts: dict[str, dict] | None = None,
                     reference: str | None = None, note: str = "") -> str:
    """The table, `note` (e.g. the machine the rows were made on), then the verdicts against `reference` when
    given."""
    from .verdicts import verdict_table

    md = markdown_table(results, tasks) + (f"\n{note}\n" if note else "")
    if verdicts:
        md += (f"\n**Verdicts against {reference}** (paired on the same episodes): ΔSR and ΔSR-NC (arrival without any "
               "collision) in points with wins / losses and exact McNemar p (better / worse where p < 0.05, else "
               "n.s.); ΔRC and ΔCT with paired bootstrap 95 % intervals, * where the interval excludes 0. All: every "
               "task's episodes pooled.\n\n"
               + verdict_table(verdicts, reference, tasks))
    return md


def write_tables(out_dir: str | Path, results: dict[str, dict[str, dict]], tasks=TASKS,
                 verdicts: dict[str, dict] | None = None, reference: str | None = None,
                 note: str = "") -> dict[str, Path]:
    """results.md (results_markdown), results.csv, results.json and verdicts.json."""
    out = Path(out_dir)
    md = results_markdown(results, tasks, verdicts, reference, note)
    paths = {"md": write_text_atomic(out / "results.md", md),
             "csv": write_text_atomic(out / "results.csv", csv_table(results)),
             "json": write_json_atomic(out / "results.json", results)}
    if verdicts:
        paths["verdicts"] = write_json_atomic(out / "verdicts.json", {"reference": reference, "verdicts": {
            m: {t: c.to_dict() for t, c in per_task.items()} for m, per_task in verdicts.items()}})
    return paths


def save_bar_charts(path: str | Path, results: dict[str, dict[str, dict]], tasks=TASKS,
                    metrics=("SR", "RC", "CT")) -> Path:
    """One panel per task and metric: a bar per method with its 95 % interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(results)
    fig, axes = plt.subplots(len(metrics), len(tasks), figsize=(3.2 * len(tasks), 2.6 * len(metrics)), squeeze=False)
    for i, metric in enumerate(metrics):
        for j, task in enumerate(tasks):
            ax = axes[i][j]
            stats = [results[m].get(task, {}).get(metric) for m in methods]
            means = [s["mean"] if s else 0.0 for s in stats]
            err = [[max(0.0, s["mean"] - s["lo"]) if s else 0.0 for s in stats],
                   [max(0.0, s["hi"] - s["mean"]) if s else 0.0 for s in stats]]
            ax.bar(range(len(methods)), means, yerr=err, color=[f"C{k}" for k in range(len(methods))], capsize=3)
            ax.set_xticks(range(len(methods)), methods, rotation=40, ha="right", fontsize=7)
            ax.set_title(f"{task}: {metric}", fontsize=9)
            if metric in ("SR", "RC"):
                ax.set_ylim(0, 1.05)
    fig.tight_layout()
    return save_figure_atomic(fig, path)


def save_split_chart(path: str | Path, pooled: dict[str, dict[str, dict]], metrics=("SR", "SRNC")) -> Path:
    """One panel per metric: each method's rate over all its tasks on every split, with the 95 % interval, the
    splits side by side and joined by a line (the drop from one split to the next). `pooled` maps method -> split ->
    summary (s2e.navbench.summary.summarize of the method's episodes of every task)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    methods = list(pooled)
    splits = list(dict.fromkeys(s for per_split in pooled.values() for s in per_split))
    offsets = {s: (k - (len(splits) - 1) / 2) * 0.25 for k, s in enumerate(splits)}
    fig, axes = plt.subplots(1, len(metrics), figsize=(max(4.0, 0.9 * len(methods) + 1.5) * len(metrics), 3.6),
                             squeeze=False)
    for ax, metric in zip(axes[0], metrics):
        for i, method in enumerate(methods):
            stats = [(i + offsets[s], pooled[method][s][metric]) for s in splits if s in pooled[method]]
            ax.plot([x for x, _ in stats], [st["mean"] for _, st in stats], color="0.6", lw=1, zorder=1)
        for k, split in enumerate(splits):
            rows = [(i, pooled[m][split][metric]) for i, m in enumerate(methods) if split in pooled[m]]
            ax.errorbar([i + offsets[split] for i, _ in rows], [st["mean"] for _, st in rows],
                        yerr=[[st["mean"] - st["lo"] for _, st in rows], [st["hi"] - st["mean"] for _, st in rows]],
                        fmt="o", color=f"C{k}", capsize=3, label=split, zorder=2)
        ax.set_xticks(range(len(methods)), methods, rotation=30, ha="right", fontsize=8)
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{'SR-NC' if metric == 'SRNC' else metric}, all tasks pooled", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return save_figure_atomic(fig, path)
