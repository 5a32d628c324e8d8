"""Animated pedestrians as Gaussians, posed for every actor at once from (xy, yaw, gait phase).

Each actor is a ~1.7 m figure of a few hundred ellipsoid Gaussians (head, hair, torso, arms, legs,
shoes) with its own clothes, skin, hair and height drawn from a seed. The figure is a template in a
local frame (x forward, z up, feet at z = 0); walking swings the legs about the hips and the arms
about the shoulders (left and right in opposite phase, arms opposite to legs), bends the knee during
the swing and lowers the body as the stance leg leans. Posing is one batched tensor computation over all actors, so a
crowd of num_envs x pedestrians costs no Python loop per actor.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ..rendering.gaussians import SH_C0, GaussianScene
from ..rendering.transforms import quat_from_axis_angle, quat_from_yaw, quat_multiply

SKIN, HAIR, SHIRT, TROUSERS, SHOES, FOREARM, SHIN = range(7)
SKINS = [(0.95, 0.8, 0.69), (0.87, 0.68, 0.55), (0.72, 0.52, 0.38), (0.55, 0.38, 0.26), (0.38, 0.26, 0.18)]
HAIRS = [(0.08, 0.07, 0.06), (0.23, 0.15, 0.09), (0.42, 0.28, 0.15), (0.75, 0.62, 0.38), (0.62, 0.62, 0.6)]
TROUSER_COLOURS = [(0.2, 0.27, 0.42), (0.1, 0.1, 0.12), (0.6, 0.55, 0.4), (0.4, 0.4, 0.42), (0.35, 0.25, 0.18)]
SHOE_COLOURS = [(0.08, 0.08, 0.08), (0.9, 0.9, 0.88), (0.3, 0.2, 0.12)]
NONE, LEFT_LEG, RIGHT_LEG, LEFT_ARM, RIGHT_ARM = range(5)
HIP_HEIGHT = 0.9


@dataclass
class PedestrianGaussiansCfg:
    """Figure size, appearance ranges and gait of the pedestrian Gaussians."""

    height_range: tuple[float, float] = (0.92, 1.08)
    """Scale of the 1.7 m template per actor."""
    girth_range: tuple[float, float] = (0.9, 1.15)
    """Extra scale of the body's width (y) per actor."""
    leg_swing: float = 0.45
    """Hip swing amplitude (rad)."""
    arm_swing: float = 0.35
    """Shoulder swing amplitude (rad), opposite to the legs."""
    knee_bend: float = 0.7
    """Largest knee flexion during the swing phase (rad)."""
    elbow_bend: float = 0.25
    """Elbow flexion at rest (rad); the swing adds up to half the arm swing."""
    opacity: float = 0.98
    shorts_prob: float = 0.2
    """Share of actors whose shins show skin (shorts) ..."""
    short_sleeves_prob: float = 0.4
    """... and whose forearms do (short sleeves)."""


