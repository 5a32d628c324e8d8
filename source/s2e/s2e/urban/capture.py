"""A scene bundle from a raw 3DGS capture (Gaussians only): ground, up, scale, tile, occupancy, routes.

A capture comes in its reconstruction's frame: tilted, with any up axis (COLMAP and most 3DGS
trainers give y down or y up; some give z up), in arbitrary units. `estimate_capture` finds:

* the ground plane: RANSAC over the opaque Gaussians' centres, trying only planes whose normal lies
  within `max_tilt_deg` of a coordinate axis (the ground is the largest such plane; facades are
  planes too, but vertical ones), refined by least squares on its inliers. The up direction is the
  normal's side that holds most of the off-ground Gaussians (buildings stand on the ground; little
  lies under it);
* the metric scale: given by the user (metres per unit, or a known length between two points); a
  capture has none of its own, so without one a unit is taken as a metre;
* the yaw: the dominant edge direction, modulo right angles, of the Gaussians up to the band's top
  seen from above (kerbs, sidewalk edges, facades), so that the square tile lines up with the street;
* the tile: centre and side of that robust bounding box (0.5-99.5 percentiles: stray Gaussians far
  out do not widen it), made square: the part of the scene the capture covers, facades included.

`capture_grids` then rasterizes the levelled Gaussians on the tile grid: a cell is ground when
opaque flat Gaussians lie near z = 0 there, an obstacle when at least `min_count` opaque Gaussians
lie in the height band (single Gaussians in the air, "floaters", do not count), or when the capture
saw no ground in it (under buildings, outside the capture: the robot only drives where ground was
seen). `build_capture_bundle` writes the obstacle cells as boxes (the collision mesh) over a ground
quad, the tile as the walkable polygon, sets the start-goal distance from the walkable area's extent
(`route_distance`, which the tasks read), samples `num_routes` routes that far apart with the task's
route clearance (fewer: a CaptureError naming the settings to change, and no bundle), cuts the
Gaussians to `max_gaussians` (s2e.urban.capture_budget), and checks the result by loading it.
`capture_cfg` turns the tool's settings (its flags, or a real-scene manifest's entry) into a CaptureCfg.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from scipy import ndimage

from ..rendering.gaussians import SH_C0, GaussianScene
from .bundle_layout import DEFAULT_HEIGHT_BAND, layout_from_mesh, rect_partition
from .capture_budget import RenderDifference, prune_to_budget, render_difference
from .ground_types import GroundSplit, GroundSplitCfg, split_ground
from .layout import UrbanLayout
from .routes import RouteCfg, RoutePlanner
from .scene_bundle import Alignment, BundleRoute, SceneBundle, free_extent, load_scene_bundle, save_scene_bundle

AXES = {"+x": (1, 0, 0), "-x": (-1, 0, 0), "+y": (0, 1, 0), "-y": (0, -1, 0), "+z": (0, 0, 1), "-z": (0, 0, -1)}


class CaptureError(ValueError):
    """A capture the tool cannot turn into a bundle: one line naming the problem and the fix."""


@dataclass
class CaptureCfg:
    """Knobs of the estimates; every estimate can also be given outright (the `*_override` fields)."""

    min_opacity: float = 0.2
    """Gaussians less opaque than this are ignored (faint floaters, fog)."""
    max_tilt_deg: float = 35.0
    """The ground's normal lies within this of a coordinate axis of the capture."""
    ransac_iters: int = 400
    ransac_points: int = 30_000
    ground_tolerance: float = 0.1
    """Gaussians within this (m) of the ground plane are ground."""
    height_band: tuple[float, float] = (0.12, DEFAULT_HEIGHT_BAND[1])
    """Geometry this high (m) above the ground blocks a cell (above the ground's own noise)."""
    min_count: int = 2
    """Opaque Gaussians a cell needs in the band to be an obstacle (a lone floater is not)."""
    resolution: float = 0.25
    """Grid cell (m)."""
    unseen_height: float = 2.0
    """Height (m) of the collision box over a cell whose ground was never seen and has no Gaussians above."""
    route_clearance: float = 0.75
    """Routes keep this far from obstacles (m): the wheeled robot's radius 0.45 + the task's 0.3 margin."""
    num_routes: int = 4
    """Routes the bundle gets; fewer fitting the walkable area stops the tool with the settings to change."""
    min_route_distance: float = 10.0
    """Start-goal distance (m) of the routes and of the episodes the task samples on the bundle: min_route_distance to
    max_route_distance, shrunk to a third of the walkable area's extent up to all of it where that is smaller."""
    max_route_distance: float = 40.0
    seed: int = 0
    up_override: np.ndarray | None = None
    """Capture-frame up vector; skips the RANSAC direction (the ground height is still fitted)."""
    scale: float | None = None
    """Metres per capture unit (None: 1, and the report says that no scale was given)."""
    yaw_deg_override: float | None = None
    centre_override: np.ndarray | None = None
    """Tile centre (x, y) in the levelled, scaled frame before centring (m), as the tool prints it."""
    size_override: float | None = None
    ground_split: GroundSplitCfg = field(default_factory=GroundSplitCfg)
    """Which free ground is walkable (sidewalks apart from roads; s2e.urban.ground_types)."""
    max_gaussians: int | None = None
    """CPU budget: the bundle keeps this many Gaussians (s2e.urban.capture_budget; None: all). The estimates and
    grids use them all."""


