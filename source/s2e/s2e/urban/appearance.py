"""A procedural urban block as Gaussians, so that robot cameras see a textured street, not flat colour.

`urban_scene_gaussians` turns an `UrbanLayout` (the same data the simulator's colliders come from)
into one unbatched Gaussian scene in the layout's tile frame: asphalt with noise and a dashed centre
line, paved sidewalks with slab seams, zebra crosswalks, curbs, facades with windows and shop fronts
(see `facades`) and street furniture (see `props`). Flat surfaces are thin Gaussians that
overlap their neighbours, so grazing views near the ground have no holes. Spacings are detail levels:
one factor scales all of them so that the block fills its Gaussian `budget`.

The walkable ground is the finest (0.2 m spacing): cameras stand on it, and a Gaussian about as large
as its depth is smeared over the whole image by the EWA projection. Cameras 0.3-0.5 m above the
ground should render with a near plane of about 0.25 m, which culls the few under the camera.
"""

from __future__ import annotations

import numpy as np
import torch

from ..rendering.gaussians import GaussianScene
from ..rendering.splats import Splats, box, flat, grid, jitter_rgb, rect_points
from ..utils.processes import parallel_map
from .appearance_cfg import UrbanGaussianCfg
from .facades import facade_splats
from .layout import CROSSWALK, SIDEWALK, UrbanLayout
from .props import prop_splats

LANE_ROW = 0.12
"""Row spacing of the strip of fine Gaussians that carries the centre line (m)."""
LANE_HALF_WIDTH, DASH, DASH_PERIOD = 0.08, 3.0, 6.0


def urban_scene_gaussians(layout: UrbanLayout, cfg: UrbanGaussianCfg = UrbanGaussianCfg(),
                          seed: int = 0) -> GaussianScene:
    """The whole block as one unbatched GaussianScene (SH degree 0, float32, CPU, tile frame)."""
    splats = _fit_budget(layout, cfg, seed)
    if len(splats) > cfg.budget:  # a tiny budget: spacings stop scaling at object sizes, drop a subset
        splats = splats.subset(np.sort(np.random.default_rng(seed).permutation(len(splats))[: cfg.budget]))
    return splats.to_scene()


def urban_blocks_gaussians(layouts: list[UrbanLayout], cfg: UrbanGaussianCfg = UrbanGaussianCfg(), seed: int = 0,
                           workers: int | None = None, min_parallel: int = 32) -> list[GaussianScene]:
    """`urban_scene_gaussians` of each layout, in that order, the same scenes bit for bit.

    A block takes ~0.1 s of single-threaded NumPy, so thousands of envs would wait minutes at start-up:
    with at least `min_parallel` layouts the blocks are generated on `workers` processes (default: every
    usable core; s2e.utils.processes.parallel_map).
    """
    arrays = parallel_map(_scene_arrays, [(layout, cfg, seed) for layout in layouts], workers, min_parallel)
    return [GaussianScene(*(torch.from_numpy(a) for a in fields)) for fields in arrays]


def _scene_arrays(layout: UrbanLayout, cfg: UrbanGaussianCfg, seed: int) -> tuple[np.ndarray, ...]:
    """One block as NumPy arrays (means, quats, scales, opacities, sh): what a worker sends back."""
    scene = urban_scene_gaussians(layout, cfg, seed)
    return tuple(t.numpy() for t in (scene.means, scene.quats, scene.scales, scene.opacities, scene.sh))


def _fit_budget(layout: UrbanLayout, cfg: UrbanGaussianCfg, seed: int) -> Splats:
    """Scale every spacing by one detail factor so that the block fills 90-100% of the budget.

    The factor never goes below `min_detail` (a small block keeps fewer Gaussians); surfaces dominate
    the count, so it goes as 1 / detail^2 and a few steps converge.
    """
    detail, best = 1.0, None
    for _ in range(5):
        splats = _block(layout, cfg, seed, detail)
        n = len(splats)
        if n <= cfg.budget and (best is None or n > len(best)):
            best = splats
        if n <= cfg.budget and (n >= 0.9 * cfg.budget or detail <= cfg.min_detail):
            break
        detail = max(cfg.min_detail, detail * float(np.sqrt(n / (0.95 * cfg.budget))))
    return best if best is not None else splats


def _block(layout: UrbanLayout, cfg: UrbanGaussianCfg, seed: int, detail: float) -> Splats:
    rng = np.random.default_rng([seed, layout.seed])
    parts = [_roads(layout, cfg, rng, detail), _sidewalks(layout, cfg, rng, detail),
             _crosswalks(layout, cfg, rng, detail), _curbs(layout, cfg, detail),
             facade_splats(layout, cfg, rng, detail), prop_splats(layout, cfg, rng, detail)]
    return Splats.cat(parts)


