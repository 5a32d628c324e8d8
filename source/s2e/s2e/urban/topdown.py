"""Top-down maps of a block: ground classes, buildings, obstacles, pedestrians, route and trajectory."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..utils.plots import save_figure_atomic
from .layout import CYLINDER, UrbanLayout

GROUND_COLORS = np.array([[0.35, 0.35, 0.38], [0.78, 0.76, 0.72], [0.95, 0.95, 0.95], [0.55, 0.42, 0.36]])


def draw_topdown(ax, layout: UrbanLayout, route=None, trajectory=None, pedestrians=None, robot=None,
                 title: str | None = None):
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
    return save_figure_atomic(fig, path)


class TopdownAnimator:
    """A top-down map redrawn cheaply every frame: the block and route are drawn once per episode,
    the robot, its track and the pedestrians are artists that move."""

    def __init__(self, size_px: int = 384):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        self._plt = plt
        self.fig, self.ax = plt.subplots(figsize=(size_px / 100, size_px / 100), dpi=100)
        self._layout_id = None
        self._route_id = None

    def _redraw_static(self, layout: UrbanLayout, route: np.ndarray, title: str) -> None:
        self.ax.clear()
        draw_topdown(self.ax, layout, route=route, title=title)
        self.ax.tick_params(labelsize=6)
        (self._track,) = self.ax.plot([], [], "-", color="tab:purple", lw=1.8)
        self._peds = self.ax.scatter([], [], s=30, c="tab:orange", edgecolors="k", linewidths=0.4, zorder=5)
        (self._robot,) = self.ax.plot([], [], "o", color="tab:purple", mec="k", ms=7, zorder=6)
        (self._heading,) = self.ax.plot([], [], "-", color="k", lw=1.5, zorder=7)
        self.fig.tight_layout()

    def frame(self, layout: UrbanLayout, route: np.ndarray, track: np.ndarray, yaw: float,
              pedestrians: np.ndarray | None = None, title: str = "", view_radius: float | None = 15.0) -> np.ndarray:
        """RGB uint8 [H, W, 3] of the block with the route, the robot's track so far and the pedestrians
        (a window of `view_radius` m around the robot, or the whole block when None)."""
        if self._layout_id != id(layout) or self._route_id != route.tobytes():
            self._layout_id, self._route_id = id(layout), route.tobytes()
            self._redraw_static(layout, route, title)
        self.ax.set_title(title, fontsize=8)
        self._track.set_data(track[:, 0], track[:, 1])
        x, y = track[-1]
        self._robot.set_data([x], [y])
        self._heading.set_data([x, x + 1.5 * np.cos(yaw)], [y, y + 1.5 * np.sin(yaw)])
        self._peds.set_offsets(pedestrians if pedestrians is not None and len(pedestrians) else np.zeros((0, 2)))
        if view_radius is not None:
            self.ax.set_xlim(x - view_radius, x + view_radius)
            self.ax.set_ylim(y - view_radius, y + view_radius)
        self.fig.canvas.draw()
        return np.asarray(self.fig.canvas.buffer_rgba())[..., :3].copy()

    def close(self) -> None:
        self._plt.close(self.fig)
