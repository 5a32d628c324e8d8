"""A KL penalty that keeps the fine-tuned policy near the imported checkpoint (RLHF-style).

With a few thousand samples per update the policy gradient can be mostly noise, and PPO's adaptive
rate takes a full KL-sized step every update whatever the signal: over tens of updates the anchor
scores can random-walk away from the checkpoint. Adding coef * KL(pi_theta || pi_ref) to the loss,
pi_ref the checkpoint (RAM's frozen path, which costs one more decoder pass and no copy), pulls back
what the advantages do not keep pushing. The KL is the mode-matched bound of
s2e.rl.action_distribution: the anchor scores' categorical KL plus each mode's shift of its mean
waypoints, in units of the kernel width. It is one term of s2e.rl.loss_terms.
"""

from __future__ import annotations

import torch

from .action_distribution import MixtureActionDistribution


class ReferenceKLPenalty:
    """Mean KL(pi_theta || pi_ref) over a mini-batch (weighted by `coef` in the auxiliary loss)."""

    name = "kl_ref"

    def __init__(self, coef: float):
        if coef <= 0:
            raise ValueError(f"ref_kl_coef must be > 0 to build a reference penalty (0: no penalty), got {coef}")
        self.coef = float(coef)
        self.top_mode_agreement: list[float] = []
        """Per mini-batch: fraction of states whose top anchor is still the checkpoint's (for logging)."""

    def __call__(self, actor, observations, current) -> torch.Tensor:
        """KL of the actor's current mini-batch distribution `current` (its last forward pass) from the checkpoint's."""
        reference = actor.reference_params(observations)
        with torch.no_grad():
            same = current[0].argmax(-1) == reference[0].argmax(-1)
            self.top_mode_agreement.append(same.float().mean().item())
        return MixtureActionDistribution.kl(current, reference, actor.speed_std).mean()

    def pop_logs(self) -> dict[str, float]:
        """Mean agreement over the update's mini-batches (and clear it)."""
        values, self.top_mode_agreement = self.top_mode_agreement, []
        return {"ref_top_mode_agreement": sum(values) / max(len(values), 1)}