def _inside(pts: np.ndarray, rects: np.ndarray) -> np.ndarray:
    """[n] whether each point lies in any of the rects [k, 4]."""
    if len(rects) == 0:
        return np.zeros(len(pts), bool)
    x, y = pts[:, 0:1], pts[:, 1:2]
    r = rects[None]
    return ((x >= r[..., 0]) & (x <= r[..., 2]) & (y >= r[..., 1]) & (y <= r[..., 3])).any(axis=1)


def _ground(pts: np.ndarray, su, sv, rgb: np.ndarray, cfg: UrbanGaussianCfg, z: float = 0.0, u_axis: int = 0) -> Splats:
    """Flat ground Gaussians at points [n, 2]; (su, sv) are std-devs along (u_axis, other)."""
    means = np.column_stack([pts, np.full(len(pts), z)])
    sx, sy = (su, sv) if u_axis == 0 else (sv, su)
    return flat(means, 2, 1.0, sx, sy, rgb, cfg.opacity)


def _patches(pts: np.ndarray, rng: np.random.Generator, amount: float) -> np.ndarray:
    """Smooth low-frequency brightness variation (stains, wear) from a few random plane waves."""
    k = rng.uniform(0.15, 0.9, size=(6, 1)) * np.stack([np.cos(a := rng.uniform(0, np.pi, 6)), np.sin(a)], 1)
    waves = np.sin(pts @ k.T + rng.uniform(0, 2 * np.pi, 6)).sum(axis=1)
    return 1 + amount * waves / 3


def _road_axis(rect: np.ndarray) -> int:
    return 0 if rect[2] - rect[0] >= rect[3] - rect[1] else 1


def _roads(layout: UrbanLayout, cfg: UrbanGaussianCfg, rng, detail: float) -> Splats:
    """Asphalt with stains and noise, and a dashed centre line on every road."""
    crosswalks = layout.walk_rects[layout.walk_kind == CROSSWALK]
    out = []
    for i, r in enumerate(layout.road_rects):
        a = _road_axis(r)
        prev, others = layout.road_rects[:i], np.delete(layout.road_rects, i, axis=0)
        centre = _centre(r, a)
        us, pu = grid(r[a], r[2 + a], cfg.road_spacing * detail)
        vs, pv = grid(r[1 - a], r[3 - a], cfg.road_spacing * detail)
        band = np.abs(vs - centre) < 0.6 * pv
        # The centre strip replaces the grid rows nearest the centre line with finer rows; the
        # middle ones are painted in 3 m dashes (not across the other road).
        lo, hi = vs[~band & (vs < centre)].max(initial=r[1 - a]), vs[~band & (vs > centre)].min(initial=r[3 - a])
        k = int(np.ceil((hi - lo) / LANE_ROW))
        rows = np.linspace(lo, hi, k + 1)[1:-1]
        lane_us, lane_pu = grid(r[a], r[2 + a], cfg.lane_spacing * detail)
        for vv, uu, su, sv, lane in ((vs[~band], us, pu, pv, False), (rows, lane_us, lane_pu, (hi - lo) / k, True)):
            pts = _uv_points(uu, vv, a)
            keep = ~_inside(pts, prev) & ~_inside(pts, crosswalks)
            rgb = np.asarray(cfg.asphalt) * _patches(pts, rng, 0.12)[:, None]
            if lane:
                dash = np.mod(pts[:, a] - r[a], DASH_PERIOD) < DASH
                paint = (np.abs(pts[:, 1 - a] - centre) < LANE_HALF_WIDTH) & dash & ~_inside(pts, others)
                rgb = np.where(paint[:, None], cfg.lane_paint, rgb)
            rgb = jitter_rgb(rgb[keep], rng, cfg.noise)
            out.append(_ground(pts[keep], cfg.overlap * su, cfg.overlap * sv, rgb, cfg, z=0.002 * lane, u_axis=a))
    return Splats.cat(out)


def _uv_points(us: np.ndarray, vs: np.ndarray, axis: int) -> np.ndarray:
    """World points [n, 2] of a grid along (u = world axis `axis`, v = the other axis)."""
    uu, vv = np.meshgrid(us, vs, indexing="ij")
    pts = np.zeros((uu.size, 2))
    pts[:, axis], pts[:, 1 - axis] = uu.ravel(), vv.ravel()
    return pts


