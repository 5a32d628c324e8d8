"""An `UrbanLayout` from a captured scene: walkable polygons plus the occupancy of a collision mesh.

Every MDP term (routes, pedestrians, clearance maps, geometric collisions, the fast base mode) reads
an `UrbanLayout`, so a real capture is turned into one instead of teaching each term about meshes:

* occupancy: the mesh surfaces are sampled densely; a grid cell is occupied when its column above
  the ground has geometry in the band `min_height`..`max_height` above z = 0 (something a robot or a
  pedestrian would hit). Surfaces only show an object's walls in the band, so a column counts as
  occupied also when all its geometry lies above the band (a roof or an object top with no ground
  seen beneath it, as in TSDF meshes, which have no floor under buildings), and when it has a top
  above the band and lies inside a closed ring of band cells (the interior of a truck or a kiosk
  standing on a ground surface that runs beneath it). A slab overhead with no walls around it (an
  awning, a canopy) leaves the ground under it walkable;
* walkable grid: cells inside the walkable polygons (minus holes) that are not occupied;
* footprints: the occupied cells as a few axis-aligned boxes (greedy largest rectangles), stored as
  `buildings` so that `collision_footprints` and the base-mode sliding see them;
* walk_rects: overlapping rectangles covering the walkable cells a pedestrian fits in (a square of
  side `min_rect_side` fits around them), which is what the pedestrians' rectangle graph needs
  (straight lines inside a rectangle are walkable; neighbours must overlap, not just touch).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

from .layout import BUILDING, ROAD, SIDEWALK, UrbanLayout

DEFAULT_HEIGHT_BAND = (0.05, 1.8)
"""Geometry this far above the ground (m) blocks a cell: curbs and bollards up to head height."""
MIN_RECT_SIDE = 0.75
"""Pedestrians walk where a square this wide (m) fits: one pedestrian (radius 0.3 m) and a margin."""


def layout_from_mesh(
    vertices: np.ndarray,
    faces: np.ndarray,
    size: float,
    polygons: list[np.ndarray],
    holes: list[np.ndarray] = (),
    resolution: float = 0.25,
    height_band: tuple[float, float] = DEFAULT_HEIGHT_BAND,
    min_rect_side: float = MIN_RECT_SIDE,
) -> UrbanLayout:
    """Build the layout of a square tile of side `size` (tile frame: origin at its centre, z up)."""
    n = int(math.ceil(size / resolution - 1e-9))
    res = size / n
    centers = (np.arange(n) + 0.5) * res - size / 2
    pts = np.stack(np.meshgrid(centers, centers, indexing="xy"), axis=-1)
    inside = polygon_mask(pts, polygons, holes)
    occupied, top = mesh_occupancy(vertices, faces, size, n, height_band)
    walkable = inside & ~occupied
    semantic = np.full((n, n), ROAD, dtype=np.uint8)
    semantic[walkable] = SIDEWALK
    semantic[occupied] = BUILDING
    boxes = []
    for r0, c0, r1, c1 in rect_partition(occupied):
        h = max(float(top[r0:r1, c0:c1].max()), height_band[0])
        boxes.append(((c0 + c1) / 2 * res - size / 2, (r0 + r1) / 2 * res - size / 2, (c1 - c0) * res, (r1 - r0) * res,
                      h))
    cover = rect_cover(walkable, max(1, int(math.ceil(min_rect_side / res - 1e-9))))
    # (c0, r0, c1, r1) -> (xmin, ymin, xmax, ymax)
    walk_rects = cover[:, [1, 0, 3, 2]].astype(np.float32) * res - size / 2
    return UrbanLayout(
        seed=0,
        size=float(size),
        walk_rects=walk_rects.reshape(-1, 4),
        walk_kind=np.full(len(walk_rects), SIDEWALK, dtype=np.int64),
        road_rects=np.zeros((0, 4), np.float32),
        curbs=np.zeros((0, 5), np.float32),
        buildings=np.asarray(boxes, dtype=np.float32).reshape(-1, 5),
        obstacles=np.zeros((0, 7), np.float32),
        obstacle_kind=np.zeros(0, np.int64),
        num_furniture=0,
        semantic=semantic,
        walkable=walkable,
        resolution=res,
    )


def polygon_mask(pts: np.ndarray, polygons: list[np.ndarray], holes: list[np.ndarray] = ()) -> np.ndarray:
    """Points [..., 2] inside any polygon and outside every hole (even-odd rule per polygon)."""
    inside = np.zeros(pts.shape[:-1], dtype=bool)
    for poly in polygons:
        inside |= _in_polygon(pts, poly)
    for poly in holes:
        inside &= ~_in_polygon(pts, poly)
    return inside


def _in_polygon(pts: np.ndarray, poly: np.ndarray) -> np.ndarray:
    x, y = pts[..., 0], pts[..., 1]
    out = np.zeros(pts.shape[:-1], dtype=bool)
    poly = np.asarray(poly, dtype=np.float64)
    for (x0, y0), (x1, y1) in zip(poly, np.roll(poly, -1, axis=0)):
        crosses = (y0 > y) != (y1 > y)
        with np.errstate(divide="ignore", invalid="ignore"):
            xi = x0 + (y - y0) * (x1 - x0) / (y1 - y0)
        out ^= crosses & (x < xi)
    return out


def mesh_occupancy(vertices: np.ndarray, faces: np.ndarray, size: float, n: int,
                   height_band: tuple[float, float] = DEFAULT_HEIGHT_BAND) -> tuple[np.ndarray, np.ndarray]:
    """(occupied [n, n], top [n, n]: highest geometry per cell, 0 where empty) of a tile-frame mesh.

    Triangles are sampled on a lattice finer than a third of a cell, so that thin things (poles,
    railings) mark every cell they pass through.
    """
    res = size / n
    lo, hi = height_band
    zmin = np.full(n * n, np.inf)
    top = np.zeros(n * n)
    band = np.zeros(n * n, dtype=bool)
    tris = np.asarray(vertices, dtype=np.float64)[np.asarray(faces, dtype=np.int64)]  # [F, 3, 3]
    half = size / 2
    keep = ((tris[..., 0].max(1) >= -half) & (tris[..., 0].min(1) <= half) & (tris[..., 1].max(1) >= -half)
            & (tris[..., 1].min(1) <= half))
    tris = tris[keep]
    # Sample on a lattice along the two edges next to the longest one: spacing <= res / 3 along both,
    # so the sample count grows with the area (a long, thin wall strip costs little).
    edges = np.linalg.norm(tris - np.roll(tris, -1, axis=1), axis=-1)  # edge k: vertex k -> k + 1
    apex = (np.argmax(edges, axis=1) + 2) % 3  # vertex opposite the longest edge
    order = np.stack([apex, (apex + 1) % 3, (apex + 2) % 3], axis=1)
    tris = np.take_along_axis(tris, order[..., None], axis=1)
    n_uv = np.maximum(1, np.ceil(np.linalg.norm(tris[:, 1:] - tris[:, :1], axis=-1) / (res / 3))).astype(np.int64)
    groups, inverse = np.unique(n_uv, axis=0, return_inverse=True)
    for g, (nu, nv) in enumerate(groups):
        group = tris[inverse.ravel() == g]
        w = _lattice(int(nu), int(nv))  # [P, 3] barycentric weights
        step = max(1, 2_000_000 // len(w))
        for s in range(0, len(group), step):
            p = np.matmul(w[None], group[s: s + step]).reshape(-1, 3)
            ij = np.floor((p[:, :2] + half) / res).astype(np.int64)
            ok = (ij[:, 0] >= 0) & (ij[:, 0] < n) & (ij[:, 1] >= 0) & (ij[:, 1] < n)
            cell = ij[ok, 1] * n + ij[ok, 0]
            z = p[ok, 2]
            np.minimum.at(zmin, cell, z)
            np.maximum.at(top, cell, z)
            band[cell[(z >= lo) & (z <= hi)]] = True
    band, top = band.reshape(n, n), top.reshape(n, n)
    roof_only = (np.isfinite(zmin) & (zmin > hi)).reshape(n, n)
    enclosed = ndimage.binary_fill_holes(band) & ~band & (top > hi)
    return band | roof_only | enclosed, top


def _lattice(nu: int, nv: int) -> np.ndarray:
    """Barycentric weights of the points a + (i / nu) (b - a) + (j / nv) (c - a) inside triangle abc."""
    i, j = np.meshgrid(np.arange(nu + 1), np.arange(nv + 1), indexing="ij")
    m = i * nv + j * nu <= nu * nv
    u, v = i[m] / nu, j[m] / nv
    return np.stack([1 - u - v, u, v], axis=1)


def largest_rect(mask: np.ndarray) -> tuple[int, tuple[int, int, int, int] | None]:
    """Largest all-True rectangle: (area, (r0, c0, r1, c1) with exclusive ends), (0, None) if none.

    Row-by-row maximal-rectangle dynamic programme (height, left and right extent per column),
    vectorized over columns.
    """
    h, w = mask.shape
    idx = np.arange(w)
    height = np.zeros(w, np.int64)
    left = np.zeros(w, np.int64)
    right = np.full(w, w, np.int64)
    best, rect = 0, None
    for i in range(h):
        row = mask[i]
        height = np.where(row, height + 1, 0)
        left = np.where(row, np.maximum(left, np.maximum.accumulate(np.where(row, 0, idx + 1))), 0)
        right = np.where(row, np.minimum(right, np.minimum.accumulate(np.where(row, w, idx)[::-1])[::-1]), w)
        area = height * (right - left)
        j = int(area.argmax())
        if area[j] > best:
            best, rect = int(area[j]), (i - int(height[j]) + 1, int(left[j]), i + 1, int(right[j]))
    return best, rect


def rect_partition(mask: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Disjoint rectangles (r0, c0, r1, c1) covering the True cells: largest first, per connected part."""
    labels, _ = ndimage.label(mask)
    out = []
    for k, sl in enumerate(ndimage.find_objects(labels), 1):
        sub = labels[sl] == k
        while True:
            _, rect = largest_rect(sub)
            if rect is None:
                break
            r0, c0, r1, c1 = rect
            sub[r0:r1, c0:c1] = False
            out.append((r0 + sl[0].start, c0 + sl[1].start, r1 + sl[0].start, c1 + sl[1].start))
    return out