@dataclass
class CaptureEstimate:
    up: np.ndarray
    """Unit up vector in the capture frame."""
    ground_point: np.ndarray
    """A point of the ground plane (capture frame)."""
    ground_inliers: float
    """Share of the opaque Gaussians on the ground plane."""
    scale: float
    scale_given: bool
    yaw_deg: float
    centre: np.ndarray
    """Tile centre (x, y) in the levelled frame (m)."""
    size: float
    alignment: Alignment = field(default_factory=Alignment)
    """Capture frame -> tile frame."""

    def lines(self) -> list[str]:
        u = self.up
        scale = (f"{self.scale:.6g} m per unit" + ("" if self.scale_given
                                                   else " (none given: assuming 1 unit = 1 m; pass --scale or "
                                                        "--reference_length)"))
        return [
            f"up direction (capture frame): ({u[0]:+.4f}, {u[1]:+.4f}, {u[2]:+.4f}), axis {nearest_axis(u)} "
            f"tilted {math.degrees(math.acos(min(1.0, abs(float(u @ np.asarray(AXES[nearest_axis(u)], float)))))):.2f} "
            "deg  [--up]",
            f"ground plane: through ({self.ground_point[0]:.4f}, {self.ground_point[1]:.4f}, "
            f"{self.ground_point[2]:.4f}), {100 * self.ground_inliers:.0f}% of the opaque Gaussians on it",
            f"scale: {scale}  [--scale, --reference_length]",
            f"yaw: {self.yaw_deg:.2f} deg  [--yaw_deg]",
            f"tile centre: ({self.centre[0]:.2f}, {self.centre[1]:.2f}) m, size {self.size:.2f} m  [--centre, --size]",
        ]


SETTINGS = ("scale", "reference_length", "reference_points", "up", "yaw_deg", "centre", "size", "obstacle_heights",
            "min_count", "walkable_ground", "route_clearance", "routes", "max_gaussians")
"""The tool's settings, named as make_bundle_from_capture.py's flags and a real-scene manifest's `bundle` keys."""


