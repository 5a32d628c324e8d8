"""AGDM anchors: K-means over the training trajectories' intent points.

Each anchor is one mixture mode's prior intent (where the trajectory ends, in normalized units),
so anchors cover the directions and distances the data actually contains.
"""

from __future__ import annotations

import torch

_CHUNK = 65536  # rows per distance block: bounds memory at CHUNK x M doubles


def anchor_points(waypoints: torch.Tensor) -> torch.Tensor:
    """Intent point of each trajectory = its final normalized waypoint: [N, W, 2] -> [N, 2]."""
    return waypoints[:, -1, :]


def _nearest(points: torch.Tensor, centers: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Squared distance to, and index of, the nearest center for every point (chunked)."""
    d2, idx = [], []
    for chunk in points.split(_CHUNK):
        d = torch.cdist(chunk, centers).square()
        v, i = d.min(dim=1)
        d2.append(v)
        idx.append(i)
    return torch.cat(d2), torch.cat(idx)


def _kmeans_pp(points: torch.Tensor, m: int, gen: torch.Generator) -> torch.Tensor:
    """k-means++ seeding: each next center drawn with probability proportional to D(x)^2."""
    n = points.shape[0]
    centers = [points[torch.randint(n, (1,), generator=gen)].squeeze(0)]
    d2 = (points - centers[0]).square().sum(-1)
    for _ in range(1, m):
        total = d2.sum()
        if total > 0:
            i = torch.multinomial(d2 / total, 1, generator=gen)
        else:  # every point already coincides with a center: any point will do (jittered later)
            i = torch.randint(n, (1,), generator=gen)
        c = points[i].squeeze(0)
        centers.append(c)
        d2 = torch.minimum(d2, (points - c).square().sum(-1))
    return torch.stack(centers)


def _separate_duplicates(centers: torch.Tensor, gen: torch.Generator, scale: float = 1e-3) -> torch.Tensor:
    """Give coincident centers a tiny deterministic jitter so every mode has a distinct anchor."""
    out = centers.clone()
    for i in range(1, out.shape[0]):
        if (out[:i] - out[i]).abs().amax(-1).min() < scale * 1e-3:
            out[i] += scale * torch.randn(2, generator=gen, dtype=out.dtype)
    return out


def kmeans_anchors(points: torch.Tensor, m: int, iters: int = 50, seed: int = 0) -> torch.Tensor:
    """K-means (k-means++ init, Lloyd iterations) of intent points [N, 2] -> anchors [M, 2] (float32).

    Deterministic for a given seed (CPU float64). With fewer distinct points than M, the points
    are reused with a tiny jitter. Empty clusters keep their previous center.
    """
    if points.dim() != 2 or points.shape[1] != 2:
        raise ValueError(f"kmeans_anchors expects points [N, 2], got {tuple(points.shape)}")
    if points.shape[0] == 0:
        raise ValueError("kmeans_anchors needs at least one point")
    if m < 1:
        raise ValueError(f"kmeans_anchors needs m >= 1, got {m}")
    pts = points.detach().to("cpu", torch.float64)
    gen = torch.Generator().manual_seed(seed)
    if pts.shape[0] <= m:
        reps = pts[torch.arange(m) % pts.shape[0]]
        return _separate_duplicates(reps, gen).float()
    centers = _kmeans_pp(pts, m, gen)
    for _ in range(iters):
        _, assign = _nearest(pts, centers)
        sums = torch.zeros_like(centers).index_add_(0, assign, pts)
        counts = torch.bincount(assign, minlength=m).to(pts.dtype)[:, None]
        new = torch.where(counts > 0, sums / counts.clamp_min(1), centers)
        if torch.equal(new, centers):
            break
        centers = new
    return _separate_duplicates(centers, gen).float()
