"""Procedural URBAN-SIM-style city blocks: roads, sidewalks with curbs, crosswalks, facades, furniture.

A layout is pure data (numpy), built from a seed: the same seed gives the same block. The Isaac Lab
extension turns it into collision geometry; planners, pedestrians, rewards and (later) the Gaussian
renderer read the same data, so everything agrees on where the walkable area and the obstacles are.
Coordinates are metres in the tile frame, origin at the tile centre, z up.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np
from scipy import ndimage

# Semantic classes of the ground map (also the renderer's material ids).
ROAD, SIDEWALK, CROSSWALK, BUILDING = 0, 1, 2, 3
# Obstacle shapes.
BOX, CYLINDER = 0, 1
# Obstacle kinds: street furniture and the obstacle spawner share one catalogue.
OBSTACLE_KINDS = ("box", "bin", "bench", "pole", "tree", "scooter")
KIND_SHAPE = {"box": BOX, "bin": CYLINDER, "bench": BOX, "pole": CYLINDER, "tree": CYLINDER, "scooter": BOX}
# Nominal (half_x, half_y, height) of each kind; the spawner scales them by its size range.
KIND_SIZE = {
    "box": (0.35, 0.35, 0.7),
    "bin": (0.3, 0.3, 0.95),
    "bench": (0.8, 0.28, 0.5),
    "pole": (0.1, 0.1, 4.0),
    "tree": (0.22, 0.22, 3.5),
    "scooter": (0.6, 0.15, 1.1),
}
OBSTACLE_REGIONS = ("sidewalk", "walkable")


@dataclass
class ObstacleSpawnCfg:
    """Static obstacles scattered on the walkable area (the 'obstacles' scene content)."""

    density: float = 0.0
    """Obstacles per 100 m^2 of walkable area (0 disables the spawner)."""
    kinds: tuple[str, ...] = OBSTACLE_KINDS
    size_range: tuple[float, float] = (0.8, 1.3)
    """Uniform scale applied to each kind's nominal footprint."""
    region: str = "sidewalk"
    """'sidewalk' (never on crosswalks) or 'walkable' (sidewalks and crosswalks)."""
    min_gap: float = 1.0
    """Free space kept between two obstacles so that a robot can pass between them (m)."""


@dataclass
class UrbanLayoutCfg:
    """Size and randomization ranges of one block (one env tile)."""

    size: float = 50.0
    """Side of the square block (m)."""
    road_width: tuple[float, float] = (6.0, 9.0)
    """Range of the carriageway's width (m), drawn per road."""
    sidewalk_width: tuple[float, float] = (3.5, 5.0)
    """Range of the sidewalks' width (m) on each side of a road."""
    crossing_road_prob: float = 0.7
    """Probability that a second road crosses the first (an intersection instead of a straight street)."""
    crosswalk_width: float = 3.0
    """Width (m) of the zebra crossings linking the sidewalks across a road."""
    curb_width: float = 0.15
    curb_height: float = 0.12
    """Curb stones along the road edges (m); crosswalks leave gaps in them."""
    furniture_strip: float = 0.7
    """Strip along the curb where poles, trees, bins and benches stand (m)."""
    furniture_spacing: tuple[float, float] = (7.0, 13.0)
    """Range of the gaps (m) between consecutive pieces of street furniture in the strip."""
    furniture_kinds: tuple[str, ...] = ("pole", "tree", "bin", "bench")
    """The furniture mix: each piece is one of these kinds, drawn uniformly (repeat a kind to make it commoner)."""
    building_height: tuple[float, float] = (6.0, 22.0)
    building_width: tuple[float, float] = (8.0, 20.0)
    """Ranges (m) of the facades' height and frontage behind the sidewalks."""
    grid_resolution: float = 0.25
    """Cell (m) of the semantic and walkable grids."""
    obstacles: ObstacleSpawnCfg = field(default_factory=ObstacleSpawnCfg)