def capture_cfg(settings: dict) -> CaptureCfg:
    """A CaptureCfg from the tool's settings (absent or None: estimated, or the default); ValueError naming the bad
    one."""
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise ValueError(f"unknown capture setting '{unknown[0]}'; the settings are {', '.join(SETTINGS)}")
    get = lambda key: settings.get(key)  # noqa: E731
    cfg = CaptureCfg()
    if get("routes") is not None:
        if int(get("routes")) < 0:
            raise ValueError("--routes must be >= 0")
        cfg.num_routes = int(get("routes"))
    if get("scale") is not None and get("reference_length") is not None:
        raise ValueError("give either --scale or --reference_length, not both")
    if (get("reference_length") is None) != (get("reference_points") is None):
        raise ValueError("--reference_length needs --reference_points X0 Y0 Z0 X1 Y1 Z1 (two picked capture points)")
    if get("scale") is not None:
        if not float(get("scale")) > 0:
            raise ValueError(f"--scale must be positive (metres per unit), got {get('scale')}")
        cfg.scale = float(get("scale"))
    if get("reference_length") is not None:
        p = np.asarray(get("reference_points"), float)
        cfg.scale = scale_from_reference(p[:3], p[3:], float(get("reference_length")))
    if get("up") is not None:
        cfg.up_override = parse_axis(str(get("up")))
    if get("size") is not None and not float(get("size")) > 0:
        raise ValueError(f"--size must be positive (m), got {get('size')}")
    if get("obstacle_heights") is not None:
        lo, hi = (float(v) for v in get("obstacle_heights"))
        if not 0 <= lo < hi:
            raise ValueError(f"--obstacle_heights must be LOW HIGH with 0 <= LOW < HIGH, got {lo} {hi}")
        cfg.height_band = (lo, hi)
    if get("min_count") is not None:
        if int(get("min_count")) < 1:
            raise ValueError("--min_count must be >= 1")
        cfg.min_count = int(get("min_count"))
    if get("route_clearance") is not None:
        if not float(get("route_clearance")) > 0:
            raise ValueError("--route_clearance must be positive (m)")
        cfg.route_clearance = float(get("route_clearance"))
    if get("walkable_ground") is not None:
        if get("walkable_ground") not in ("auto", "all", "light", "dark"):
            raise ValueError(f"--walkable_ground must be auto, all, light or dark, got {get('walkable_ground')!r}")
        cfg.ground_split.choice = get("walkable_ground")
    if get("max_gaussians") is not None:
        if int(get("max_gaussians")) < 1000:
            raise ValueError(f"--max_gaussians must be at least 1000, got {get('max_gaussians')}")
        cfg.max_gaussians = int(get("max_gaussians"))
    cfg.yaw_deg_override = None if get("yaw_deg") is None else float(get("yaw_deg"))
    cfg.size_override = None if get("size") is None else float(get("size"))
    cfg.centre_override = None if get("centre") is None else np.asarray(get("centre"), float)
    return cfg


def nearest_axis(v: np.ndarray) -> str:
    k = int(np.abs(v).argmax())
    return ("+" if v[k] > 0 else "-") + "xyz"[k]


def parse_axis(text: str) -> np.ndarray:
    """'+y', '-z', or 'x,y,z' as a unit vector; ValueError naming the accepted forms."""
    if text in AXES:
        return np.asarray(AXES[text], float)
    try:
        v = np.asarray([float(t) for t in text.split(",")], float)
    except ValueError:
        v = np.zeros(0)
    if v.shape != (3,) or not np.isfinite(v).all() or np.linalg.norm(v) < 1e-9:
        raise ValueError(f"'{text}' is not a direction: give one of {', '.join(AXES)} or three numbers 'x,y,z'")
    return v / np.linalg.norm(v)


def scale_from_reference(p0: np.ndarray, p1: np.ndarray, metres: float) -> float:
    """Metres per unit from two capture-frame points `metres` apart."""
    d = float(np.linalg.norm(np.asarray(p1, float) - np.asarray(p0, float)))
    if d <= 0 or metres <= 0:
        raise ValueError("the reference points must differ and the reference length must be positive")
    return metres / d


