"""Leave-one-out episode advantages of same-start groups (GRPO / RIPT-VLA style), for PPO's rollouts.

Envs come in groups of G consecutive envs that run the same episodes: member j's k-th episode has the
same block, start, goal and crowd as every other member's k-th episode (the navigation command's
`group_size`). The members differ only in what the policy drew, so comparing their returns isolates
the policy's share of the outcome: episode (g, k) of member i gets

    a_i = R_i - mean_{j != i} R_j        (returns in PPO's reward units, fixed scale: no std division)

and its samples get `coef * a_i` added to the critic's normalized GAE advantages. A group whose returns
are all equal carries no episode-level signal.

Members finish an episode at different steps, and a rollout only holds its last steps, so the term
goes to the samples of episodes that end in the current rollout (their last <= num_steps_per_env
steps: for a collision, the seconds that led to it), with the mean over the members that have
finished the same episode by then. A member that finishes first has no peer yet and gets no term;
the later ones compare with it. `coverage` logs the share of ended episodes that got a term.
"""

from __future__ import annotations

import torch


def leave_one_out(returns: torch.Tensor, known: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each member's return minus the mean of the other known members' returns.

    returns, known: [..., G] (returns where known is False are ignored). Returns (advantage, has_peer):
    advantage [..., G] is 0 where the member has no known peer or is itself unknown.
    """
    r = torch.where(known, returns, torch.zeros_like(returns))
    k = known.to(returns.dtype)
    peers = k.sum(-1, keepdim=True) - k
    others = r.sum(-1, keepdim=True) - r
    has_peer = known & (peers > 0)
    advantage = torch.where(has_peer, r - others / peers.clamp_min(1), torch.zeros_like(r))
    return advantage, has_peer


class GroupAdvantages:
    """Records episode returns per same-start group during a rollout and adds the leave-one-out term to
    the stored advantages (see the module docstring). Envs e = g * G + j; episode numbers count each
    env's ended episodes, as the navigation command counts its resets."""

    def __init__(self, num_envs: int, group_size: int, coef: float, device, window: int = 16):
        if group_size < 2 or num_envs % group_size:
            raise ValueError(f"same-start groups need group_size >= 2 dividing num_envs, got {group_size} for "
                             f"{num_envs} envs")
        self.num_envs, self.group_size, self.coef, self.window = num_envs, group_size, float(coef), window
        groups = num_envs // group_size
        self.device = device
        self.running = torch.zeros(num_envs, device=device)
        """Return of each env's current episode so far."""
        self.episode = torch.zeros(num_envs, dtype=torch.long, device=device)
        """Number of episodes each env has ended (its current episode's number)."""
        self.table = torch.zeros(groups, window, group_size, device=device)
        self.table_episode = torch.full((groups, window, group_size), -1, dtype=torch.long, device=device)
        """Finished returns by (group, episode number mod window, member), with the episode number they belong to."""
        self._ended: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = []
        self.logs: dict[str, float] = {}

    def record(self, rewards: torch.Tensor, dones: torch.Tensor) -> None:
        """One env step: accumulate returns; store the returns of the episodes that ended at this step."""
        self.running += rewards.view(-1).to(self.running.dtype)
        done = dones.view(-1).bool()
        ids = done.nonzero().view(-1)
        k = self.episode[ids]
        g, j = ids // self.group_size, ids % self.group_size
        self.table[g, k % self.window, j] = self.running[ids]
        self.table_episode[g, k % self.window, j] = k
        self._ended.append((ids, k, self.running[ids].clone()))
        self.running[ids] = 0.0
        self.episode[ids] += 1

    def apply(self, advantages: torch.Tensor) -> None:
        """Add coef * leave-one-out advantage to the samples [T, E, 1] of every episode that ended in this rollout
        (the steps since its env's previous end in the rollout), then start the next rollout's record."""
        steps = len(self._ended)
        if steps != advantages.shape[0]:
            raise ValueError(f"recorded {steps} steps, the rollout has {advantages.shape[0]}")
        term = torch.zeros(self.num_envs, device=self.device)
        ended = covered = 0
        spread = []
        for t in reversed(range(steps)):  # over time, like GAE; each step is batched over its ended envs
            ids, k, _ = self._ended[t]
            if len(ids):
                g = ids // self.group_size
                slot = k % self.window
                returns, members = self.table[g, slot], self.table_episode[g, slot]
                advantage, has_peer = leave_one_out(returns, members == k[:, None])
                mine = advantage[torch.arange(len(ids), device=self.device), ids % self.group_size]
                peer = has_peer[torch.arange(len(ids), device=self.device), ids % self.group_size]
                term[ids] = torch.where(peer, self.coef * mine, torch.zeros_like(mine))
                ended, covered = ended + len(ids), covered + int(peer.sum())
                spread.append(mine[peer])
            advantages[t, :, 0] += term
        self._ended.clear()
        values = torch.cat(spread) if spread else torch.zeros(0)
        self.logs = {"group_coverage": covered / ended if ended else 0.0,
                     "group_advantage_abs": float(values.abs().mean()) if len(values) else 0.0}
