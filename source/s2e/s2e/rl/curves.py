"""Learning curves of PPO runs as a PNG, read back from the runs' TensorBoard event files.

rsl-rl logs every iteration to TensorBoard; a picture of the few curves that tell whether
fine-tuning works (episode reward, SR of the episodes that ended in each iteration, SR and CT over
the last 100 episodes once 100 have ended, the critic's loss) is what people look at first, so
train_ram.py writes one per run and scripts/plot_rl_curves.py overlays several runs.
"""

from __future__ import annotations

from pathlib import Path

from ..utils.plots import save_curves

PANELS = {
    "mean episode reward": "Train/mean_reward",
    "SR, episodes ended in the iteration": "Episode/SR",
    "SR, last 100 episodes": "Episode/SR_last100",
    "CT, last 100 episodes": "Episode/CT_last100",
    "value loss": "Loss/value",
}


class CurvesError(ValueError):
    """A run folder without readable TensorBoard scalars."""


def read_scalars(run_dir: str | Path) -> dict[str, tuple[list[float], list[float]]]:
    """Every scalar tag of a run folder's event files: tag -> (steps, values)."""
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run_dir = Path(run_dir)
    if not any(run_dir.glob("events.out.tfevents.*")):
        raise CurvesError(f"{run_dir} holds no TensorBoard event file: pass a run folder written by train_ram.py")
    acc = EventAccumulator(str(run_dir), size_guidance={"scalars": 0})
    acc.Reload()
    events = {tag: acc.Scalars(tag) for tag in acc.Tags()["scalars"]}
    return {tag: ([float(e.step) for e in ev], [e.value for e in ev]) for tag, ev in events.items()}


def save_run_curves(runs: dict[str, str | Path], path: str | Path, title: str | None = None) -> Path:
    """One panel per PANELS entry, one line per run (label -> run folder); tags a run lacks are skipped."""
    scalars = {label: read_scalars(d) for label, d in runs.items()}
    panels = {name: {label: s[tag] for label, s in scalars.items() if tag in s} for name, tag in PANELS.items()}
    panels = {name: series for name, series in panels.items() if series}
    if not panels:
        raise CurvesError(f"none of {sorted(PANELS.values())} was logged in {', '.join(map(str, runs.values()))}")
    return save_curves(path, panels, title=title)