def fit_ground(points: np.ndarray, cfg: CaptureCfg, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, float]:
    """(unit up, point on the ground, inlier share) of the opaque Gaussian centres [N, 3] (capture frame)."""
    pts = points[rng.choice(len(points), min(len(points), cfg.ransac_points), replace=False)]
    extent = float((np.percentile(pts, 98, axis=0) - np.percentile(pts, 2, axis=0)).max())
    thr = 0.003 * extent
    cos_tilt = math.cos(math.radians(cfg.max_tilt_deg))
    best_n, best_count = None, -1
    if cfg.up_override is not None:
        best_n = cfg.up_override / np.linalg.norm(cfg.up_override)
        # the height of the ground: the densest level along the given up direction
        h = pts @ best_n
        hist, edges = np.histogram(h, bins=max(10, int((h.max() - h.min()) / thr)))
        k = int(hist.argmax())
        d0 = 0.5 * (edges[k] + edges[k + 1])
        inl = np.abs(h - d0) < thr
    else:
        tri = rng.integers(0, len(pts), size=(cfg.ransac_iters, 3))
        a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
        normals = np.cross(b - a, c - a)
        norm = np.linalg.norm(normals, axis=1)
        ok = norm > 1e-12
        normals[ok] /= norm[ok, None]
        ok &= np.abs(normals).max(axis=1) >= cos_tilt
        for k in np.flatnonzero(ok):
            count = int((np.abs((pts - a[k]) @ normals[k]) < thr).sum())
            if count > best_count:
                best_n, best_count, best_a = normals[k], count, a[k]
        if best_n is None:
            raise CaptureError(f"no ground plane within {cfg.max_tilt_deg} deg of a capture axis was found; give the "
                               "up axis with --up")
        inl = np.abs((pts - best_a) @ best_n) < thr
    # least-squares refinement on the inliers (twice, the second time with the refined plane's inliers)
    for _ in range(2):
        q = pts[inl]
        centre = q.mean(axis=0)
        if cfg.up_override is None:
            n = np.linalg.svd(q - centre, full_matrices=False)[2][-1]
            best_n = n if n @ best_n >= 0 else -n
        inl = np.abs((pts - centre) @ best_n) < thr
    d = (points - centre) @ best_n
    if cfg.up_override is None and (d < -3 * thr).sum() > (d > 3 * thr).sum():
        best_n = -best_n  # the side with most of the scene is up
    return best_n, centre, float(inl.mean())


def level_rotation(up: np.ndarray) -> np.ndarray:
    """A rotation taking `up` to +z, with the capture axis most horizontal mapped into the xz plane."""
    up = up / np.linalg.norm(up)
    k = int(np.abs(up).argmin())
    e = np.eye(3)[k]
    x = e - (e @ up) * up
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(up, x), up])


def dominant_yaw(xy: np.ndarray, res: float = 0.2) -> float:
    """Yaw (rad, in [0, pi/2)) of the dominant edge directions of points [N, 2] seen from above, modulo
    right angles: streets, kerbs and facades meet mostly at right angles. The points' density image
    is smoothed; each gradient votes with weight |g|^2 for 4 x its angle (right angles agree), and the
    yaw is a quarter of the resultant's angle."""
    lo = xy.min(axis=0)
    n = np.minimum(np.ceil((xy.max(axis=0) - lo) / res).astype(int) + 1, 4000)
    ij = np.minimum(((xy - lo) / res).astype(int), n - 1)
    img = np.zeros((n[1], n[0]))
    np.add.at(img, (ij[:, 1], ij[:, 0]), 1.0)
    img = ndimage.gaussian_filter(np.minimum(img, np.percentile(img[img > 0], 90)), 1.5)
    gx, gy = ndimage.sobel(img, axis=1), ndimage.sobel(img, axis=0)
    w = gx**2 + gy**2
    z = (w * np.exp(4j * np.arctan2(gy, gx))).sum()
    return float(np.mod(np.angle(z) / 4, np.pi / 2))


def _opaque(g: GaussianScene, cfg: CaptureCfg) -> np.ndarray:
    keep = (g.opacities >= cfg.min_opacity).numpy()
    if keep.sum() < 100:
        raise CaptureError(f"only {int(keep.sum())} Gaussians are at least {cfg.min_opacity} opaque; is this a 3DGS "
                           "capture?")
    return keep


def estimate_capture(g: GaussianScene, cfg: CaptureCfg) -> CaptureEstimate:
    """Up, ground, scale, yaw and tile of a capture-frame scene (see the module docstring)."""
    rng = np.random.default_rng(cfg.seed)
    keep = _opaque(g, cfg)
    pts = g.means.numpy().astype(np.float64)[keep]
    up, ground, inliers = fit_ground(pts, cfg, rng)
    scale = cfg.scale if cfg.scale is not None else 1.0
    lev = level_rotation(up)
    q = scale * (pts - ground) @ lev.T  # levelled, metric, ground at z = 0
    near = q[:, 2] > -cfg.ground_tolerance  # the scene above the ground: its robust footprint is the tile
    xy = q[near, :2]
    if cfg.yaw_deg_override is not None:
        yaw = math.radians(cfg.yaw_deg_override)
    else:
        low = xy[q[near, 2] < cfg.height_band[1]]  # ground, curbs, furniture, facade bottoms: straighter than rooflines
        yaw = dominant_yaw(low)
    c, s = math.cos(-yaw), math.sin(-yaw)
    rz = np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])
    xy = q[near, :2] @ rz[:2, :2].T
    lo_xy, hi_xy = np.percentile(xy, 0.5, axis=0), np.percentile(xy, 99.5, axis=0)
    centre = (lo_xy + hi_xy) / 2 if cfg.centre_override is None else np.asarray(cfg.centre_override, float)
    size = float((hi_xy - lo_xy).max()) if cfg.size_override is None else float(cfg.size_override)
    size = max(cfg.resolution, round(size / cfg.resolution) * cfg.resolution)
    rot = rz @ lev
    t = -scale * rot @ ground - np.array([centre[0], centre[1], 0.0])
    al = Alignment(rot, t, scale)
    return CaptureEstimate(up, ground, inliers, scale, cfg.scale is not None, math.degrees(yaw), centre, size, al)