@dataclass
class UrbanLayout:
    """One generated block. Arrays are float32/int; boxes are (cx, cy, sx, sy, height) full sizes."""

    seed: int
    size: float
    walk_rects: np.ndarray
    """[R, 4] axis-aligned walkable rectangles (xmin, ymin, xmax, ymax): sidewalks then crosswalks."""
    walk_kind: np.ndarray
    """[R] SIDEWALK or CROSSWALK."""
    road_rects: np.ndarray
    """[Q, 4] road rectangles."""
    curbs: np.ndarray
    """[C, 5] curb boxes (cx, cy, sx, sy, height)."""
    buildings: np.ndarray
    """[B, 5] building boxes (cx, cy, sx, sy, height)."""
    obstacles: np.ndarray
    """[O, 7] (cx, cy, yaw, half_x, half_y, height, shape): furniture first, then spawned obstacles."""
    obstacle_kind: np.ndarray
    """[O] index into OBSTACLE_KINDS."""
    num_furniture: int
    semantic: np.ndarray
    """[H, W] uint8 ground class per cell (ROAD/SIDEWALK/CROSSWALK/BUILDING); row = y, col = x."""
    walkable: np.ndarray
    """[H, W] bool: on a sidewalk or crosswalk and outside every obstacle footprint."""
    resolution: float

    @property
    def origin(self) -> tuple[float, float]:
        """Tile-frame coordinates of the corner of cell (0, 0)."""
        return (-self.size / 2, -self.size / 2)

    def cell_of(self, xy: np.ndarray) -> np.ndarray:
        """Integer (row, col) of tile-frame points [..., 2], clipped to the grid."""
        n = self.walkable.shape[0]
        ij = np.floor((np.asarray(xy)[..., ::-1] + self.size / 2) / self.resolution).astype(np.int64)
        return np.clip(ij, 0, n - 1)

    def cell_centers(self) -> np.ndarray:
        """[H, W, 2] tile-frame (x, y) of every cell centre."""
        n = self.walkable.shape[0]
        c = (np.arange(n) + 0.5) * self.resolution - self.size / 2
        xx, yy = np.meshgrid(c, c, indexing="xy")
        return np.stack([xx, yy], axis=-1)