def _centre(rect: np.ndarray, axis: int) -> float:
    """Across-road coordinate of the road's centre line."""
    return 0.5 * float(rect[1 - axis] + rect[3 - axis])


def _sidewalks(layout: UrbanLayout, cfg: UrbanGaussianCfg, rng, detail: float) -> Splats:
    """Paving: per-slab tone, fine noise and thin dark joints between slabs."""
    rects = layout.walk_rects[layout.walk_kind == SIDEWALK]
    out = []
    tones = 1 + cfg.slab_tone * rng.standard_normal(4096)
    for i, r in enumerate(rects):
        s = cfg.sidewalk_spacing * detail
        pts, px, py = rect_points(r[0], r[2], r[1], r[3], s, s)
        pts = pts[~_inside(pts, rects[:i])]
        slab = np.floor(pts / cfg.slab_size).astype(np.int64)
        tone = tones[(slab[:, 0] * 73856093 ^ slab[:, 1] * 19349663) % len(tones)]
        rgb = np.asarray(cfg.sidewalk) * (tone * _patches(pts, rng, 0.05))[:, None]
        out.append(_ground(pts, cfg.overlap * px, cfg.overlap * py, jitter_rgb(rgb, rng, cfg.noise * 0.8), cfg))
        if cfg.seam_spacing > 0:
            out.append(_seams(r, rects[:i], cfg, rng, detail))
    return Splats.cat(out)


def _seams(r: np.ndarray, prev: np.ndarray, cfg: UrbanGaussianCfg, rng, detail: float) -> Splats:
    """Joints on the world-aligned slab lines inside sidewalk r, short along the joint (grazing views)."""
    out = []
    for a in (0, 1):
        lines = np.arange(np.ceil(r[1 - a] / cfg.slab_size), np.floor(r[3 - a] / cfg.slab_size) + 1) * cfg.slab_size
        us, pu = grid(r[a], r[2 + a], cfg.seam_spacing * detail)
        pts = _uv_points(us, lines, a)
        pts = pts[~_inside(pts, prev)]
        rgb = jitter_rgb(np.tile(cfg.seam, (len(pts), 1)), rng, cfg.noise)
        seam = _ground(pts, min(cfg.overlap * pu, 0.15), 0.018, rgb, cfg, z=0.003, u_axis=a)
        seam.opacity[:] = 0.8
        out.append(seam)
    return Splats.cat(out)


def _crosswalks(layout: UrbanLayout, cfg: UrbanGaussianCfg, rng, detail: float) -> Splats:
    """Zebra bars parallel to the road, alternating across it, on the road part of each crosswalk."""
    rects = layout.walk_rects[layout.walk_kind == CROSSWALK]
    out = []
    for i, r in enumerate(rects):
        across = 0 if r[2] - r[0] >= r[3] - r[1] else 1  # a crosswalk is long across the road
        pitch = [cfg.crosswalk_spacing * detail] * 2
        pitch[across] = cfg.crosswalk_stripe / 3 * min(detail, 1.5)
        pts, pa, pb = rect_points(r[0], r[2], r[1], r[3], *pitch)
        pts = pts[_inside(pts, layout.road_rects) & ~_inside(pts, rects[:i])]
        v = pts[:, across] - r[across] - 0.8  # first bar 0.3 m from the curb (rects reach 0.5 m into the sidewalks)
        bar = ((np.floor(v / cfg.crosswalk_stripe).astype(np.int64) % 2 == 0) & (v > 0)
               & (pts[:, across] < r[2 + across] - 0.8))
        rgb = np.where(bar[:, None], cfg.zebra, np.asarray(cfg.asphalt) * _patches(pts, rng, 0.12)[:, None])
        sharp = 0.62  # a little under `overlap`: crisper bar edges
        out.append(_ground(pts, sharp * pa, sharp * pb, jitter_rgb(rgb, rng, cfg.noise * 0.7), cfg, z=0.001))
    return Splats.cat(out)


def _curbs(layout: UrbanLayout, cfg: UrbanGaussianCfg, detail: float) -> Splats:
    """Curb stones: light concrete boxes (top and sides)."""
    out = []
    for cx, cy, sx, sy, h in layout.curbs:
        along_x = sx >= sy
        hx, hy = (sx / 2, sy / 2) if along_x else (sy / 2, sx / 2)
        b = box(hx, hy, 0.0, h, cfg.curb_spacing * detail, np.asarray(cfg.curb), cfg.opacity, cfg.overlap)
        out.append(b.placed(cx, cy, 0.0 if along_x else np.pi / 2))
    return Splats.cat(out)