@dataclass
class CaptureGrids:
    """Tile-frame grids (rows = y, as `UrbanLayout`): what the capture shows of each cell."""

    size: float
    resolution: float
    ground: np.ndarray
    """Opaque ground Gaussians cover the cell."""
    band: np.ndarray
    """At least min_count opaque Gaussians in the height band."""
    top: np.ndarray
    """Highest opaque Gaussian over the cell (m), 0 where none."""
    free: np.ndarray
    """Ground with nothing on it (roads included)."""
    split: GroundSplit
    """Which of the free ground is walkable, and why."""
    walkable: np.ndarray
    """The walkable part of the free ground (sidewalks in a street)."""
    obstacle: np.ndarray
    """Not free: the collision mesh's boxes."""


def _splat_cells(xy: np.ndarray, radius: np.ndarray, size: float, n: int, weights=None) -> np.ndarray:
    """Per-cell count of discs (centre xy, radius) covering each cell centre, cells of side size / n."""
    res = size / n
    out = np.zeros(n * n)
    base = np.floor((xy + size / 2) / res).astype(np.int64)
    r_cells = int(np.ceil(radius.max() / res)) if len(radius) else 0
    for di in range(-r_cells, r_cells + 1):
        for dj in range(-r_cells, r_cells + 1):
            ij = base + [di, dj]
            centre = (ij + 0.5) * res - size / 2
            ok = ((ij >= 0).all(1) & (ij < n).all(1)
                  & ((np.linalg.norm(centre - xy, axis=1) <= radius) | ((di == 0) & (dj == 0))))
            np.add.at(out, ij[ok, 1] * n + ij[ok, 0], 1.0)
    return out.reshape(n, n)


def capture_grids(tile_g: GaussianScene, size: float, cfg: CaptureCfg) -> CaptureGrids:
    """Rasterize a tile-frame (levelled, metric, centred) scene on the tile grid; see the module docstring."""
    n = int(round(size / cfg.resolution))
    res = size / n
    keep = (tile_g.opacities >= cfg.min_opacity).numpy()
    p = tile_g.means.numpy().astype(np.float64)[keep]
    radius = np.clip(2.0 * tile_g.scales.numpy().astype(np.float64)[keep][:, :2].max(axis=1), 0.0, 0.3)
    inside = (np.abs(p[:, :2]) < size / 2).all(axis=1)
    p, radius = p[inside], radius[inside]
    lo, hi = cfg.height_band
    on_ground = np.abs(p[:, 2]) < cfg.ground_tolerance
    in_band = (p[:, 2] >= lo) & (p[:, 2] <= hi)
    ground = _splat_cells(p[on_ground, :2], np.maximum(radius[on_ground], res * 0.75), size, n) > 0
    ground = ndimage.binary_closing(ground, np.ones((3, 3), bool)) | ground
    band = _splat_cells(p[in_band, :2], np.minimum(radius[in_band], res), size, n) >= cfg.min_count
    top = np.zeros(n * n)
    above = p[:, 2] > lo
    ij = np.clip(np.floor((p[above, :2] + size / 2) / res).astype(np.int64), 0, n - 1)
    np.maximum.at(top, ij[:, 1] * n + ij[:, 0], p[above, 2])
    top = top.reshape(n, n)
    free = ground & ~band & ~ndimage.binary_fill_holes(band)
    rgb = (0.5 + SH_C0 * tile_g.sh[:, 0, :].numpy().astype(np.float64))[keep][inside]
    split = split_ground(free, p, rgb, size, cfg.ground_tolerance, cfg.ground_split)
    # free specks smaller than a pedestrian's square are not worth a route: blocked (and not walkable)
    free, walkable = _without_specks(free, res), _without_specks(split.walkable, res)
    return CaptureGrids(size, res, ground, band, top, free, split, walkable, ~free)


