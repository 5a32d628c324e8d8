"""The record of fine-tuning recipe runs (docs/results/rl_recipe.json): one entry per (robot, recipe, training seed).

Each entry holds the paired held-out comparison of the run's scored checkpoint with the checkpoint it
was fine-tuned from (s2e.navbench.paired), the training time and the command, so the docs' tables and
the spread over seeds are computed from measured runs, never typed in.
"""

from __future__ import annotations

import json
from pathlib import Path

from ..utils.files import write_json_atomic
from .paired import PairedComparison

FIELDS = ("robot", "recipe", "train_seed", "episodes", "sr_checkpoint", "sr_finetuned", "ct_checkpoint", "ct_finetuned",
          "wins", "losses", "mcnemar_p", "train_minutes", "command", "scored_checkpoint")


def recipe_entry(comparison: PairedComparison, robot: str, recipe: str, train_seed: int, train_minutes: float | None,
                 command: str, scored_checkpoint: str) -> dict:
    return {"robot": robot, "recipe": recipe, "train_seed": int(train_seed), "episodes": comparison.episodes,
            "sr_checkpoint": comparison.sr_a, "sr_finetuned": comparison.sr_b, "ct_checkpoint": comparison.ct_a,
            "ct_finetuned": comparison.ct_b, "wins": comparison.wins, "losses": comparison.losses,
            "mcnemar_p": comparison.mcnemar_p, "train_minutes": train_minutes, "command": command,
            "scored_checkpoint": scored_checkpoint}


def record_run(path: str | Path, entry: dict) -> list[dict]:
    """Add `entry` to the list in `path` (replacing the entry of the same robot, recipe and training seed); atomic."""
    path = Path(path)
    runs = json.loads(path.read_text()) if path.is_file() else []
    key = (entry["robot"], entry["recipe"], entry["train_seed"])
    runs = [r for r in runs if (r["robot"], r["recipe"], r["train_seed"]) != key] + [entry]
    runs.sort(key=lambda r: (r["robot"], r["recipe"], r["train_seed"]))
    write_json_atomic(path, runs)
    return runs


def markdown_table(runs: list[dict]) -> str:
    """Per run: SR and CT before -> after, paired wins / losses; then each (robot, recipe)'s mean and range of the SR
    change."""
    lines = ["| robot | recipe | seed | episodes | SR checkpoint -> fine-tuned | pts | wins / losses | McNemar p | CT "
             "| train min |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        minutes = "" if r["train_minutes"] is None else f"{r['train_minutes']:.0f}"
        lines.append(f"| {r['robot']} | {r['recipe']} | {r['train_seed']} | {r['episodes']} | {r['sr_checkpoint']:.3f} "
                     f"-> {r['sr_finetuned']:.3f} | {100 * (r['sr_finetuned'] - r['sr_checkpoint']):+.1f} | "
                     f"{r['wins']} / {r['losses']} | {r['mcnemar_p']:.3g} | {r['ct_checkpoint']:.3f} -> "
                     f"{r['ct_finetuned']:.3f} | {minutes} |")
    groups: dict[tuple[str, str], list[float]] = {}
    for r in runs:
        groups.setdefault((r["robot"], r["recipe"]), []).append(100 * (r["sr_finetuned"] - r["sr_checkpoint"]))
    lines += ["", "| robot | recipe | seeds | SR change, mean (min .. max) pts |", "| --- | --- | --- | --- |"]
    for (robot, recipe), d in sorted(groups.items()):
        lines.append(f"| {robot} | {recipe} | {len(d)} | {sum(d) / len(d):+.1f} ({min(d):+.1f} .. {max(d):+.1f}) |")
    return "\n".join(lines) + "\n"
