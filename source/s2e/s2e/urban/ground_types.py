"""Which free ground of a capture is walkable: sidewalks apart from roads, from colour and curbs.

Seen from above, roads and sidewalks are both flat ground, and a 0.12 m curb barely reaches the
occupancy band. What tells them apart in a street capture is the surface (dark asphalt, lighter
paving) and the curb line between the two. `split_ground` thresholds the free ground cells' mean
luminance (Otsu), and calls the scene a street when

* the two classes are well separated (Otsu's between-class share of the variance >= `min_separation`),
* each holds at least `min_share` of the free ground, and
* low geometry (curb band, below the occupancy band) lies between them: at least `min_curb_cells`
  such cells, most of them within two cells of both classes, and
* some of it runs along a line with one ground type on each side: a curb line. The tile is turned to
  the scene's dominant edge direction, so a street's curbs run along grid rows or columns; a curb
  line is a band of three rows (or columns) whose curb cells cover at least `min_curb_line` metres
  of it (gaps up to `curb_gap` m bridged), at least `min_line_contrast` times denser there than in
  the bands beside it, with the lighter type on one side and the darker on the other. A plaza whose
  paving is uneven has low geometry everywhere and two tones in patches: curb cells between the
  tones, but no line of them that stands out from its surroundings.

In a street the lighter ground is the sidewalk; zebra crossings (light bars on dark asphalt) and
thin light or dark marks are bridged by a closing and an opening of one cell. Anywhere else (a
plaza, a park, a single paving) all free ground stays walkable. `choice` forces either answer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

CHOICES = ("auto", "all", "light", "dark")
LUMA = np.array([0.299, 0.587, 0.114])


@dataclass
class GroundSplitCfg:
    choice: str = "auto"
    """auto: the lighter ground in a street, all free ground elsewhere; all / light / dark: forced."""
    curb_band: tuple[float, float] = (0.04, 0.12)
    """Heights (m) of curb geometry: above the ground's noise, below the occupancy band."""
    min_separation: float = 0.6
    """A street needs two ground types this well separated (Otsu's between-class share of the variance) ..."""
    min_share: float = 0.1
    """... each covering at least this share of the free ground ..."""
    min_curb_cells: int = 20
    """... at least this many curb cells ..."""
    min_curb_between: float = 0.5
    """... this share of them within two cells of both types ..."""
    min_curb_line: float = 4.0
    """... and a curb line at least this long (m) separating the two types."""
    curb_gap: float = 1.0
    """Gaps in a curb line up to this long (m: driveways, noise) are bridged."""
    min_line_contrast: float = 3.0
    """A curb line's curb cells are this many times denser than in the bands 2-6 cells beside it."""


@dataclass
class GroundSplit:
    walkable: np.ndarray
    """The walkable cells chosen from the free ground."""
    chosen: str
    """all, light or dark."""
    threshold: float
    """Otsu luminance threshold between the two ground types."""
    separation: float
    """Otsu's between-class share of the luminance variance (0-1)."""
    light_share: float
    curb_cells: int
    curb_between: float
    """Share of the curb cells within two cells of both ground types."""
    curb_line: float = 0.0
    """Length (m) of the longest curb line with a different ground type on each side (0: none)."""

    def line(self, choice: str) -> str:
        types = (f"ground: luminance threshold {self.threshold:.2f} (separation {self.separation:.2f}), "
                 f"{100 * self.light_share:.0f}% of the free ground lighter; {self.curb_cells} curb cells, "
                 f"{100 * self.curb_between:.0f}% between the two, longest curb line between them {self.curb_line:.1f} "
                 "m")
        what = {"all": "all free ground", "light": "the lighter ground (sidewalks; the darker, roads, excluded)",
                "dark": "the darker ground (the lighter excluded)"}[self.chosen]
        how = "forced" if choice != "auto" else ("a street" if self.chosen == "light" else "not a street")
        return f"{types}: walkable = {what} ({how})  [--walkable_ground {'|'.join(CHOICES)}]"


def _cell_mean(xy: np.ndarray, values: np.ndarray, size: float, n: int) -> np.ndarray:
    ij = np.clip(np.floor((xy + size / 2) / (size / n)).astype(np.int64), 0, n - 1)
    flat = ij[:, 1] * n + ij[:, 0]
    count = np.bincount(flat, minlength=n * n)
    total = np.bincount(flat, values, minlength=n * n)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan).reshape(n, n), count.reshape(n, n)


def otsu(values: np.ndarray, bins: int = 64) -> tuple[float, float]:
    """(threshold, between-class share of the variance) of values in [0, 1]."""
    hist, edges = np.histogram(np.clip(values, 0.0, 1.0), bins, (0.0, 1.0))
    mids = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    s0 = np.cumsum(hist * mids)
    m0 = s0 / np.maximum(w0, 1)
    m1 = (s0[-1] - s0) / np.maximum(w1, 1)
    between = w0 * w1 * (m0 - m1) ** 2 / max(w0[-1], 1) ** 2
    k = int(between.argmax())
    total = float(np.var(np.clip(values, 0.0, 1.0)))
    return float(edges[k + 1]), float(between[k] / total) if total > 0 else 0.0