def _without_specks(mask: np.ndarray, res: float, min_area: float = 1.0) -> np.ndarray:
    """`mask` without its connected parts smaller than `min_area` (m^2)."""
    labels, k = ndimage.label(mask)
    if not k:
        return mask.copy()
    sizes = ndimage.sum(mask, labels, range(1, k + 1))
    return mask & np.isin(labels, 1 + np.flatnonzero(sizes * res * res >= min_area))


def obstacle_mesh(grids: CaptureGrids, cfg: CaptureCfg) -> tuple[np.ndarray, np.ndarray]:
    """Tile-frame collision mesh: a ground quad over the tile and a box (walls and top) per rectangle
    of obstacle cells, as tall as the highest Gaussian over it (`unseen_height` where there is none).
    Walls sit 2% of a cell inside the rectangle, off the cell boundaries."""
    size, res = grids.size, grids.resolution
    h = size / 2
    verts = [np.array([[-h, -h, 0], [h, -h, 0], [h, h, 0], [-h, h, 0]], float)]
    faces = [np.array([[0, 1, 2], [0, 2, 3]])]
    inset = 0.02 * res
    base = 4
    for r0, c0, r1, c1 in rect_partition(grids.obstacle):
        top = float(grids.top[r0:r1, c0:c1].max())
        top = top if top > cfg.height_band[0] else cfg.unseen_height
        x0, x1 = c0 * res - h + inset, c1 * res - h - inset
        y0, y1 = r0 * res - h + inset, r1 * res - h - inset
        v = [[x0, y0, 0], [x1, y0, 0], [x1, y1, 0], [x0, y1, 0], [x0, y0, top], [x1, y0, top], [x1, y1, top],
             [x0, y1, top]]
        f = ([[4, 5, 6], [4, 6, 7]] + [q for k in range(4)
                                       for q in ([k, (k + 1) % 4, (k + 1) % 4 + 4], [k, (k + 1) % 4 + 4, k + 4])])
        verts.append(np.asarray(v, float))
        faces.append(np.asarray(f) + base)
        base += 8
    return np.concatenate(verts), np.concatenate(faces)


def route_distance(layout: UrbanLayout, cfg: CaptureCfg) -> tuple[float, float]:
    """(min, max) start-goal distance (m) that fits the walkable area: cfg's range, shrunk to a third of the largest
    connected part's extent (with the route clearance) up to all of it; CaptureError when that part is too small."""
    free = RoutePlanner(layout, RouteCfg(clearance=cfg.route_clearance)).free
    extent = free_extent(free, layout.resolution)
    if extent < 3.0:
        raise CaptureError(f"the walkable area clear of obstacles by {cfg.route_clearance} m is {extent:.1f} m across "
                           "at most, too small for a route: check --scale, or lower --route_clearance, --min_count or "
                           "--obstacle_heights, or try --walkable_ground all")
    hi = min(cfg.max_route_distance, math.floor(extent * 10) / 10)
    lo = min(cfg.min_route_distance, math.floor(hi / 3 * 10) / 10)
    return lo, hi


def sample_routes(layout: UrbanLayout, cfg: CaptureCfg,
                  distance: tuple[float, float]) -> list[tuple[np.ndarray, np.ndarray]]:
    """`num_routes` start/goal pairs `distance` apart with the route clearance; CaptureError naming the settings to
    change when fewer fit the walkable area."""
    planner = RoutePlanner(layout, RouteCfg(clearance=cfg.route_clearance, min_distance=distance[0],
                                            max_distance=distance[1]))
    rng = np.random.default_rng(cfg.seed)
    routes = []
    for _ in range(cfg.num_routes):
        try:
            ep = planner.sample_episode(rng)
        except RuntimeError:
            break
        routes.append((ep.start.astype(np.float64), ep.goal.astype(np.float64)))
    if len(routes) < cfg.num_routes:
        raise CaptureError(f"only {len(routes)} of {cfg.num_routes} routes {distance[0]:g}-{distance[1]:g} m long with "
                           f"{cfg.route_clearance} m clearance fit the walkable area "
                           f"({int(planner.free.sum() * layout.resolution ** 2)} m^2 clear): check the preview's "
                           "settings: --walkable_ground all, a lower --route_clearance, --min_count or "
                           "--obstacle_heights (fewer obstacle cells), or fewer --routes")
    return routes


