"""Street furniture and obstacles as Gaussians, one look per kind of the layout's obstacle catalogue.

Each obstacle row (cx, cy, yaw, half_x, half_y, height, shape) is drawn to fill its collider: boxes
are cardboard, bins cylinders with a lid, benches wooden slats on metal legs, poles thin street
lamps, trees a trunk under a cluster of leafy blobs, scooters a coloured deck, stem and handlebar;
the colours are the config's prop palette (appearance_cfg.PropPalette).
"""

from __future__ import annotations

import numpy as np

from ..rendering.splats import Splats, blobs, box, chain, cylinder, jitter_rgb
from .appearance_cfg import UrbanGaussianCfg
from .layout import OBSTACLE_KINDS, UrbanLayout


def prop_splats(layout: UrbanLayout, cfg: UrbanGaussianCfg, rng: np.random.Generator, detail: float) -> Splats:
    """Gaussians of every obstacle of the block (furniture and spawned obstacles)."""
    out = []
    s = cfg.prop_spacing * detail
    for (cx, cy, yaw, hx, hy, h, _), kind in zip(layout.obstacles, layout.obstacle_kind):
        local = KIND_BUILDERS[OBSTACLE_KINDS[kind]](float(hx), float(hy), float(h), s, cfg, rng)
        local.rgb = jitter_rgb(local.rgb, rng, cfg.noise)
        out.append(local.placed(float(cx), float(cy), float(yaw)))
    return Splats.cat(out)


def _box(hx, hy, h, s, cfg, rng) -> Splats:
    body = box(hx, hy, 0.0, h, s, _rgb(cfg.props.cardboard) * rng.uniform(0.85, 1.1), cfg.opacity, cfg.overlap)
    tape = chain((-hx, 0, h + 0.004), (hx, 0, h + 0.004), 0.03, s, _rgb(cfg.props.tape), cfg.opacity)
    tape.scales[:, 2] = 0.005
    return Splats.cat([body, tape])


def _bin(hx, hy, h, s, cfg, rng) -> Splats:
    colour = _pick(cfg.props.bins, rng)
    body = cylinder(hx * 0.92, 0.0, h - 0.06, s * 1.2, colour, cfg.opacity, cfg.overlap, top=False)
    lid = cylinder(hx, h - 0.06, h, s * 1.2, colour * 0.7, cfg.opacity, cfg.overlap)
    return Splats.cat([body, lid])


def _bench(hx, hy, h, s, cfg, rng) -> Splats:
    seat_z = 0.85 * h
    wood, metal = _rgb(cfg.props.wood), _rgb(cfg.props.metal)
    parts = [chain((-hx, y, seat_z), (hx, y, seat_z), 0.035, s * 1.5, wood, cfg.opacity)
             for y in np.linspace(-hy + 0.05, hy - 0.05, 3)]
    back = [chain((-hx, -hy + 0.02, z), (hx, -hy + 0.02, z), 0.04, s * 1.5, wood, cfg.opacity)
            for z in (h + 0.12, h + 0.3)]
    legs = [chain((x, y, 0.0), (x, y, seat_z), 0.03, s, metal, cfg.opacity)
            for x in (-0.8 * hx, 0.8 * hx) for y in (-hy + 0.03, hy - 0.03)]
    posts = [chain((x, -hy + 0.02, seat_z), (x, -hy + 0.02, h + 0.36), 0.03, s, metal, cfg.opacity)
             for x in (-0.8 * hx, 0.8 * hx)]
    return Splats.cat(parts + back + legs + posts)


def _pole(hx, hy, h, s, cfg, rng) -> Splats:
    shaft = chain((0, 0, 0), (0, 0, h), hx * 0.7, s * 1.5, _rgb(cfg.props.pole), cfg.opacity)
    arm = chain((0, 0, h), (0.6, 0, h + 0.1), 0.04, s, _rgb(cfg.props.pole), cfg.opacity)
    head = blobs(np.array([[0.65, 0, h + 0.05]]), np.array([0.16, 0.09, 0.05]), _rgb(cfg.props.lamp), cfg.opacity)
    return Splats.cat([shaft, arm, head])


def _tree(hx, hy, h, s, cfg, rng) -> Splats:
    trunk = cylinder(hx * 0.55, 0.0, 0.62 * h, s * 1.2, _rgb(cfg.props.bark), cfg.opacity, cfg.overlap, top=False)
    radius = 0.27 * h
    centre = np.array([0.0, 0.0, 0.62 * h + 0.6 * radius])
    n = 70
    d = rng.standard_normal((n, 3))
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    r = radius * rng.uniform(0.3, 1.0, (n, 1)) ** 0.5
    means = centre + d * r * np.array([1.0, 1.0, 0.8])
    sigma = radius * rng.uniform(0.16, 0.28, (n, 1)) * np.ones(3)
    rgb = _rgb(cfg.props.leaves) * rng.uniform(0.75, 1.25, (n, 1)) + rng.normal(0, 0.03, (n, 3))
    canopy = blobs(means, sigma, rgb, 0.93, normals=d)
    return Splats.cat([trunk, canopy])


def _scooter(hx, hy, h, s, cfg, rng) -> Splats:
    colour = _pick(cfg.props.scooters, rng)
    deck = chain((-0.8 * hx, 0, 0.12), (0.7 * hx, 0, 0.12), 0.06, s, colour, cfg.opacity)
    deck.scales[:, 1] = 0.8 * hy
    wheels = blobs(np.array([[-0.85 * hx, 0, 0.09], [0.85 * hx, 0, 0.09]]), np.array([0.08, 0.03, 0.08]),
                   _rgb(cfg.props.metal), cfg.opacity)
    stem = chain((0.8 * hx, 0, 0.12), (0.85 * hx, 0, h), 0.03, s, colour, cfg.opacity)
    bar = chain((0.85 * hx, -hy, h), (0.85 * hx, hy, h), 0.025, s * 0.7, _rgb(cfg.props.metal), cfg.opacity)
    return Splats.cat([deck, wheels, stem, bar])


def _rgb(colour) -> np.ndarray:
    return np.asarray(colour, dtype=np.float64)


def _pick(colours, rng: np.random.Generator) -> np.ndarray:
    """One colour of a palette list, drawn as the generator's next integer (the block's draws stay in order)."""
    return _rgb(colours[rng.integers(len(colours))])


KIND_BUILDERS = {"box": _box, "bin": _bin, "bench": _bench, "pole": _pole, "tree": _tree, "scooter": _scooter}
