"""Learning curves as a PNG (matplotlib, Agg), written atomically."""

from __future__ import annotations

from pathlib import Path

from .files import atomic_path


def save_curves(path: str | Path, panels: dict[str, dict[str, tuple[list[float], list[float]]]],
                xlabel: str = "iteration", title: str | None = None) -> Path:
    """One subplot per panel; a panel maps a series label to (x, y). Panel names are the y labels."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(4.0 * len(panels), 3.2), squeeze=False)
    for ax, (ylabel, series) in zip(axes[0], panels.items()):
        for label, (x, y) in series.items():
            ax.plot(x, y, marker="o", markersize=3, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        if len(series) > 1:
            ax.legend(fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return save_figure_atomic(fig, path)


def save_figure_atomic(fig, path: str | Path, dpi: int = 110) -> Path:
    """Save a matplotlib figure as PNG through a temporary file beside `path`, then close it."""
    import matplotlib.pyplot as plt

    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return Path(path)
