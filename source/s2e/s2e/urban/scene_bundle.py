"""Scene bundles: a real capture (3DGS + collision mesh + walkable area + routes) as an S2E-Urban block.

A bundle is a folder::

    bundle.yaml        the description below
    scene.ply          3D Gaussians (INRIA 3DGS PLY), in the capture frame
    collision.ply      triangle mesh (PLY or OBJ, e.g. Vid2Sim's TSDF mesh), in the capture frame

bundle.yaml (format_version 1)::

    format_version: 1
    name: my-street
    gaussians: scene.ply
    collision_mesh: collision.ply          # .ply or .obj
    alignment:                             # capture frame -> task frame: x_task = scale * R x + t
      rotation: [[1,0,0],[0,1,0],[0,0,1]]  # or  quaternion: [w, x, y, z]  or  yaw_deg: 30  (one of them; none =
      identity) translation: [0, 0, 0]
      scale: 1.0
    size: 50.0                             # side of the square tile in the task frame (m)
    grid_resolution: 0.25                  # optional, walkable grid cell (m)
    obstacle_heights: [0.05, 1.8]          # optional, geometry in this band above z = 0 blocks a cell
    crop_margin: 10.0                      # optional, Gaussians farther than this (m) outside the tile are dropped
    route_distance: [4.0, 18.0]            # optional, start-goal distance (m) of sampled episodes (default: the task's)
    walkable:
      polygons: [[[x, y], ...], ...]       # capture-frame points, [x, y, z] ([x, y] means z = 0 in the capture frame)
      holes: [[[x, y], ...]]               # optional
    routes:                                # optional; episodes start/goal are drawn from them
      - {start: [x, y], goal: [x, y], waypoints: [[x, y], ...]}

The task frame is the tile frame of every S2E term: z up, metres, origin at the tile centre, ground
at z = 0. Points may be 3-D because a capture frame's ground is often not its xy plane (y-up or
COLMAP frames): a 2-D point [x, y] is [x, y, 0] in the capture frame, which for a y-up capture is a
point off the ground plane, so such captures need [x, y, z] points. The loader applies the alignment
to everything, drops mesh triangles whose centre lies outside the tile (env tiles sit side by side)
and Gaussians farther than `crop_margin` outside it (the margin keeps what a camera near the tile
edge sees), and derives an `UrbanLayout` (see bundle_layout).

Checks beyond the file format, each a `SceneBundleError`: an alignment that puts the scene upside
down (most Gaussians below the ground and no collision geometry above it); a walkable area that
covers no free cell (naming the 2-D point convention when it applies); and, given the robot's route
clearance (`route_clearance`, the task's robot radius + margin), each route that has no path that
wide, reported in the tile frame (m) and the capture frame (units). `check_hosts_episodes` tells
whether a task can draw its episodes on a bundle (its routes, or starts and goals `route_distance`
apart on its walkable area), so that a bundle that cannot host them is one line before the env.
Every problem is one `SceneBundleError` line naming the file and what is wrong.
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch
import yaml
from scipy import ndimage

from ..rendering.gaussians import GaussianScene
from ..rendering.ply import PlyError, load_ply, save_ply
from ..rendering.transforms import quat_wxyz_to_matrix
from .bundle_layout import DEFAULT_HEIGHT_BAND, layout_from_mesh
from .layout import UrbanLayout
from .mesh_io import MESH_SUFFIXES, MeshError, read_mesh, write_mesh
from .routes import Episode, RouteCfg, RoutePlanner, polyline_length, resample_polyline

FORMAT_VERSION = 1
BUNDLE_FILE = "bundle.yaml"
KEYS = {"format_version", "name", "gaussians", "collision_mesh", "alignment", "size", "grid_resolution",
        "obstacle_heights", "crop_margin", "route_distance", "walkable", "routes"}
REQUIRED = ("format_version", "name", "gaussians", "collision_mesh", "size", "walkable")
DEFAULT_CROP_MARGIN = 10.0
"""Gaussians up to this far (m) outside the tile are kept: what a camera at the tile edge sees across it."""
UPSIDE_DOWN_HEIGHT = 0.25
"""Gaussians farther than this (m) below / above z = 0 are counted for the upside-down check."""


class SceneBundleError(ValueError):
    """A scene bundle that cannot be loaded: one line naming the file and the problem."""


@dataclass
class Alignment:
    """Similarity transform capture frame -> task frame: x_task = scale * rotation @ x + translation."""

    rotation: np.ndarray = field(default_factory=lambda: np.eye(3))
    translation: np.ndarray = field(default_factory=lambda: np.zeros(3))
    scale: float = 1.0

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * np.asarray(points, dtype=np.float64) @ self.rotation.T + self.translation

    def inverse(self) -> Alignment:
        return Alignment(self.rotation.T.copy(), -self.rotation.T @ self.translation / self.scale, 1.0 / self.scale)

    def as_yaml(self) -> dict:
        return {"rotation": self.rotation.tolist(), "translation": self.translation.tolist(),
                "scale": float(self.scale)}


@dataclass
class BundleRoute:
    """A start/goal pair (and optional via points) in the tile frame."""

    start: np.ndarray
    goal: np.ndarray
    waypoints: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    to_capture: Alignment | None = None
    """Task frame -> capture frame of the bundle it came from, so that messages can name both frames."""

    def describe(self, p: np.ndarray) -> str:
        """A tile-frame point as '(x, y) in the tile frame' plus its capture-frame coordinates when known."""
        text = f"({p[0]:.2f}, {p[1]:.2f}) in the tile frame (m)"
        if self.to_capture is not None:
            c = self.to_capture.apply(np.array([[p[0], p[1], 0.0]]))[0]
            text += f", ({c[0]:.3f}, {c[1]:.3f}, {c[2]:.3f}) in the capture frame (units)"
        return text

    @property
    def points(self) -> np.ndarray:
        return np.concatenate([self.start[None], self.waypoints, self.goal[None]])


@dataclass
class SceneBundle:
    """A loaded bundle, everything in the tile frame."""

    name: str
    path: Path
    size: float
    alignment: Alignment
    gaussians: GaussianScene
    vertices: np.ndarray
    """[V, 3] collision mesh vertices (float32)."""
    faces: np.ndarray
    """[F, 3] triangles (int32)."""
    routes: list[BundleRoute]
    layout: UrbanLayout
    num_cropped: int = 0
    """Gaussians dropped for lying more than crop_margin outside the tile."""
    route_distance: tuple[float, float] | None = None
    """(min, max) start-goal distance (m) of episodes sampled on the walkable area (None: the task's own)."""


def load_scene_bundle(path: str | Path, route_clearance: float | None = None) -> SceneBundle:
    """Read, validate and align a bundle folder (or its bundle.yaml).

    `route_clearance` (m; the task's `route.clearance`: robot radius + margin): when given, every route
    is planned with it here, so that a passage too narrow for the robot is reported at load, not when
    the env starts.
    """
    path = Path(path)
    folder = path.parent if path.name == BUNDLE_FILE else path
    spec_path = folder / BUNDLE_FILE
    if not folder.is_dir():
        raise SceneBundleError(f"{folder}: scene bundle folder not found")
    if not spec_path.is_file():
        raise SceneBundleError(f"{spec_path}: missing; a scene bundle folder needs a {BUNDLE_FILE}")
    try:
        raw = yaml.safe_load(spec_path.read_text())
    except yaml.YAMLError as err:
        raise SceneBundleError(f"{spec_path}: not valid YAML ({str(err).splitlines()[0]})") from None
    spec = parse_spec(raw, spec_path)
    al: Alignment = spec["alignment"]
    for key in ("gaussians", "collision_mesh"):
        if not (folder / spec[key]).is_file():
            raise SceneBundleError(f"{spec_path}: {key} file '{spec[key]}' not found in {folder}")
    try:
        gaussians = load_ply(folder / spec["gaussians"])
        vertices, faces = read_mesh(folder / spec["collision_mesh"])
    except (PlyError, MeshError) as err:
        raise SceneBundleError(str(err)) from None
    gaussians = gaussians.transformed(torch.as_tensor(al.rotation, dtype=torch.float32),
                                      torch.as_tensor(al.translation, dtype=torch.float32), al.scale)
    vertices = al.apply(vertices)
    size = spec["size"]
    _check_upright(gaussians, vertices, spec["obstacle_heights"][0], al, spec_path)
    keep = (gaussians.means[:, :2].abs() <= size / 2 + spec["crop_margin"]).all(dim=1)
    num_cropped = int((~keep).sum())
    if num_cropped:
        gaussians = gaussians.select(keep)
    centre = vertices[faces].mean(axis=1)
    faces = faces[(np.abs(centre[:, :2]) <= size / 2 + 1e-3).all(axis=1)]  # walls on the tile edge stay
    if len(faces) == 0:
        raise SceneBundleError(f"{spec_path}: no collision mesh triangle lies inside the {size} m tile after "
                               "alignment; check alignment and size")
    to_tile = lambda pts: al.apply(pts)[:, :2]
    polygons = [to_tile(p) for p in spec["walkable"]["polygons"]]
    holes = [to_tile(p) for p in spec["walkable"]["holes"]]
    layout = layout_from_mesh(vertices, faces, size, polygons, holes, spec["grid_resolution"], spec["obstacle_heights"])
    if not layout.walkable.any():
        hint = ""
        up = al.rotation.T[:, 2]  # the task frame's up axis in capture coordinates
        if spec["walkable"]["two_d"] and abs(up[2]) < 0.9:
            axis = "xyz"[int(np.abs(up).argmax())]
            hint = ("; the polygons are 2-D, and [x, y] means z = 0 in the capture frame, but this alignment's up "
                    f"axis is capture {'-' if up[int(np.abs(up).argmax())] < 0 else '+'}{axis}: give [x, y, z] points "
                    "on the ground")
        elif spec["walkable"]["two_d"]:
            hint = "; note that 2-D points [x, y] mean z = 0 in the capture frame"
        raise SceneBundleError(f"{spec_path}: the walkable polygons cover no free cell of the tile after "
                               f"alignment{hint}")
    if len(layout.walk_rects) == 0:
        raise SceneBundleError(f"{spec_path}: the walkable area has no part wide enough for a pedestrian")
    routes = []
    for i, r in enumerate(spec["routes"]):
        route = BundleRoute(to_tile(r["start"][None])[0], to_tile(r["goal"][None])[0],
                            to_tile(r["waypoints"]) if len(r["waypoints"]) else np.zeros((0, 2)), al.inverse())
        _check_route(route, layout, i, spec_path)
        routes.append(route)
    if route_clearance is not None and routes:
        planner = RoutePlanner(layout, RouteCfg(clearance=float(route_clearance)))
        for i, route in enumerate(routes):
            try:
                plan_bundle_route(planner, route, i)
            except SceneBundleError as err:
                raise SceneBundleError(f"{spec_path}: {err}") from None
    used = np.unique(faces)
    remap = np.zeros(len(vertices), np.int64)
    remap[used] = np.arange(len(used))
    return SceneBundle(spec["name"], folder, size, al, gaussians, vertices[used].astype(np.float32),
                       remap[faces].astype(np.int32), routes, layout, num_cropped, spec["route_distance"])


def _check_upright(gaussians: GaussianScene, vertices: np.ndarray, low: float, al: Alignment, spec_path: Path) -> None:
    """Refuse an alignment that turns the scene upside down: most Gaussians off the ground lie below
    z = 0 and no collision geometry rises above the ground (an upright street has walls above it)."""
    z = gaussians.means[:, 2]
    below = int((z < -UPSIDE_DOWN_HEIGHT).sum())
    above = int((z > UPSIDE_DOWN_HEIGHT).sum())
    if below > above and float(vertices[:, 2].max()) < low:
        up = al.rotation.T[:, 2]
        k = int(np.abs(up).argmax())
        raise SceneBundleError(
            f"{spec_path}: the alignment turns the scene upside down: {below} of {below + above} Gaussians off the "
            "ground lie below z = 0 and no collision geometry rises above it; the capture's up axis is the opposite of "
            f"the one the alignment maps to +z (capture {'-' if up[k] < 0 else '+'}{'xyz'[k]}): rotate 180 degrees "
            "more about a horizontal axis (e.g. negate the last two rows of alignment.rotation) and negate "
            "translation's z")


def _check_route(route: BundleRoute, layout: UrbanLayout, index: int, spec_path: Path) -> None:
    names = ["start"] + [f"waypoint {k}" for k in range(len(route.waypoints))] + ["goal"]
    for name, p in zip(names, route.points):
        outside = bool((np.abs(p) > layout.size / 2).any())
        ij = layout.cell_of(p)
        if outside or not layout.walkable[ij[0], ij[1]]:
            where = ("outside the tile" if outside
                     else "not on the walkable area (outside the polygons or on a cell the collision mesh occupies)")
            raise SceneBundleError(f"{spec_path}: route {index} {name} {route.describe(p)} is {where}")


def parse_spec(raw, spec_path: Path | str = BUNDLE_FILE) -> dict:
    """Validate a bundle.yaml mapping; returns it with numpy arrays, defaults and an `Alignment`."""
    def fail(msg):
        raise SceneBundleError(f"{spec_path}: {msg}")

    if not isinstance(raw, dict):
        fail(f"expected a mapping of keys, got {type(raw).__name__}")
    unknown = sorted(set(raw) - KEYS)
    if unknown:
        fail(f"unknown key '{unknown[0]}'; the keys are {', '.join(sorted(KEYS))}")
    missing = [k for k in REQUIRED if k not in raw]
    if missing:
        fail(f"missing key '{missing[0]}'")
    if raw["format_version"] != FORMAT_VERSION:
        fail(f"unsupported format_version {raw['format_version']!r}; this S2E reads format_version {FORMAT_VERSION}")
    out = {"format_version": FORMAT_VERSION}
    for key in ("name", "gaussians", "collision_mesh"):
        if not isinstance(raw[key], str) or not raw[key]:
            fail(f"{key} must be a non-empty string, got {raw[key]!r}")
        out[key] = raw[key]
    if Path(raw["collision_mesh"]).suffix.lower() not in MESH_SUFFIXES:
        fail(f"collision_mesh '{raw['collision_mesh']}' must be a {' or '.join(MESH_SUFFIXES)} file")
    out["size"] = _positive(raw["size"], "size", fail)
    out["grid_resolution"] = _positive(raw.get("grid_resolution", 0.25), "grid_resolution", fail)
    band = _array(raw.get("obstacle_heights", list(DEFAULT_HEIGHT_BAND)), "obstacle_heights", fail, shape=(2,))
    if not 0 <= band[0] < band[1]:
        fail(f"obstacle_heights must be [low, high] with 0 <= low < high, got {band.tolist()}")
    out["obstacle_heights"] = (float(band[0]), float(band[1]))
    margin = raw.get("crop_margin", DEFAULT_CROP_MARGIN)
    if isinstance(margin, bool) or not isinstance(margin, (int, float)) or not math.isfinite(margin) or margin < 0:
        fail(f"crop_margin must be a number >= 0 (m), got {margin!r}")
    out["crop_margin"] = float(margin)
    out["route_distance"] = None
    if raw.get("route_distance") is not None:
        lo, hi = _array(raw["route_distance"], "route_distance", fail, shape=(2,))
        if not 0 < lo < hi:
            fail(f"route_distance must be [min, max] metres with 0 < min < max, got {[float(lo), float(hi)]}")
        out["route_distance"] = (float(lo), float(hi))
    out["alignment"] = _alignment(raw.get("alignment") or {}, fail)
    walk = raw["walkable"]
    if not isinstance(walk, dict) or set(walk) - {"polygons", "holes"} or "polygons" not in walk:
        fail("walkable must be a mapping with 'polygons' (a list of polygons) and optional 'holes'")
    out["walkable"] = {}
    for key in ("polygons", "holes"):
        polys = walk.get(key) or []
        if not isinstance(polys, list) or (key == "polygons" and not polys):
            fail(f"walkable.{key} must be a {'non-empty ' if key == 'polygons' else ''}list of polygons")
        out["walkable"][key] = [_points(p, f"walkable.{key}[{i}]", fail, min_count=3) for i, p in enumerate(polys)]
    out["walkable"]["two_d"] = any(len(q) == 2 for p in walk["polygons"] if isinstance(p, list) for q in p
                                   if isinstance(q, (list, tuple)))
    routes = raw.get("routes") or []
    if not isinstance(routes, list):
        fail("routes must be a list of {start, goal, waypoints} mappings")
    out["routes"] = []
    for i, r in enumerate(routes):
        if not isinstance(r, dict) or not {"start", "goal"} <= set(r) or set(r) - {"start", "goal", "waypoints"}:
            fail(f"routes[{i}] must be a mapping with start, goal and optional waypoints")
        out["routes"].append({
            "start": _points([r["start"]], f"routes[{i}].start", fail)[0],
            "goal": _points([r["goal"]], f"routes[{i}].goal", fail)[0],
            "waypoints": _points(r.get("waypoints") or [], f"routes[{i}].waypoints", fail),
        })
    return out


def _positive(value, name, fail) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        fail(f"{name} must be a positive number, got {value!r}")
    return float(value)


def _array(value, name, fail, shape=None) -> np.ndarray:
    try:
        a = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        fail(f"{name} must be numbers, got {value!r}")
    if shape is not None and a.shape != shape:
        fail(f"{name} must have shape {list(shape)}, got {list(a.shape)}")
    if not np.isfinite(a).all():
        fail(f"{name} has non-finite values")
    return a


def _points(value, name, fail, min_count: int = 0) -> np.ndarray:
    """A list of [x, y] or [x, y, z] points as [K, 3] (z = 0 for 2-D points)."""
    if not isinstance(value, list) or not all(isinstance(p, (list, tuple)) and len(p) in (2, 3) for p in value):
        fail(f"{name} must be a list of [x, y] or [x, y, z] points")
    if len(value) < min_count:
        fail(f"{name} has {len(value)} points, a polygon needs at least {min_count}")
    pts = np.zeros((len(value), 3))
    for k, p in enumerate(value):
        pts[k, : len(p)] = _array(p, f"{name}[{k}]", fail)
    return pts


def _alignment(raw, fail) -> Alignment:
    if not isinstance(raw, dict):
        fail("alignment must be a mapping with rotation|quaternion|yaw_deg, translation and scale")
    unknown = sorted(set(raw) - {"rotation", "quaternion", "yaw_deg", "translation", "scale"})
    if unknown:
        fail(f"unknown key 'alignment.{unknown[0]}'; use rotation, quaternion or yaw_deg, translation, scale")
    given = [k for k in ("rotation", "quaternion", "yaw_deg") if k in raw]
    if len(given) > 1:
        fail(f"alignment gives both {given[0]} and {given[1]}; give one rotation")
    rot = np.eye(3)
    if "rotation" in raw:
        rot = _array(raw["rotation"], "alignment.rotation", fail, shape=(3, 3))
        err = float(np.abs(rot @ rot.T - np.eye(3)).max())
        if err > 1e-4:
            fail(f"alignment.rotation is not a rotation matrix (R R^T differs from the identity by {err:.3g}); put the "
                 "scale in alignment.scale")
        if np.linalg.det(rot) < 0:
            fail("alignment.rotation is a reflection (determinant -1), not a rotation")
    elif "quaternion" in raw:
        q = _array(raw["quaternion"], "alignment.quaternion", fail, shape=(4,))
        norm = float(np.linalg.norm(q))
        if norm < 1e-9:
            fail("alignment.quaternion is zero")
        rot = quat_wxyz_to_matrix(q / norm)
    elif "yaw_deg" in raw:
        yaw = math.radians(float(_array(raw["yaw_deg"], "alignment.yaw_deg", fail, shape=())))
        rot = np.array([[math.cos(yaw), -math.sin(yaw), 0.0], [math.sin(yaw), math.cos(yaw), 0.0], [0.0, 0.0, 1.0]])
    t = _array(raw.get("translation", [0.0, 0.0, 0.0]), "alignment.translation", fail, shape=(3,))
    scale = _positive(raw.get("scale", 1.0), "alignment.scale", fail)
    return Alignment(rot, t, scale)


def save_scene_bundle(
    folder: str | Path,
    *,
    name: str,
    gaussians: GaussianScene,
    vertices: np.ndarray,
    faces: np.ndarray,
    size: float,
    walkable: list[np.ndarray],
    holes: list[np.ndarray] = (),
    routes: list[BundleRoute] | list[tuple] = (),
    alignment: Alignment | None = None,
    mesh_file: str = "collision.ply",
    extra: dict | None = None,
) -> Path:
    """Write a bundle folder atomically. Everything is given in the capture frame; `alignment` maps it
    to the task frame. The folder is built beside the target and renamed into place (an existing
    bundle there is replaced only once the new one is complete)."""
    folder = Path(folder)
    alignment = alignment or Alignment()
    pts = lambda a: np.asarray(a, dtype=np.float64).tolist()
    spec = {
        "format_version": FORMAT_VERSION,
        "name": name,
        "gaussians": "scene.ply",
        "collision_mesh": mesh_file,
        "alignment": alignment.as_yaml(),
        "size": float(size),
        "walkable": {"polygons": [pts(p) for p in walkable],
                     **({"holes": [pts(h) for h in holes]} if len(holes) else {})},
        "routes": [],
        **(extra or {}),
    }
    for r in routes:
        start, goal, via = ((r.start, r.goal, r.waypoints) if isinstance(r, BundleRoute)
                            else (r[0], r[1], r[2] if len(r) > 2 else []))
        spec["routes"].append({"start": pts(start), "goal": pts(goal), **({"waypoints": pts(via)} if len(via) else {})})
    parse_spec(spec, folder / BUNDLE_FILE)  # the writer never produces a bundle the loader rejects
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        save_ply(gaussians, tmp / "scene.ply")
        write_mesh(tmp / mesh_file, vertices, faces)
        (tmp / BUNDLE_FILE).write_text(yaml.safe_dump(spec, sort_keys=False, default_flow_style=None))
        old = None
        if folder.exists():
            old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
            os.replace(folder, old)
        os.replace(tmp, folder)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return folder


def bundle_with_gaussians(folder: str | Path, gaussians: GaussianScene, out: str | Path) -> Path:
    """Write the bundle `folder` (its bundle.yaml and collision mesh: everything derived from a capture) with these
    Gaussians (the capture itself, in the capture frame) to `out`, atomically. This is how a capture whose bytes may
    not be redistributed becomes the same bundle on every machine: the derived files travel, the capture is fetched."""
    folder = Path(folder)
    spec_path = folder / BUNDLE_FILE
    if not spec_path.is_file():
        raise SceneBundleError(f"{spec_path}: missing; a scene bundle folder needs a {BUNDLE_FILE}")
    raw = yaml.safe_load(spec_path.read_text())
    parse_spec(raw, spec_path)
    try:
        vertices, faces = read_mesh(folder / raw["collision_mesh"])
    except MeshError as err:
        raise SceneBundleError(str(err)) from None
    walk = raw["walkable"]
    extra = {k: raw[k] for k in ("grid_resolution", "obstacle_heights", "crop_margin", "route_distance") if k in raw}
    al = _alignment(raw.get("alignment") or {}, lambda msg: None)
    return save_scene_bundle(out, name=raw["name"], gaussians=gaussians, vertices=vertices, faces=faces,
                             size=raw["size"], walkable=walk["polygons"], holes=walk.get("holes") or [],
                             routes=[(r["start"], r["goal"], r.get("waypoints") or []) for r in raw.get("routes")
                                     or []],
                             alignment=al, mesh_file=raw["collision_mesh"], extra=extra)


def plan_bundle_route(planner: RoutePlanner, route: BundleRoute, index: int,
                      max_snap: float = 1.5) -> tuple[np.ndarray, float]:
    """Reference route (resampled [num_points, 2]) and its length for one bundle route.

    The route is planned leg by leg through its waypoints with the task's planner. A point closer to
    an obstacle than the planner's clearance is moved to the nearest free cell (at most `max_snap`
    m away), so that a hand-placed start next to a wall still gives a robot spawn pose that is free.
    """
    free = np.flatnonzero(planner.free.ravel())
    centers = planner.layout.cell_centers().reshape(-1, 2)[free]
    pts = []
    for p in route.points:
        ij = planner.layout.cell_of(p)
        if planner.free[ij[0], ij[1]]:
            pts.append(np.asarray(p, dtype=np.float64))
            continue
        d = np.linalg.norm(centers - p, axis=1) if len(centers) else np.array([np.inf])
        k = int(d.argmin())
        if d[k] > max_snap:
            raise SceneBundleError(f"scene bundle route {index}: {route.describe(p)} is more than {max_snap} m from "
                                   f"any cell with {_clearance_text(planner, route)}; move the point to a wider place "
                                   "or lower the clearance")
        pts.append(centers[k])
    path = [pts[0]]
    for a, b in zip(pts[:-1], pts[1:]):
        leg = planner.plan(a, b)
        if leg is None:
            raise SceneBundleError(f"scene bundle route {index}: no path with {_clearance_text(planner, route)} from "
                                   f"{route.describe(a)} to {route.describe(b)}; the robot needs passages about "
                                   f"{2 * planner.cfg.clearance + planner.layout.resolution:.1f} m wide: widen the "
                                   "walkable area or move the route")
        path.extend(leg[1:])
    path = np.asarray(path)
    return resample_polyline(path, planner.cfg.num_points).astype(np.float32), polyline_length(path)


def _clearance_text(planner: RoutePlanner, route: BundleRoute) -> str:
    text = f"{planner.cfg.clearance} m clearance (route.clearance: robot radius + margin)"
    if route.to_capture is not None:
        text += f" = {planner.cfg.clearance * route.to_capture.scale:.3g} capture units"
    return text


def bundle_route_cfg(route: RouteCfg, bundle: SceneBundle) -> RouteCfg:
    """The task's route settings on this bundle: its start-goal distances when the bundle gives them."""
    if bundle.route_distance is None:
        return route
    return replace(route, min_distance=bundle.route_distance[0], max_distance=bundle.route_distance[1])


def check_hosts_episodes(bundle: SceneBundle, route: RouteCfg) -> None:
    """SceneBundleError (one line) when a task with these route settings cannot draw an episode on the bundle:
    each of its routes must have a path with the route clearance (planned here), or, without routes, a start
    and goal the bundle's (else the task's) route distance apart must be connected on its walkable area."""
    route = bundle_route_cfg(route, bundle)
    planner = RoutePlanner(bundle.layout, route)
    spec_path = bundle.path / BUNDLE_FILE
    if bundle.routes:
        for i, r in enumerate(bundle.routes):
            try:
                plan_bundle_route(planner, r, i)
            except SceneBundleError as err:
                raise SceneBundleError(f"{spec_path}: {err}") from None
        return
    try:
        planner.sample_episode(np.random.default_rng(0))
    except RuntimeError:
        free = planner.free
        raise SceneBundleError(
            f"{spec_path}: its walkable area holds no start and goal {route.min_distance:g}-{route.max_distance:g} m "
            f"apart connected with {route.clearance:g} m clearance ({free.sum() * bundle.layout.resolution ** 2:.0f} "
            f"m^2 clear of obstacles, {free_extent(free, bundle.layout.resolution):.1f} m across its largest part): "
            "give the bundle routes or a route_distance that fits (make_bundle_from_capture.py writes both), or a "
            "wider walkable area") from None


def free_extent(free: np.ndarray, resolution: float) -> float:
    """Diagonal (m) of the bounding box of the largest 8-connected part of a grid mask (0 when empty)."""
    labels, k = ndimage.label(free, np.ones((3, 3), bool))
    if not k:
        return 0.0
    part = np.argmax(ndimage.sum(free, labels, range(1, k + 1))) + 1
    rows, cols = np.nonzero(labels == part)
    return float(math.hypot(rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) * resolution)


class BundleEpisodes:
    """Episodes drawn from a bundle's routes: each route is planned once with the task's planner,
    and every reset picks one at random (from the env's generator, so runs repeat under a seed)."""

    def __init__(self, planner: RoutePlanner, routes: list[BundleRoute]):
        if not routes:
            raise ValueError("BundleEpisodes needs at least one bundle route")
        self.planner = planner
        planned = [plan_bundle_route(planner, r, k) for k, r in enumerate(routes)]
        self.routes = np.stack([p for p, _ in planned])
        """[K, num_points, 2] reference routes; routes[k, 0] and routes[k, -1] are route k's start and goal."""
        self.lengths = [length for _, length in planned]

    def sample(self, rng: np.random.Generator) -> tuple[int, Episode]:
        """(route index, episode); the start yaw faces along the route, +- the planner's start_yaw_noise, as sampled
        episodes do."""
        k = int(rng.integers(len(self.routes)))
        route = self.routes[k]
        heading = route[min(2, len(route) - 1)] - route[0]
        noise = self.planner.cfg.start_yaw_noise
        yaw = float(np.arctan2(heading[1], heading[0]) + rng.uniform(-noise, noise))
        return k, Episode(route[0].copy(), yaw, route[-1].copy(), route.copy(), self.lengths[k])