@dataclass
class CaptureBundle:
    estimate: CaptureEstimate
    grids: CaptureGrids
    bundle: SceneBundle
    num_gaussians: int
    """In the capture."""
    budget: RenderDifference | None = None
    """What cutting the capture to cfg.max_gaussians costs in the robot's views (None: nothing was cut)."""

    @property
    def num_kept(self) -> int:
        """Gaussians the bundle keeps of the capture (its tile and margin plus the cropped ones)."""
        return self.bundle.gaussians.num_gaussians + self.bundle.num_cropped


def walkable_polygons(grids: CaptureGrids) -> list[np.ndarray]:
    """Tile-frame walkable polygons: the tile's square when all free ground is walkable (the collision mesh
    blocks the rest), else one rectangle per piece of a partition of the walkable cells."""
    h = grids.size / 2
    if grids.split.chosen == "all":
        return [np.array([[-h, -h], [h, -h], [h, h], [-h, h]], float)]
    res = grids.resolution
    return [np.array([[c0 * res - h, r0 * res - h], [c1 * res - h, r0 * res - h], [c1 * res - h, r1 * res - h],
                      [c0 * res - h, r1 * res - h]], float) for r0, c0, r1, c1 in rect_partition(grids.walkable)]


def build_capture_bundle(g: GaussianScene, out: str | Path, cfg: CaptureCfg, name: str = "capture") -> CaptureBundle:
    """Estimate, rasterize, write the bundle folder `out` (Gaussians and mesh in the capture frame, the
    estimate as its alignment) and load it back with the route clearance, so a bundle written is one the
    tasks accept."""
    est = estimate_capture(g, cfg)
    al = est.alignment
    tile_g = g.transformed(torch.as_tensor(al.rotation, dtype=torch.float32),
                           torch.as_tensor(al.translation, dtype=torch.float32), al.scale)
    grids = capture_grids(tile_g, est.size, cfg)
    if not grids.walkable.any():
        raise CaptureError("no walkable ground was found in the tile: check the up direction (--up) and the scale "
                           "(--scale)")
    verts, faces = obstacle_mesh(grids, cfg)
    polygons = walkable_polygons(grids)
    layout = layout_from_mesh(verts, faces, est.size, polygons, [], grids.resolution, cfg.height_band)
    distance = route_distance(layout, cfg)
    routes = sample_routes(layout, cfg, distance)
    budget = None
    if cfg.max_gaussians is not None and g.num_gaussians > cfg.max_gaussians:
        keep = prune_to_budget(tile_g, cfg.max_gaussians, indices=True)
        points = np.concatenate([np.stack(r) for r in routes]) if routes else np.zeros((1, 2))
        budget = render_difference(tile_g, tile_g.select(keep), points)
        g = g.select(keep)
    inv = al.inverse()
    cap = lambda xy: inv.apply(np.c_[np.asarray(xy, float).reshape(-1, 2),
                                     np.zeros(len(np.asarray(xy).reshape(-1, 2)))])
    save_scene_bundle(out, name=name, gaussians=g, vertices=inv.apply(verts), faces=faces, size=est.size,
                      walkable=[cap(poly) for poly in polygons],
                      routes=[BundleRoute(cap(s)[0], cap(e)[0]) for s, e in routes], alignment=al,
                      extra={"grid_resolution": float(grids.resolution),
                             "obstacle_heights": [float(v) for v in cfg.height_band],
                             "route_distance": [float(v) for v in distance]})
    bundle = load_scene_bundle(out, route_clearance=cfg.route_clearance)
    return CaptureBundle(est, grids, bundle, tile_g.num_gaussians, budget)