def generate_layout(cfg: UrbanLayoutCfg, seed: int) -> UrbanLayout:
    """Build one block from a seed (deterministic)."""
    rng = np.random.default_rng(seed)
    half = cfg.size / 2
    roads: list[tuple[str, float, float]] = []  # (axis the road runs along, centre offset, half width)
    roads.append(("x", rng.uniform(-0.2, 0.2) * cfg.size, rng.uniform(*cfg.road_width) / 2))
    if rng.random() < cfg.crossing_road_prob:
        roads.append(("y", rng.uniform(-0.2, 0.2) * cfg.size, rng.uniform(*cfg.road_width) / 2))
    sidewalk = [rng.uniform(*cfg.sidewalk_width) for _ in roads]

    road_rects, walk_rects, walk_kind, curbs = [], [], [], []
    cross = roads[1] if len(roads) > 1 else None
    for (axis, off, hw), ws in zip(roads, sidewalk):
        road_rects.append(_oriented(axis, -half, half, off - hw, off + hw))
        # The crossing road cuts this road's sidewalks into two segments.
        spans = [(-half, half)]
        if cross is not None:
            _, other_off, other_hw = cross if axis == "x" else roads[0]
            spans = [(-half, other_off - other_hw), (other_off + other_hw, half)]
        for lo, hi in spans:
            for side in (-1.0, 1.0):
                inner = off + side * hw
                outer = inner + side * ws
                walk_rects.append(_oriented(axis, lo, hi, min(inner, outer), max(inner, outer)))
                walk_kind.append(SIDEWALK)
    # Crosswalks: beside the intersection (or mid-block on a straight street), extended into the
    # sidewalks on both ends so that the walkable rectangles overlap and form one connected area.
    crossings: list[tuple[str, float, float, float]] = []  # (road axis, position along it, road off, hw)
    axis0, off0, hw0 = roads[0]
    if cross is None:
        crossings.append(("x", rng.uniform(-0.3, 0.3) * cfg.size, off0, hw0))
    else:
        _, coff, chw = cross
        cw_side = sidewalk[1]
        for side in (-1.0, 1.0):
            crossings.append(("x", coff + side * (chw + cw_side / 2), off0, hw0))
        ws0 = sidewalk[0]
        for side in (-1.0, 1.0):
            crossings.append(("y", off0 + side * (hw0 + ws0 / 2), coff, chw))
    ext = 0.5
    for axis, pos, off, hw in crossings:
        lo, hi = pos - cfg.crosswalk_width / 2, pos + cfg.crosswalk_width / 2
        walk_rects.append(_oriented(axis, lo, hi, off - hw - ext, off + hw + ext))
        walk_kind.append(CROSSWALK)

    # Curbs: along both road edges, with gaps at crosswalks (curb ramps).
    for (axis, off, hw), _ in zip(roads, sidewalk):
        gaps = [(p - cfg.crosswalk_width / 2, p + cfg.crosswalk_width / 2) for a, p, _, _ in crossings if a == axis]
        if cross is not None and axis == "x":
            gaps.append((cross[1] - cross[2] - cfg.curb_width, cross[1] + cross[2] + cfg.curb_width))
        if cross is not None and axis == "y":
            gaps.append((off0 - hw0 - cfg.curb_width, off0 + hw0 + cfg.curb_width))
        for lo, hi in _subtract_intervals((-half, half), gaps):
            if hi - lo < 0.3:
                continue
            for side in (-1.0, 1.0):
                edge = off + side * (hw - cfg.curb_width / 2)
                cx, cy, sx, sy = _oriented_box(axis, (lo + hi) / 2, hi - lo, edge, cfg.curb_width)
                curbs.append((cx, cy, sx, sy, cfg.curb_height))

    walk_rects_a = np.asarray(walk_rects, dtype=np.float32)
    buildings = _buildings(cfg, rng, roads, sidewalk, half)
    furniture, furniture_kind = _furniture(cfg, rng, roads, sidewalk, crossings, cross, half)
    grid_n = int(round(cfg.size / cfg.grid_resolution))
    centers = (np.arange(grid_n) + 0.5) * cfg.grid_resolution - half
    xx, yy = np.meshgrid(centers, centers, indexing="xy")
    pts = np.stack([xx, yy], axis=-1)
    semantic = np.full((grid_n, grid_n), BUILDING, dtype=np.uint8)
    for r in road_rects:
        semantic[_in_rect(pts, r)] = ROAD
    for r, k in zip(walk_rects_a, walk_kind):
        if k == SIDEWALK:
            semantic[_in_rect(pts, r)] = SIDEWALK
    for r, k in zip(walk_rects_a, walk_kind):
        if k == CROSSWALK:
            semantic[_in_rect(pts, r) & (semantic == ROAD)] = CROSSWALK

    obstacles, kinds = _spawn_obstacles(cfg, rng, walk_rects_a, np.asarray(walk_kind), furniture)
    all_obs = np.concatenate([furniture, obstacles], axis=0) if len(obstacles) else furniture
    all_kind = np.concatenate([furniture_kind, kinds]).astype(np.int64)
    # A cell an obstacle touches anywhere is blocked: inflate by half a cell diagonal, or thin poles
    # (narrower than a cell) would fall between cell centres and vanish from the grid.
    walkable = (np.isin(semantic, (SIDEWALK, CROSSWALK))
                & ~footprint_mask(pts, all_obs, inflate=cfg.grid_resolution * 0.71))
    return UrbanLayout(
        seed=seed,
        size=cfg.size,
        walk_rects=walk_rects_a,
        walk_kind=np.asarray(walk_kind, dtype=np.int64),
        road_rects=np.asarray(road_rects, dtype=np.float32),
        curbs=np.asarray(curbs, dtype=np.float32).reshape(-1, 5),
        buildings=buildings,
        obstacles=all_obs.astype(np.float32),
        obstacle_kind=all_kind,
        num_furniture=len(furniture),
        semantic=semantic,
        walkable=walkable,
        resolution=cfg.grid_resolution,
    )


