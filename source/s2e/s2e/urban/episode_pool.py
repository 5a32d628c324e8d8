"""Episodes planned at start-up and drawn at reset with tensor ops, for any number of envs.

Planning an episode (start/goal draw, Dijkstra on the block's grid, string pulling) costs milliseconds
of host time, too much to do per env at every reset when thousands of envs run. So each env's first
`size` episodes are planned once, at start-up, from the env's own seeded generator, exactly as they
would be drawn one at a time: the k-th episode an env starts is its pool entry k while k < size, so a
fixed evaluation (a few episodes per env) is the same with or without the pool. From then on an
env's k-th episode is one of its pool entries picked by a hash of (seed, unit, k): deterministic per
env (or per same-start group, `unit`), whichever other envs reset at the same step.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from .layout import UrbanLayout
from .routes import Episode, RouteCfg, RoutePlanner

_PRIME = 2_147_483_647  # 2^31 - 1: products of two residues stay below 2^62 (int64)
_MULTIPLIER = 48_271  # MINSTD's multiplier, a primitive root of the prime


def reuse_index(seed: int, unit: torch.Tensor, k: torch.Tensor, size: int) -> torch.Tensor:
    """Pool entry in [0, size) of the k-th episode of `unit` (an env or a group) once its pool is used up.

    A few rounds of a Lehmer generator over (seed, unit, k) in int64 tensor arithmetic: deterministic,
    independent between units, and free of overflow.
    """
    h = (int(seed) % _PRIME * 1_000_003 + unit.long() % _PRIME * 7_919 + k.long() % _PRIME * 104_729) % _PRIME
    for _ in range(3):
        h = (h * _MULTIPLIER + 12_345) % _PRIME
    return h % size


PlannedEpisode = tuple[Episode, int, int]
"""(episode, tag, crowd seed): tag is a scene bundle's route index (-1 when sampled), crowd seed -1 when
the crowd's shared generator places it."""


def episode_generators(seed: int, unit: int, group_size: int, size: int) -> Iterator[tuple[np.random.Generator, int]]:
    """(generator, crowd seed) of a unit's episodes k = 0 .. size-1: one generator (seed * 7919 + env) for
    an env's whole sequence, or, for a same-start group, a generator of its own per episode from the seeds
    (seed, group, k), whose first draw is the episode's crowd seed (its members place the same crowd)."""
    rng = np.random.default_rng(seed * 7919 + unit) if group_size <= 1 else None
    for k in range(size):
        if rng is not None:
            yield rng, -1
        else:
            own = np.random.default_rng([seed, unit, k])
            yield own, int(own.integers(2**62))


def plan_block_episodes(layout: UrbanLayout, route: RouteCfg, seed: int, units: Sequence[int], group_size: int,
                        size: int, clearance: np.ndarray | None = None) -> list[list[PlannedEpisode]]:
    """The first `size` episodes of each unit whose envs drive on this procedural block, with one route
    planner for the block (`clearance`: its clearance map, if known). A function of its arguments only,
    so blocks can be planned on worker processes."""
    planner = RoutePlanner(layout, route, clearance)
    return [[(planner.sample_episode(rng), -1, crowd) for rng, crowd in episode_generators(seed, u, group_size, size)]
            for u in units]


@dataclass
class EpisodeBatch:
    """Episodes of the envs being reset, as tensors."""

    start: torch.Tensor  # [n, 2] tile frame
    start_yaw: torch.Tensor  # [n]
    goal: torch.Tensor  # [n, 2]
    routes: torch.Tensor  # [n, num_points, 2]
    tag: torch.Tensor  # [n] long: the pool's per-entry tag (a scene bundle's route index; -1 when sampled)
    crowd_seed: torch.Tensor  # [n] long: seed of the episode's crowd placement (-1: the crowd's shared generator)


class EpisodePool:
    """Each env's planned episodes [E, size, ...] and the number of episodes each env has started."""

    def __init__(self, start, start_yaw, goal, routes, tag, crowd_seed, unit: torch.Tensor, seed: int):
        self.start, self.start_yaw, self.goal, self.routes = start, start_yaw, goal, routes
        self.tag, self.crowd_seed = tag, crowd_seed
        self.unit, self.seed = unit, int(seed)
        self.size = start.shape[1]
        self.started = torch.zeros(len(unit), dtype=torch.long, device=start.device)
        """Episodes each env has started (its next episode's number k)."""

    @classmethod
    def from_units(cls, units: Sequence[int], planned: Mapping[int, Sequence[PlannedEpisode]], seed: int,
                   device: str | torch.device = "cpu") -> EpisodePool:
        """The pool of envs whose unit is units[i], from each unit's planned episodes (all of one length)."""
        rows = [planned[u] for u in units]
        if len({len(r) for r in rows}) != 1 or not rows[0]:
            raise ValueError("EpisodePool: every unit needs the same number (>= 1) of planned episodes")

        def stack(get, dtype):
            return torch.as_tensor(np.asarray([[get(e) for e in row] for row in rows]), dtype=dtype, device=device)

        return cls(stack(lambda e: e[0].start, torch.float), stack(lambda e: e[0].start_yaw, torch.float),
                   stack(lambda e: e[0].goal, torch.float), stack(lambda e: e[0].route, torch.float),
                   stack(lambda e: e[1], torch.long), stack(lambda e: e[2], torch.long),
                   torch.as_tensor(list(units), dtype=torch.long, device=device), seed)

    def draw(self, ids: torch.Tensor) -> EpisodeBatch:
        """The next episode of each env in `ids` (and count it as started)."""
        k = self.started[ids]
        entry = torch.where(k < self.size, k, reuse_index(self.seed, self.unit[ids], k, self.size))
        self.started[ids] = k + 1
        return EpisodeBatch(self.start[ids, entry], self.start_yaw[ids, entry], self.goal[ids, entry],
                            self.routes[ids, entry], self.tag[ids, entry], self.crowd_seed[ids, entry])
