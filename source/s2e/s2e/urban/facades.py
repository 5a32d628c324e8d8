"""Building facades as Gaussians: wall colour per building, window grids, doors and shop fronts.

Only faces a street camera can see get Gaussians: faces on the street get the full facade, faces
against a shorter neighbour get a blank wall above it, faces against the tile edge or an equally tall
neighbour get nothing. Openings are cut out of the wall grid (with a margin), filled with recessed
glass or door panels and framed by thin proud Gaussians, so windows have crisp, dark, framed edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..rendering.splats import Splats, flat, jitter_rgb, rect_points
from .appearance_cfg import FacadePalette, UrbanGaussianCfg
from .layout import UrbanLayout

GLASS, DOOR, SIGN = 0, 1, 2
RECESS = {GLASS: 0.04, DOOR: 0.02, SIGN: -0.03}
"""How far each kind of opening sits behind the wall surface (m); signs stand proud of it."""


@dataclass
class FacadeStyle:
    wall: np.ndarray
    frame: np.ndarray
    door: np.ndarray
    sign: np.ndarray
    ground_floor: float
    floor_height: float
    bay: float
    window: tuple[float, float]
    shop: bool


def _pick(colours, rng: np.random.Generator) -> np.ndarray:
    return np.asarray(colours[rng.integers(len(colours))], dtype=np.float64)


def _style(palette: FacadePalette, rng: np.random.Generator) -> FacadeStyle:
    wall = _pick(palette.walls, rng) * rng.uniform(0.92, 1.06)
    return FacadeStyle(wall=wall, frame=_pick(palette.frames, rng), door=_pick(palette.doors, rng),
                       sign=_pick(palette.signs, rng), ground_floor=rng.uniform(3.6, 4.4),
                       floor_height=rng.uniform(3.0, 3.5), bay=rng.uniform(2.4, 3.4),
                       window=(rng.uniform(0.9, 1.5), rng.uniform(1.3, 1.8)), shop=bool(rng.random() < 0.6))


def facade_splats(layout: UrbanLayout, cfg: UrbanGaussianCfg, rng: np.random.Generator, detail: float) -> Splats:
    """Gaussians of every visible building face of the block."""
    out = []
    half = layout.size / 2
    b = layout.buildings
    for i, (cx, cy, sx, sy, h) in enumerate(b):
        style = _style(cfg.facades, rng)
        for axis in (0, 1):
            t = 1 - axis
            lo, hi = (cy - sy / 2, cy + sy / 2) if axis == 0 else (cx - sx / 2, cx + sx / 2)
            for sign in (-1.0, 1.0):
                w = (cx, cy)[axis] + sign * (sx, sy)[axis] / 2
                probe = np.zeros(2)
                probe[axis], probe[t] = w + 0.3 * sign, 0.5 * (lo + hi)
                if np.abs(probe).max() > half:
                    continue
                inside = (np.abs(probe[0] - b[:, 0]) < b[:, 2] / 2) & (np.abs(probe[1] - b[:, 1]) < b[:, 3] / 2)
                inside[i] = False
                face = _Face(axis, sign, w, lo, hi)
                if inside.any():
                    z0 = float(b[inside, 4].max())
                    if h - z0 > 0.2:
                        out.append(_blank_wall(face, z0, h, style, cfg, rng, detail))
                else:
                    out.append(_street_face(face, h, style, cfg, rng, detail))
    return Splats.cat(out)


@dataclass
class _Face:
    axis: int
    """World axis of the face normal (0: x, 1: y)."""
    sign: float
    w: float
    lo: float
    hi: float

    def splats(self, uz: np.ndarray, offset: float, su, sz, rgb: np.ndarray, opacity: float) -> Splats:
        """Flat Gaussians at face coordinates (u, z) [n, 2], `offset` metres out of the wall."""
        means = np.zeros((len(uz), 3))
        means[:, self.axis] = self.w + self.sign * offset
        means[:, 1 - self.axis], means[:, 2] = uz[:, 0], uz[:, 1]
        return flat(means, self.axis, self.sign, su, sz, rgb, opacity)


def _blank_wall(face: _Face, z0: float, z1: float, style: FacadeStyle, cfg, rng, detail: float) -> Splats:
    """A windowless side wall (above a shorter neighbour), a little darker than the facade."""
    s = cfg.upper_wall_spacing * detail
    uz, pu, pz = rect_points(face.lo, face.hi, z0, z1, s, s)
    rgb = jitter_rgb(np.tile(style.wall * 0.9, (len(uz), 1)), rng, cfg.noise)
    return face.splats(uz, 0.0, cfg.overlap * pu, cfg.overlap * pz, rgb, cfg.opacity)


def _openings(face: _Face, h: float, st: FacadeStyle, rng) -> tuple[np.ndarray, np.ndarray]:
    """Opening rects [K, 4] (u0, u1, z0, z1) and their kinds (GLASS, DOOR, SIGN)."""
    length = face.hi - face.lo
    n_bays = int((length - 0.8) // st.bay)
    if n_bays < 1:
        return np.zeros((0, 4)), np.zeros(0, np.int64)
    centres = face.lo + length / 2 + (np.arange(n_bays) - (n_bays - 1) / 2) * st.bay
    ww, wh = st.window
    rects, kinds = [], []
    door_bay = rng.integers(n_bays)
    for j, uc in enumerate(centres):
        if j == door_bay:
            rects.append((uc - 0.55, uc + 0.55, 0.0, 2.3))
            kinds.append(DOOR)
        elif st.shop:
            rects.append((uc - st.bay / 2 + 0.3, uc + st.bay / 2 - 0.3, 0.45, st.ground_floor - 1.1))
            kinds.append(GLASS)
        else:
            rects.append((uc - ww / 2, uc + ww / 2, 1.0, min(1.0 + wh, st.ground_floor - 0.6)))
            kinds.append(GLASS)
    if st.shop:
        rects.append((face.lo + 0.4, face.hi - 0.4, st.ground_floor - 0.85, st.ground_floor - 0.3))
        kinds.append(SIGN)
    floors = st.ground_floor + st.floor_height * np.arange(int((h - 0.6 - st.ground_floor) // st.floor_height))
    for zf in floors:
        for uc in centres:
            rects.append((uc - ww / 2, uc + ww / 2, zf + 0.9, zf + 0.9 + min(wh, st.floor_height - 1.2)))
            kinds.append(GLASS)
    return np.asarray(rects, float), np.asarray(kinds, np.int64)


def _street_face(face: _Face, h: float, st: FacadeStyle, cfg, rng, detail: float) -> Splats:
    """Wall (dark plinth, light cornice, darker near the ground) with openings cut out, filled and framed."""
    rects, kinds = _openings(face, h, st, rng)
    out = []
    for z0, z1, spacing in ((0.0, min(st.ground_floor, h), cfg.wall_spacing),
                            (st.ground_floor, h, cfg.upper_wall_spacing)):
        if z1 - z0 < 0.05:
            continue
        s = spacing * detail
        uz, pu, pz = rect_points(face.lo, face.hi, z0, z1, s, s)
        uz = uz[~_in_rects(uz, rects, 0.35 * s)]
        tone = np.where(uz[:, 1] < 0.45, 0.7, 1.0) * np.where(uz[:, 1] > h - 0.4, 1.12, 1.0)
        tone = tone * (0.82 + 0.18 * np.minimum(1.0, uz[:, 1] / 2.0))
        rgb = jitter_rgb(st.wall * tone[:, None], rng, cfg.noise)
        out.append(face.splats(uz, 0.0, cfg.overlap * pu, cfg.overlap * pz, rgb, cfg.opacity))
    for k, colour in ((GLASS, None), (DOOR, st.door), (SIGN, st.sign)):
        sel = rects[kinds == k]
        if len(sel):
            out.append(_fill(face, sel, colour, cfg, rng, detail, recess=RECESS[k]))
            out.append(_frames(face, sel, st.frame if k != SIGN else st.sign * 0.6, cfg, detail, mullion=k == GLASS))
    return Splats.cat(out)


def _in_rects(uz: np.ndarray, rects: np.ndarray, margin: float) -> np.ndarray:
    if len(rects) == 0:
        return np.zeros(len(uz), bool)
    u, z = uz[:, 0:1], uz[:, 1:2]
    r = rects[None]
    return ((u > r[..., 0] - margin) & (u < r[..., 1] + margin) & (z > r[..., 2] - margin)
            & (z < r[..., 3] + margin)).any(1)


def _same_size(rects: np.ndarray):
    """Yield ((width, height), rects of that size): openings of one size share one unit grid."""
    sizes = np.round(rects[:, [1, 3]] - rects[:, [0, 2]], 3)
    for size in np.unique(sizes, axis=0):
        yield size, rects[(sizes == size).all(1)]


def _fill(face: _Face, rects: np.ndarray, colour, cfg, rng, detail: float, recess: float) -> Splats:
    """Fill openings with glass (a sky reflection per window, lighter at the top) or a flat colour.

    The fill reaches a little under the surrounding wall and frame, so that oblique views of the
    recessed panel show no gap at its edges.
    """
    out = []
    pad = 0.08
    for size, group in _same_size(rects):
        s = cfg.glass_spacing * detail
        unit, pu, pz = rect_points(-pad, size[0] + pad, -pad, size[1] + pad, s, s)
        unit = unit[unit[:, 1] >= -group[:, 2].min()]  # not below the ground under a door
        uz = (group[:, None, [0, 2]] + unit[None]).reshape(-1, 2)
        if colour is None:
            sky = rng.uniform(0, 1, len(group)) ** 2
            dark, bright = np.asarray(cfg.facades.glass_dark), np.asarray(cfg.facades.glass_sky)
            base = dark + sky[:, None] * (bright - dark)
            height = np.tile(unit[:, 1] / max(size[1], 1e-6), len(group))
            rgb = np.repeat(base, len(unit), 0) * (0.8 + 0.4 * height)[:, None]
        else:
            rgb = np.tile(colour, (len(uz), 1))
        out.append(face.splats(uz, -recess, cfg.overlap * pu, cfg.overlap * pz, jitter_rgb(rgb, rng, cfg.noise * 0.5),
                               cfg.opacity))
    return Splats.cat(out)


def _frames(face: _Face, rects: np.ndarray, colour, cfg, detail: float, mullion: bool) -> Splats:
    """Thin proud bars along every opening's edges (and a centre mullion on wide windows)."""
    s = cfg.frame_spacing * detail
    half_w = 0.045
    out = []
    for (w, h), group in _same_size(rects):
        us = np.linspace(0.0, w, max(2, int(np.ceil(w / s)) + 1))
        zs = np.linspace(0.0, h, max(2, int(np.ceil(h / s)) + 1))
        horiz = np.concatenate([np.column_stack([us, np.full_like(us, z)]) for z in (0.0, h)])
        cols = [0.0, w] + ([0.5 * w] if mullion and w > 0.9 else [])
        vert = np.concatenate([np.column_stack([np.full_like(zs, u), zs]) for u in cols])
        for unit, su, sz in ((horiz, 0.6 * (us[1] - us[0]), half_w), (vert, half_w, 0.6 * (zs[1] - zs[0]))):
            uz = (group[:, None, [0, 2]] + unit[None]).reshape(-1, 2)
            out.append(face.splats(uz, 0.02, su, sz, np.asarray(colour), cfg.opacity))
    return Splats.cat(out)