def footprint_mask(pts: np.ndarray, obstacles: np.ndarray, inflate: float = 0.0) -> np.ndarray:
    """Boolean mask of points [..., 2] inside any obstacle footprint (inflated by `inflate`)."""
    mask = np.zeros(pts.shape[:-1], dtype=bool)
    for cx, cy, yaw, hx, hy, _, shape in obstacles:
        d = pts - np.array([cx, cy])
        if shape == CYLINDER:
            mask |= np.hypot(d[..., 0], d[..., 1]) <= hx + inflate
        else:
            c, s = np.cos(yaw), np.sin(yaw)
            lx, ly = c * d[..., 0] + s * d[..., 1], -s * d[..., 0] + c * d[..., 1]
            mask |= (np.abs(lx) <= hx + inflate) & (np.abs(ly) <= hy + inflate)
    return mask


def _oriented(axis: str, lo: float, hi: float, a: float, b: float) -> tuple[float, float, float, float]:
    """Rect spanning [lo, hi] along the road axis and [a, b] across it."""
    return (lo, a, hi, b) if axis == "x" else (a, lo, b, hi)


def _oriented_box(axis: str, along: float, length: float, across: float, width: float):
    return (along, across, length, width) if axis == "x" else (across, along, width, length)


def _in_rect(pts: np.ndarray, r) -> np.ndarray:
    return (pts[..., 0] >= r[0]) & (pts[..., 0] <= r[2]) & (pts[..., 1] >= r[1]) & (pts[..., 1] <= r[3])


def _subtract_intervals(span: tuple[float, float], gaps: list[tuple[float, float]]) -> list[tuple[float, float]]:
    out = [span]
    for g0, g1 in gaps:
        nxt = []
        for a, b in out:
            if g1 <= a or g0 >= b:
                nxt.append((a, b))
                continue
            if g0 > a:
                nxt.append((a, g0))
            if g1 < b:
                nxt.append((g1, b))
        out = nxt
    return out


def _buildings(cfg, rng, roads, sidewalk, half) -> np.ndarray:
    """Facades lining the outer edge of every sidewalk, filling the block interiors."""
    # Block interiors are the tile minus roads and sidewalks: split the tile by the road bands.
    bands = {"x": [(-half, half)], "y": [(-half, half)]}
    for (axis, off, hw), ws in zip(roads, sidewalk):
        across = "y" if axis == "x" else "x"
        bands[across] = _subtract_intervals_list(bands[across], (off - hw - ws, off + hw + ws))
    out = []
    for x0, x1 in bands["x"]:
        for y0, y1 in bands["y"]:
            if x1 - x0 < 1.0 or y1 - y0 < 1.0:
                continue
            # Split the block along its longer side into buildings of random widths.
            along_x = (x1 - x0) >= (y1 - y0)
            lo, hi = (x0, x1) if along_x else (y0, y1)
            cursor = lo
            while hi - cursor > 0.5:
                w = min(rng.uniform(*cfg.building_width), hi - cursor)
                if hi - (cursor + w) < 3.0:
                    w = hi - cursor
                h = rng.uniform(*cfg.building_height)
                if along_x:
                    out.append((cursor + w / 2, (y0 + y1) / 2, w, y1 - y0, h))
                else:
                    out.append(((x0 + x1) / 2, cursor + w / 2, x1 - x0, w, h))
                cursor += w
    return np.asarray(out, dtype=np.float32).reshape(-1, 5)


def _subtract_intervals_list(intervals, gap):
    out = []
    for span in intervals:
        out.extend(_subtract_intervals(span, [gap]))
    return out