class PedestrianGaussians:
    """Gaussian figures for `num_actors` actors (see module docstring)."""

    def __init__(self, num_actors: int, cfg: PedestrianGaussiansCfg = PedestrianGaussiansCfg(), seed: int = 0,
                 device: str | torch.device = "cpu"):
        self.cfg, self.num_actors = cfg, num_actors
        rng = np.random.default_rng(seed)
        t = _template()
        self.num_gaussians = len(t["pos"])
        self.height_scale = rng.uniform(*cfg.height_range, num_actors)
        self.girth = rng.uniform(*cfg.girth_range, num_actors)
        sh = (_appearance(rng, num_actors, t, cfg) - 0.5) / SH_C0  # degree-0 SH of the colours
        self._np = dict(t, sh=sh[:, :, None, :], height_scale=self.height_scale, girth=self.girth)
        self._cache: dict[torch.device, dict[str, torch.Tensor]] = {}
        self.device = torch.device(device)
        self._on(self.device)

    def _on(self, device: torch.device) -> dict[str, torch.Tensor]:
        """Template and appearance tensors on `device` (copied once per device)."""
        if device not in self._cache:
            self._cache[device] = {k: _tensor(v, device) for k, v in self._np.items()}
        return self._cache[device]

    def gaussians(self, xy: torch.Tensor, yaw: torch.Tensor, phase: torch.Tensor, z0: torch.Tensor | None = None,
                  visible: torch.Tensor | None = None) -> GaussianScene:
        """Posed figures [A, Np, ...] at positions xy [A, 2] facing yaw [A], in the frame of xy."""
        t = self._on(xy.device)
        a = self.num_actors
        if xy.shape != (a, 2):
            raise ValueError(f"xy has shape {tuple(xy.shape)}, expected ({a}, 2)")
        yaw, phase = yaw.to(xy).reshape(a), phase.to(xy).reshape(a)
        local, angle = self._pose(t, phase)
        h, g = t["height_scale"][:, None], t["girth"][:, None]
        local = local * torch.stack([h, h * g, h], -1)
        c, s = torch.cos(yaw)[:, None], torch.sin(yaw)[:, None]
        z = torch.zeros_like(xy[:, 0]) if z0 is None else z0.to(xy).reshape(a)
        means = torch.stack([c * local[..., 0] - s * local[..., 1] + xy[:, 0:1],
                             s * local[..., 0] + c * local[..., 1] + xy[:, 1:2], local[..., 2] + z[:, None]], -1)
        ey = torch.tensor([0.0, 1.0, 0.0], device=xy.device)
        quats = quat_multiply(quat_from_yaw(yaw)[:, None, :], quat_from_axis_angle(ey, -angle))
        scales = t["sigma"][None] * torch.stack([h, h * g, h], -1)
        opac = torch.full((a, self.num_gaussians), self.cfg.opacity, device=xy.device)
        if visible is not None:
            opac = opac * visible.to(xy.device).reshape(a, 1).float()
        return GaussianScene(means, quats, scales, opac, t["sh"].to(means.dtype))

    def _pose(self, t: dict[str, torch.Tensor], phase: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Template positions [A, Np, 3] after limb swing, and each Gaussian's rotation about -y [A, Np]."""
        cfg = self.cfg
        sin, cos, zero = torch.sin(phase), torch.cos(phase), torch.zeros_like(phase)
        swing = torch.stack([zero, cfg.leg_swing * sin, -cfg.leg_swing * sin, -cfg.arm_swing * sin,
                             cfg.arm_swing * sin], -1)
        elbow = cfg.elbow_bend + 0.5 * cfg.arm_swing * sin.abs()
        bend = torch.stack([zero, -cfg.knee_bend * cos.clamp_min(0), -cfg.knee_bend * (-cos).clamp_min(0), elbow,
                            elbow], -1)
        a1 = swing[:, t["limb"]]
        a2 = a1 + bend[:, t["limb"]] * t["lower"].float()
        p1, p2, x = t["pivot1"][None], t["pivot2"][None], t["pos"][None]
        pos = p1 + _rot_xz(p2 - p1, a1) + _rot_xz(x - p2, a2)
        # The body sinks as the straight stance leg leans, so that the stance foot stays on the ground.
        sink = HIP_HEIGHT * (1 - torch.cos(cfg.leg_swing * sin))
        up = torch.tensor([0.0, 0.0, 1.0], device=phase.device)
        return pos - sink[:, None, None] * up, a2


def advance_phase(phase: torch.Tensor, speed: torch.Tensor | float, dt: float, stride: float = 1.4) -> torch.Tensor:
    """Gait phase after walking `speed * dt` metres; one cycle (two steps) per `stride` metres, in [0, 2pi)."""
    distance = torch.as_tensor(speed, dtype=phase.dtype, device=phase.device).abs() * dt
    return torch.remainder(phase + 2 * math.pi * distance / stride, 2 * math.pi)


def _tensor(v: np.ndarray, device: torch.device) -> torch.Tensor:
    dtype = torch.bool if v.dtype == bool else (torch.long if v.dtype.kind in "iu" else torch.float32)
    return torch.as_tensor(v, dtype=dtype, device=device)


def _rot_xz(v: torch.Tensor, angle: torch.Tensor) -> torch.Tensor:
    """Rotate vectors [..., 3] in the x-z plane; a positive angle swings a downward limb forward (+x)."""
    c, s = torch.cos(angle)[..., None], torch.sin(angle)[..., None]
    x, y, z = v[..., 0:1], v[..., 1:2], v[..., 2:3]
    return torch.cat([x * c - z * s, y.expand_as(x * c), x * s + z * c], -1)


def _appearance(rng: np.random.Generator, n: int, t: dict, cfg: PedestrianGaussiansCfg) -> np.ndarray:
    """Per-actor colours [A, Np, 3] of every Gaussian from its material."""
    pick = lambda table: np.asarray(table)[rng.integers(len(table), size=n)]
    skin, hair, trousers, shoes = pick(SKINS), pick(HAIRS), pick(TROUSER_COLOURS), pick(SHOE_COLOURS)
    shirt = _bright_colours(rng, n)
    forearm = np.where(rng.random((n, 1)) < cfg.short_sleeves_prob, skin, shirt)
    shin = np.where(rng.random((n, 1)) < cfg.shorts_prob, skin, trousers)
    table = np.stack([skin, hair, shirt, trousers, shoes, forearm, shin], 1)  # [A, 7, 3]
    rgb = table[:, t["material"]] * t["tone"][None, :, None]
    return np.clip(rgb * (1 + 0.04 * rng.standard_normal(rgb.shape[:2] + (1,))), 0, 1)


def _bright_colours(rng: np.random.Generator, n: int) -> np.ndarray:
    """Shirt colours: random hue, moderate saturation, some near-white or near-black."""
    hue = rng.uniform(0, 1, n)
    sat, val = rng.uniform(0.25, 0.8, n), rng.uniform(0.35, 0.9, n)
    k = (np.array([5.0, 3.0, 1.0])[None] + hue[:, None] * 6) % 6
    rgb = val[:, None] * (1 - sat[:, None] * np.clip(np.minimum(k, 4 - k), 0, 1))
    neutral = rng.random(n) < 0.2
    rgb[neutral] = rng.uniform(0.08, 0.9, (neutral.sum(), 1))
    return rgb


def _template() -> dict[str, np.ndarray]:
    """The 1.7 m figure: per Gaussian position, std-devs, material, shading tone, limb and pivots."""
    parts: list[dict] = []
    for side, leg, arm in ((1.0, LEFT_LEG, LEFT_ARM), (-1.0, RIGHT_LEG, RIGHT_ARM)):
        hip, knee = (0.0, side * 0.09, HIP_HEIGHT), (0.0, side * 0.09, 0.49)
        parts.append(_rod((0, side * 0.09, 0.88), (0, side * 0.09, 0.52), (0.075, 0.058), TROUSERS, leg, False, hip,
                          hip))
        parts.append(_rod((0, side * 0.09, 0.49), (0, side * 0.09, 0.1), (0.055, 0.042), SHIN, leg, True, hip, knee))
        parts.append(_rod((-0.05, side * 0.09, 0.045), (0.13, side * 0.09, 0.045), (0.045, 0.04), SHOES, leg, True, hip,
                          knee))
        shoulder, elbow = (0.0, side * 0.2, 1.4), (0.0, side * 0.215, 1.13)
        parts.append(_rod((0, side * 0.205, 1.39), (0, side * 0.215, 1.15), (0.05, 0.042), SHIRT, arm, False, shoulder,
                          shoulder))
        parts.append(_rod((0, side * 0.215, 1.12), (0, side * 0.22, 0.9), (0.038, 0.032), FOREARM, arm, True, shoulder,
                          elbow))
        parts.append(_rod((0.01, side * 0.22, 0.87), (0.015, side * 0.22, 0.8), (0.035, 0.03), SKIN, arm, True,
                          shoulder, elbow))
    parts.append(_torso())
    parts.append(_rod((0.0, 0.0, 1.42), (0.0, 0.0, 1.52), (0.05, 0.05), SKIN))
    parts.append(_head())
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _part(pos, sigma, material, limb=NONE, lower=False, pivot1=(0, 0, 0), pivot2=(0, 0, 0), tone=None) -> dict:
    n = len(pos)
    return dict(pos=np.asarray(pos, np.float32), sigma=np.broadcast_to(np.asarray(sigma, np.float32), (n, 3)).copy(),
                material=np.full(n, material, np.int64), limb=np.full(n, limb, np.int64), lower=np.full(n, lower),
                pivot1=np.tile(np.asarray(pivot1, np.float32), (n, 1)),
                pivot2=np.tile(np.asarray(pivot2, np.float32), (n, 1)),
                tone=np.ones(n, np.float32) if tone is None else np.asarray(tone, np.float32))


def _rod(p0, p1, radii, material, limb=NONE, lower=False, pivot1=(0, 0, 0), pivot2=(0, 0, 0),
         spacing: float = 0.04) -> dict:
    """A tapered limb segment as a row of ellipsoids from p0 to p1 (radius radii[0] -> radii[1])."""
    p0, p1 = np.asarray(p0, float), np.asarray(p1, float)
    n = max(2, int(np.ceil(np.linalg.norm(p1 - p0) / spacing)) + 1)
    s = np.linspace(0, 1, n)[:, None]
    pos = p0 + s * (p1 - p0)
    r = radii[0] + s[:, 0] * (radii[1] - radii[0])
    step = np.linalg.norm(p1 - p0) / (n - 1)
    axis = np.abs(p1 - p0) / np.linalg.norm(p1 - p0)
    sigma = 0.85 * r[:, None] * (1 - axis) + axis * max(0.8 * step, 0.02)
    return _part(pos, sigma, material, limb, lower, pivot1, pivot2)


def _torso() -> dict:
    """Pelvis (trousers) and chest (shirt): rows of blobs over an elliptic cross-section per level."""
    zs = np.arange(0.84, 1.43, 0.045)
    width = np.interp(zs, [0.84, 0.95, 1.1, 1.3, 1.42], [0.16, 0.155, 0.14, 0.165, 0.19])
    depth = np.interp(zs, [0.84, 1.1, 1.3, 1.42], [0.1, 0.09, 0.11, 0.08])
    ys = np.array([-0.75, -0.25, 0.25, 0.75])
    xs = np.array([-0.4, 0.4])
    z, yf, xf = np.meshgrid(zs, ys, xs, indexing="ij")
    w, d = np.interp(z, zs, width), np.interp(z, zs, depth)
    pos = np.stack([xf * d, yf * w, z], -1).reshape(-1, 3)
    sigma = np.stack([0.55 * d, 0.32 * w, np.full_like(w, 0.035)], -1).reshape(-1, 3)
    material = np.where(pos[:, 2] < 0.96, TROUSERS, SHIRT)
    tone = 1 - 0.15 * (np.abs(yf) * np.abs(xf) / 0.3).reshape(-1)
    parts = [_part(pos[material == m], sigma[material == m], m, tone=tone[material == m]) for m in (TROUSERS, SHIRT)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _head() -> dict:
    """Skin ellipsoid with a nose, and a hair cap over the top and back."""
    centre, radii = np.array([0.01, 0.0, 1.6]), np.array([0.095, 0.08, 0.11])
    offsets = np.array([[0, 0, 0], [0.04, 0, 0], [-0.04, 0, 0], [0, 0.035, 0], [0, -0.035, 0], [0, 0, 0.05],
                        [0, 0, -0.05]])
    face = _part(centre + offsets, [0.06, 0.055, 0.065], SKIN)
    nose = _part(centre[None] + [[0.09, 0.0, -0.01]], [0.02, 0.015, 0.025], SKIN)
    k = np.arange(60) + 0.5
    polar, azim = np.arccos(1 - 2 * k / 60), math.pi * (1 + 5 ** 0.5) * k
    dirs = np.stack([np.sin(polar) * np.cos(azim), np.sin(polar) * np.sin(azim), np.cos(polar)], -1)
    dirs = dirs[(dirs[:, 2] > 0.3) | ((dirs[:, 0] < -0.2) & (dirs[:, 2] > -0.6))]
    hair = _part(centre + 0.92 * radii * dirs, [0.04, 0.04, 0.035], HAIR)
    parts = [face, nose, hair]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
