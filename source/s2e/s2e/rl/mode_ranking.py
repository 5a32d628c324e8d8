"""A ranking loss that fits the policy's anchor scores to per-mode experience labels.

Each rollout sample carries the labeler's score of every mode (observation `mode_labels` [B, M],
s2e.nav.mode_labels, written by AGDMObservationEnv). The loss is the cross-entropy of the actor's
anchor distribution to the labels' softmax at temperature tau (metres of route progress):

    L_rank = - sum_m softmax(label / tau)_m * log q_m

It acts on the ranking itself, every mode at every sample, where PPO's policy gradient reaches one
drawn mode per step through a noisy advantage (Hydra-MDP distils simulator metrics into per-trajectory
scores the same way). It flows into whatever the strategy trains (RAM only by default): the frozen
path, anchors and heads never change.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

LABELS_KEY = "mode_labels"


def ranking_targets(labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """softmax(labels / tau) over the modes: [B, M]."""
    return F.softmax(labels / temperature, dim=-1)


def ranking_loss(logits: torch.Tensor, labels: torch.Tensor, temperature: float) -> torch.Tensor:
    """Mean cross-entropy of softmax(logits) to softmax(labels / tau) over a batch [B, M]: scalar."""
    targets = ranking_targets(labels, temperature)
    return -(targets * F.log_softmax(logits, dim=-1)).sum(-1).mean()


class ModeRankingLoss:
    """coef * ranking_loss of the actor's last forward pass to the mini-batch's stored labels."""

    name = "rank"

    def __init__(self, coef: float, temperature: float):
        if coef <= 0 or temperature <= 0:
            raise ValueError(f"mode_label_coef and mode_label_temperature must be > 0, got {coef} and {temperature}")
        self.coef, self.temperature = float(coef), float(temperature)
        self.top_mode_agreement: list[float] = []
        """Per mini-batch: fraction of states whose top anchor is the labels' best mode (for logging)."""

    def __call__(self, actor, observations, current) -> torch.Tensor:
        if LABELS_KEY not in observations.keys():
            raise KeyError(f"the rollout has no {LABELS_KEY!r} observation: wrap the env with AGDMObservationEnv(labeler=...)")
        labels = observations[LABELS_KEY]
        logits = current[0]
        with torch.no_grad():
            self.top_mode_agreement.append((logits.argmax(-1) == labels.argmax(-1)).float().mean().item())
        return ranking_loss(logits, labels, self.temperature)

    def pop_logs(self) -> dict[str, float]:
        values, self.top_mode_agreement = self.top_mode_agreement, []
        return {"label_top_mode_agreement": sum(values) / max(len(values), 1)}