def _furniture(cfg, rng, roads, sidewalk, crossings, cross, half):
    """Poles, trees, bins and benches in the strip along each curb, clear of crosswalk ends."""
    kinds = cfg.furniture_kinds
    unknown = [k for k in kinds if k not in OBSTACLE_KINDS]
    if unknown or not kinds:
        raise ValueError(f"furniture_kinds={kinds!r}: name at least one kind, each one of {OBSTACLE_KINDS}")
    out, out_kind = [], []
    for (axis, off, hw), ws in zip(roads, sidewalk):
        blocked = [(p - cfg.crosswalk_width / 2 - 1.0, p + cfg.crosswalk_width / 2 + 1.0) for a, p, _, _ in crossings
                   if a == axis]
        if cross is not None:
            other = cross if axis == "x" else roads[0]
            other_ws = sidewalk[1] if axis == "x" else sidewalk[0]
            blocked.append((other[1] - other[2] - other_ws - 1.0, other[1] + other[2] + other_ws + 1.0))
        for side in (-1.0, 1.0):
            across = off + side * (hw + cfg.furniture_strip / 2)
            pos = -half + rng.uniform(1.0, cfg.furniture_spacing[1])
            while pos < half - 1.0:
                if not any(a <= pos <= b for a, b in blocked):
                    kind = kinds[rng.integers(len(kinds))]
                    hx, hy, h = KIND_SIZE[kind]
                    if kind == "bench":  # benches face the sidewalk: long side along the road
                        hx, hy = min(hx, 0.8), min(hy, cfg.furniture_strip / 2 - 0.02)
                    yaw = 0.0 if axis == "x" else np.pi / 2
                    cx, cy = (pos, across) if axis == "x" else (across, pos)
                    out.append((cx, cy, yaw, hx, hy, h, KIND_SHAPE[kind]))
                    out_kind.append(OBSTACLE_KINDS.index(kind))
                pos += rng.uniform(*cfg.furniture_spacing)
    return np.asarray(out, dtype=np.float32).reshape(-1, 7), np.asarray(out_kind, dtype=np.int64)


def _spawn_obstacles(cfg, rng, walk_rects, walk_kind, furniture):
    """Rejection-sample static obstacles on the walkable area, keeping `min_gap` between them."""
    oc = cfg.obstacles
    if oc.region not in OBSTACLE_REGIONS:
        raise ValueError(f"obstacles.region={oc.region!r} is not one of {OBSTACLE_REGIONS}")
    unknown = [k for k in oc.kinds if k not in OBSTACLE_KINDS]
    if unknown:
        raise ValueError(f"obstacles.kinds has unknown kinds {unknown}; choose from {OBSTACLE_KINDS}")
    if oc.density <= 0:
        return np.zeros((0, 7), np.float32), np.zeros(0, np.int64)
    rects = walk_rects if oc.region == "walkable" else walk_rects[walk_kind == SIDEWALK]
    areas = (rects[:, 2] - rects[:, 0]) * (rects[:, 3] - rects[:, 1])
    count = rng.poisson(oc.density * areas.sum() / 100.0)
    placed: list[tuple] = []
    kinds: list[int] = []
    existing = [(o[0], o[1], max(o[3], o[4])) for o in furniture]
    for _ in range(count * 20):
        if len(placed) >= count:
            break
        kind = oc.kinds[rng.integers(len(oc.kinds))]
        scale = rng.uniform(*oc.size_range)
        hx, hy, h = (v * scale for v in KIND_SIZE[kind])
        r = rects[rng.choice(len(rects), p=areas / areas.sum())]
        rad = max(hx, hy)
        if r[2] - r[0] < 2 * rad or r[3] - r[1] < 2 * rad:
            continue
        cx, cy = rng.uniform(r[0] + rad, r[2] - rad), rng.uniform(r[1] + rad, r[3] - rad)
        if any(np.hypot(cx - ex, cy - ey) < rad + er + oc.min_gap for ex, ey, er in existing):
            continue
        yaw = rng.uniform(-np.pi, np.pi)
        placed.append((cx, cy, yaw, hx, hy, h, KIND_SHAPE[kind]))
        kinds.append(OBSTACLE_KINDS.index(kind))
        existing.append((cx, cy, rad))
    return np.asarray(placed, dtype=np.float32).reshape(-1, 7), np.asarray(kinds, dtype=np.int64)


