"""Top-down maps of a block: ground classes, buildings, obstacles, pedestrians, route and trajectory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .layout import CYLINDER, UrbanLayout

GROUND_COLORS = np.array([[0.35, 0.35, 0.38], [0.78, 0.76, 0.72], [0.95, 0.95, 0.95], [0.55, 0.42, 0.36]])


def draw_topdown(ax, layout: UrbanLayout, route=None, trajectory=None, pedestrians=None, robot=None, title: str | None = None):
    """Draw one block on a matplotlib axis (tile frame, metres)."""
    import matplotlib.patches as mpatches

    h = layout.size / 2
    ax.imshow(GROUND_COLORS[layout.semantic], origin="lower", extent=(-h, h, -h, h), interpolation="nearest")
    for cx, cy, sx, sy, _ in layout.buildings:
        ax.add_patch(mpatches.Rectangle((cx - sx / 2, cy - sy / 2), sx, sy, fc=(0.55, 0.42, 0.36), ec="k", lw=0.5))
    for i, (cx, cy, yaw, hx, hy, _, shape) in enumerate(layout.obstacles):
        color = "tab:olive" if i < layout.num_furniture else "tab:red"
        if shape == CYLINDER:
            ax.add_patch(mpatches.Circle((cx, cy), hx, fc=color, ec="k", lw=0.4))
        else:
            c, s = np.cos(yaw), np.sin(yaw)
            corner = (cx - c * hx + s * hy, cy - s * hx - c * hy)
            ax.add_patch(mpatches.Rectangle(corner, 2 * hx, 2 * hy, angle=np.degrees(yaw), fc=color, ec="k", lw=0.4))
    if route is not None:
        ax.plot(route[:, 0], route[:, 1], "--", color="tab:blue", lw=1.2, label="route")
        ax.plot(*route[0], "o", color="tab:green", ms=6)
        ax.plot(*route[-1], "*", color="gold", ms=12, mec="k")
    if trajectory is not None and len(trajectory):
        ax.plot(trajectory[:, 0], trajectory[:, 1], "-", color="tab:purple", lw=1.8, label="robot")
    if pedestrians is not None:
        for x, y in pedestrians:
            ax.add_patch(mpatches.Circle((x, y), 0.3, fc="tab:orange", ec="k", lw=0.4))
    if robot is not None:
        ax.add_patch(mpatches.Circle(tuple(robot[:2]), 0.35, fc="tab:purple", ec="k", lw=0.6))
    ax.set_xlim(-h, h)
    ax.set_ylim(-h, h)
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=8)


def save_topdown_grid(path: str | Path, panels: list[dict], cols: int = 4) -> Path:
    """Save several `draw_topdown` panels (dicts of its keyword arguments) as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.2 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, panel in zip(axes.flat, panels):
        ax.axis("on")
        ax.tick_params(labelsize=6)
        draw_topdown(ax, **panel)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(path)
    return path
