"""A KL penalty that keeps the fine-tuned policy near the imported checkpoint (RLHF-style).

With ~2,000 samples per update the policy gradient can be mostly noise, and PPO's adaptive rate
takes a full KL-sized step every update whatever the signal: over tens of updates the anchor scores
can random-walk away from the checkpoint (a re-run of the README's documented recipe lost 21
points of held-out SR). Adding coef * KL(pi_theta || pi_ref) to the loss, pi_ref the checkpoint
(RAM's frozen path, which costs one more decoder pass and no copy), pulls back what the advantages
do not keep pushing. Measured once (coef 0.5): level with the checkpoint on held-out blocks, no
gain (README); off by default.
The KL is the mode-matched bound of s2e.rl.action_distribution: the anchor scores' categorical
KL plus each mode's shift of its mean waypoints, in units of the kernel width.

rsl-rl's PPO has one hook for an extra actor loss inside its update: the symmetry extension's slot
(`compute_loss(actor, batch, n)`, added to the loss times `mirror_loss_coeff` when
`use_mirror_loss`; `augment_batch` before the forward pass). This class fills that slot, so PPO's
update is reused as is; S2EPPO reports its value as `kl_ref`, not `symmetry`.
"""

from __future__ import annotations

import torch

from s2e.rl.action_distribution import MixtureActionDistribution


class ReferenceKLPenalty:
    """coef * mean KL(pi_theta || pi_ref) over a mini-batch, in rsl-rl's auxiliary-loss slot."""

    use_data_augmentation = False
    use_mirror_loss = True

    def __init__(self, coef: float):
        if coef <= 0:
            raise ValueError(f"ref_kl_coef must be > 0 to build a reference penalty (0: no penalty), got {coef}")
        self.mirror_loss_coeff = float(coef)
        self.top_mode_agreement: list[float] = []
        """Per mini-batch: fraction of states whose top anchor is still the checkpoint's (for logging)."""

    def augment_batch(self, batch, original_batch_size: int) -> None:
        """Nothing to add to the batch."""

    def compute_loss(self, actor, batch, original_batch_size: int) -> torch.Tensor:
        """KL of the actor's current mini-batch distribution (its last forward pass) from the checkpoint's."""
        current = tuple(p[:original_batch_size] for p in actor.output_distribution_params)
        reference = actor.reference_params(batch.observations[:original_batch_size])
        with torch.no_grad():
            same = current[0].argmax(-1) == reference[0].argmax(-1)
            self.top_mode_agreement.append(same.float().mean().item())
        return MixtureActionDistribution.kl(current, reference, actor.speed_std).mean()

    def pop_top_mode_agreement(self) -> float:
        """Mean agreement over the update's mini-batches (and clear it)."""
        values, self.top_mode_agreement = self.top_mode_agreement, []
        return sum(values) / max(len(values), 1)
