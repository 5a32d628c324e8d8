"""The pretraining run's held-out curves (metrics.json history) as curves.png."""

from __future__ import annotations

from pathlib import Path

from ..utils.plots import save_curves


def save_pretrain_curves(history: list[dict], path: str | Path, title: str | None = None) -> Path | None:
    """Distances (minADE, ADE, FDE), NLL and anchor accuracy against the iteration; None if no history."""
    if not history:
        return None
    it = [h["iteration"] for h in history]

    def series(*keys):
        return {k: (it, [h[k] for h in history]) for k in keys if all(k in h for h in history)}

    return save_curves(path, {"held-out distance (m)": series("minADE", "ADE", "FDE"),
                              "held-out NLL (nats)": series("nll"), "anchor accuracy": series("anchor_acc")},
                       title=title)