def grow_rect(mask: np.ndarray, rect: tuple[int, int, int, int]) -> tuple[int, int, int, int]:
    """Extend a rectangle side by side while the next row or column is all True."""
    r0, c0, r1, c1 = rect
    h, w = mask.shape
    grown = True
    while grown:
        grown = False
        if r0 > 0 and mask[r0 - 1, c0:c1].all():
            r0, grown = r0 - 1, True
        if r1 < h and mask[r1, c0:c1].all():
            r1, grown = r1 + 1, True
        if c0 > 0 and mask[r0:r1, c0 - 1].all():
            c0, grown = c0 - 1, True
        if c1 < w and mask[r0:r1, c1].all():
            c1, grown = c1 + 1, True
    return r0, c0, r1, c1


def rect_cover(mask: np.ndarray, min_side: int) -> np.ndarray:
    """[R, 4] rectangles (r0, c0, r1, c1) covering the cells of `mask` that a min_side x min_side square
    fits around, with neighbours overlapping; the rectangles are connected wherever that area is.

    A partition's neighbours only touch, and the pedestrian graph links rectangles that overlap. So
    each piece is grown to a maximal rectangle (which makes most neighbours overlap), and every pair
    of pieces that touch but whose grown rectangles still do not overlap gets a connector straddling
    the shared edge, one cell into each piece.
    """
    room = ndimage.binary_opening(mask, structure=np.ones((min_side, min_side), bool)) if min_side > 1 else mask.copy()
    parts = rect_partition(room)
    grown = [grow_rect(room, r) for r in parts]
    out = set(grown)
    for a_i, a in enumerate(parts):
        for b_i in range(a_i + 1, len(parts)):
            b = parts[b_i]
            ga, gb = grown[a_i], grown[b_i]
            if min(ga[2], gb[2]) > max(ga[0], gb[0]) and min(ga[3], gb[3]) > max(ga[1], gb[1]):
                continue  # the grown rectangles overlap already
            r_lo, r_hi = max(a[0], b[0]), min(a[2], b[2])
            c_lo, c_hi = max(a[1], b[1]), min(a[3], b[3])
            if r_hi > r_lo and c_lo == c_hi:  # side by side, sharing a vertical edge at column c_lo
                out.add(grow_rect(room, (r_lo, c_lo - 1, r_hi, c_lo + 1)))
            elif c_hi > c_lo and r_lo == r_hi:  # one above the other, sharing a horizontal edge at row r_lo
                out.add(grow_rect(room, (r_lo - 1, c_lo, r_lo + 1, c_hi)))
    rects = sorted(out)
    keep = [r for r in rects if not any(o != r and o[0] <= r[0] and o[1] <= r[1] and o[2] >= r[2] and o[3] >= r[3]
                                        for o in rects)]
    return np.asarray(keep, dtype=np.int64).reshape(-1, 4)
