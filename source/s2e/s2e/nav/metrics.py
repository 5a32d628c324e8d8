"""Per-episode navigation metrics from recorded trajectories (NavBench-GS's definitions).

The simulator computes the same quantities online step by step (`s2e.nav.episode_state`, which
calls `contact_onsets` and `update_route_progress`); these functions take whole recorded
trajectories, batched over episodes, so a metric can be checked on a hand-made path.

- RC, route completion: monotone progress along the reference route / its length (1 on arrival);
  the projection may advance at most `window` m per step, so cutting across a bent route is not credit.
- CT, collisions: distinct contacts, i.e. steps where a contact begins, not steps in contact.
- path-length ratio: driven path length / reference route length.
"""

from __future__ import annotations

import torch

from ..urban.routes import route_lengths, update_route_progress


def contact_onsets(colliding: torch.Tensor, was_colliding: torch.Tensor) -> torch.Tensor:
    """Bool: a contact begins now (touching now, not touching at the previous step)."""
    return colliding & ~was_colliding


def count_contacts(colliding: torch.Tensor) -> torch.Tensor:
    """[N, T] bool per step -> [N] number of distinct contacts."""
    before = torch.zeros_like(colliding[:, :1])
    return contact_onsets(colliding, torch.cat([before, colliding[:, :-1]], dim=1)).sum(dim=1)


def path_length(trajectories: torch.Tensor) -> torch.Tensor:
    """[N, T, 2] positions -> [N] length of the driven path (m)."""
    return (trajectories[:, 1:] - trajectories[:, :-1]).norm(dim=-1).sum(dim=1)


def route_completion(trajectories: torch.Tensor, routes: torch.Tensor, arrived: torch.Tensor | None = None,
                     window: float = 3.0) -> torch.Tensor:
    """[N, T, 2] positions along [N, K, 2] reference routes -> [N] RC in [0, 1] (1 where `arrived`)."""
    progress = torch.zeros(trajectories.shape[0], dtype=trajectories.dtype, device=trajectories.device)
    for t in range(trajectories.shape[1]):  # a recurrence over time, batched over episodes
        progress = update_route_progress(progress, trajectories[:, t], routes, window)
    rc = (progress / route_lengths(routes).clamp_min(1e-6)).clamp(0, 1)
    return rc if arrived is None else torch.where(arrived, torch.ones_like(rc), rc)