def with_spawned_obstacles(layout: UrbanLayout, obstacles: ObstacleSpawnCfg, seed: int,
                           passage: float | None = None) -> UrbanLayout:
    """The layout with static obstacles spawned on its walkable area by generate_layout's spawner and blocking its cells
    as generate_layout does, drawn from `seed` (a scene bundle's layout for the obstacle tasks; density 0: the layout
    itself). The density counts the walkable cells' area (a bundle's walk rectangles overlap). The layout's seed becomes
    `seed`, so each draw is a scene of its own.

    `passage` (m, the robot's route clearance): an obstacle that would cut the room the route planner leaves the robot
    (cells with at least that clearance, s2e.urban.routes.clearance_map) into more parts is left out, so that a
    captured path one obstacle wide is not closed; the procedural blocks' sidewalks are wide enough not to need this."""
    if obstacles.density <= 0:
        return layout
    rects = layout.walk_rects
    rect_area = float(((rects[:, 2] - rects[:, 0]) * (rects[:, 3] - rects[:, 1])).sum())
    walkable_area = float(layout.walkable.sum()) * layout.resolution ** 2
    density = obstacles.density * min(1.0, walkable_area / max(rect_area, 1e-9))
    cfg = UrbanLayoutCfg(size=layout.size, grid_resolution=layout.resolution,
                         obstacles=replace(obstacles, density=density))
    placed, kinds = _spawn_obstacles(cfg, np.random.default_rng(seed), rects, layout.walk_kind, layout.obstacles)
    pts = layout.cell_centers()
    inflate = layout.resolution * 0.71
    blocked = np.zeros_like(layout.walkable)
    if passage is None:
        blocked = footprint_mask(pts, placed, inflate=inflate)
    else:
        parts = _room_parts(layout, layout.walkable, passage)
        keep = np.zeros(len(placed), bool)
        for k, o in enumerate(placed):
            trial = blocked | footprint_mask(pts, o[None], inflate=inflate)
            if _room_parts(layout, layout.walkable & ~trial, passage) <= parts:
                keep[k], blocked = True, trial
        placed, kinds = placed[keep], kinds[keep]
    return replace(layout, seed=int(seed), obstacles=np.concatenate([layout.obstacles, placed]).astype(np.float32),
                   obstacle_kind=np.concatenate([layout.obstacle_kind, kinds]).astype(np.int64),
                   walkable=layout.walkable & ~blocked)


def _room_parts(layout: UrbanLayout, walkable: np.ndarray, passage: float, min_area: float = 1.0) -> int:
    """Connected parts (8-neighbours, at least `min_area` m^2) of the cells the route planner keeps for a robot needing
    `passage` m of clearance, with `walkable` as the layout's walkable grid."""
    from .routes import clearance_map  # routes builds on this module

    room = clearance_map(replace(layout, walkable=walkable)) >= passage
    labels, k = ndimage.label(room, np.ones((3, 3), bool))
    if not k:
        return 0
    sizes = ndimage.sum(room, labels, range(1, k + 1)) * layout.resolution ** 2
    return int((sizes >= min_area).sum())


def boxes_as_footprints(boxes: np.ndarray) -> np.ndarray:
    """Axis-aligned (cx, cy, sx, sy, height) boxes as footprint rows (cx, cy, yaw, hx, hy, h, BOX)."""
    b = np.asarray(boxes, dtype=np.float32).reshape(-1, 5)
    z = np.zeros(len(b), np.float32)
    return np.stack([b[:, 0], b[:, 1], z, b[:, 2] / 2, b[:, 3] / 2, b[:, 4], z + BOX], axis=1)


def collision_footprints(layout: UrbanLayout) -> np.ndarray:
    """Everything a robot can hit that does not move: obstacles, furniture, buildings, curbs."""
    return np.concatenate(
        [layout.obstacles, boxes_as_footprints(layout.buildings), boxes_as_footprints(layout.curbs)], axis=0
    ).astype(np.float32)


def distinct_layouts(layouts: Sequence[UrbanLayout]) -> tuple[list[UrbanLayout], list[int]]:
    """The distinct layout objects among `layouts` (envs sharing a block share one object), in first-seen
    order, and the index of each entry's layout in that list: per-block work is then done once per block."""
    index: dict[int, int] = {}
    blocks: list[UrbanLayout] = []
    for layout in layouts:
        if id(layout) not in index:
            index[id(layout)] = len(blocks)
            blocks.append(layout)
    return blocks, [index[id(layout)] for layout in layouts]
