"""Extra actor losses inside rsl-rl's PPO update: the KL to the checkpoint and the mode-ranking loss.

rsl-rl's PPO has one hook for an extra actor loss inside its update: the symmetry extension's slot
(`compute_loss(actor, batch, n)`, added to the loss times `mirror_loss_coeff` when `use_mirror_loss`;
`augment_batch` before the forward pass). `AuxiliaryActorLosses` fills that slot with a weighted sum
of terms, so PPO's update is reused as is. Each term is called as `term(actor, observations,
current_params) -> scalar` on the mini-batch and the actor's last forward pass, has a `name` and a
`coef`, and `pop_logs()` gives its per-update diagnostics; S2EPPO logs each term under its name
instead of rsl-rl's `symmetry`.
"""

from __future__ import annotations

import torch


class AuxiliaryActorLosses:
    """sum_i coef_i * term_i over a mini-batch, in rsl-rl's symmetry slot (mirror_loss_coeff 1)."""

    use_data_augmentation = False
    use_mirror_loss = True
    mirror_loss_coeff = 1.0

    def __init__(self, terms: list):
        if not terms:
            raise ValueError("AuxiliaryActorLosses needs at least one term")
        self.terms = list(terms)
        self._values: dict[str, list[float]] = {t.name: [] for t in self.terms}

    def augment_batch(self, batch, original_batch_size: int) -> None:
        """Nothing to add to the batch."""

    def compute_loss(self, actor, batch, original_batch_size: int) -> torch.Tensor:
        current = tuple(p[:original_batch_size] for p in actor.output_distribution_params)
        observations = batch.observations[:original_batch_size]
        total = 0.0
        for term in self.terms:
            value = term(actor, observations, current)
            self._values[term.name].append(value.item())
            total = total + term.coef * value
        return total

    def pop_logs(self) -> dict[str, float]:
        """Each term's mean value over the update's mini-batches and its diagnostics (and clear them)."""
        logs = {}
        for term in self.terms:
            values, self._values[term.name] = self._values[term.name], []
            logs[term.name] = sum(values) / max(len(values), 1)
            logs.update(term.pop_logs())
        return logs