def split_ground(free: np.ndarray, points: np.ndarray, rgb: np.ndarray, size: float, ground_tolerance: float,
                 cfg: GroundSplitCfg) -> GroundSplit:
    """`free`: [n, n] free ground cells of the tile grid (rows = y); `points` [N, 3] opaque Gaussian centres in the
    tile frame (ground at z = 0) with their colours `rgb` [N, 3] in [0, 1]."""
    if cfg.choice not in CHOICES:
        raise ValueError(f"walkable ground must be one of {', '.join(CHOICES)}, got {cfg.choice!r}")
    n = free.shape[0]
    on_ground = np.abs(points[:, 2]) < ground_tolerance
    lum, _ = _cell_mean(points[on_ground, :2], rgb[on_ground] @ LUMA, size, n)
    seen = free & ~np.isnan(lum)
    if seen.sum() < 2:
        return GroundSplit(free.copy(), "all", 0.0, 0.0, 0.0, 0, 0.0)
    threshold, separation = otsu(lum[seen])
    light = seen & (lum > threshold)
    dark = seen & ~light
    low = (points[:, 2] >= cfg.curb_band[0]) & (points[:, 2] < cfg.curb_band[1])
    _, count = _cell_mean(points[low, :2], np.ones(int(low.sum())), size, n)
    curb = count >= 2
    near = np.ones((5, 5), bool)
    between = curb & ndimage.binary_dilation(light, near) & ndimage.binary_dilation(dark, near)
    curb_between = float(between.sum() / max(curb.sum(), 1))
    light_share = float(light.sum() / seen.sum())
    line = curb_line_length(curb, light, dark, size / n, cfg)
    street = (separation >= cfg.min_separation and min(light_share, 1 - light_share) >= cfg.min_share
              and curb.sum() >= cfg.min_curb_cells and curb_between >= cfg.min_curb_between and line
              >= cfg.min_curb_line)
    chosen = ("light" if street else "all") if cfg.choice == "auto" else cfg.choice
    if chosen == "all":
        walkable = free.copy()
    else:
        part = light if chosen == "light" else dark
        one = np.ones((3, 3), bool)
        padded = np.pad(part, 2, mode="edge")  # the tile's border is not an edge of the ground type
        closed = ndimage.binary_closing(padded, one)[2:-2, 2:-2] & free
        walkable = ndimage.binary_opening(np.pad(closed, 2, mode="edge"), one)[2:-2, 2:-2]
    return GroundSplit(walkable, chosen, threshold, separation, light_share, int(curb.sum()), curb_between, line)


def curb_line_length(curb: np.ndarray, light: np.ndarray, dark: np.ndarray, res: float, cfg: GroundSplitCfg) -> float:
    """Length (m) of the longest curb line (see the module docstring) along the grid's rows or columns."""
    return max(_row_curb_line(curb, light, dark, res, cfg), _row_curb_line(curb.T, light.T, dark.T, res, cfg))


def _row_curb_line(curb: np.ndarray, light: np.ndarray, dark: np.ndarray, res: float, cfg: GroundSplitCfg) -> float:
    n = curb.shape[0]
    gap = max(1, int(round(cfg.curb_gap / res)))
    c = curb.astype(np.float64)
    band = ndimage.maximum_filter1d(curb, 3, axis=0)  # [n, n] curb within one row of row i
    density = ndimage.uniform_filter1d(c, 3, axis=0, mode="constant")  # curb cells per cell of the 3-row band
    # density of the bands 2-6 rows above and below (5 rows each), per column
    kernel = np.zeros(13)
    kernel[:5] = kernel[-5:] = 0.1
    beside = ndimage.convolve1d(c, kernel, axis=0, mode="constant")
    lit = light.astype(np.float64)
    seen = (light | dark).astype(np.float64)
    one_side, other_side = np.zeros(13), np.zeros(13)
    one_side[:5] = other_side[-5:] = 1.0  # rows 2-6 away on one side of row i, and on the other
    frac = (lambda k: ndimage.convolve1d(lit, k, axis=0, mode="constant")
            / np.maximum(ndimage.convolve1d(seen, k, axis=0, mode="constant"), 1))
    light_one, light_other = frac(one_side), frac(other_side)
    best = 0.0
    for i in range(n):
        # runs of curb along row i, gaps up to `gap` cells closed
        row = ndimage.binary_closing(np.pad(band[i], gap), np.ones(2 * gap + 1, bool))[gap:-gap] | band[i]
        labels, k = ndimage.label(row)
        for j, sl in enumerate(ndimage.find_objects(labels), 1):
            cols = sl[0]
            length = (cols.stop - cols.start) * res
            if length < best or length < cfg.min_curb_line:
                continue
            on = density[i, cols].mean()
            off = beside[i, cols].mean()
            sides_differ = abs(light_one[i, cols].mean() - light_other[i, cols].mean()) >= 0.5
            if on >= cfg.min_line_contrast * off and sides_differ:
                best = length
    return float(best)
