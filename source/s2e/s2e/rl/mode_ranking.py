"""A ranking loss that fits the policy's anchor scores to per-mode experience labels.

Each rollout sample carries the labeler's score of every mode (observation `mode_labels` [B, M],
s2e.nav.mode_labels) and the imported checkpoint's anchor log-probabilities (`mode_prior` [B, M]),
both written by AGDMObservationEnv. The loss is the cross-entropy of the actor's anchor distribution
to a target at temperature tau (metres of route progress):

    L_rank = - sum_m p_m * log q_m,   p = softmax(log q_ref + label / tau)   (prior=True)
                                      p = softmax(label / tau)                (prior=False)

With the prior the target is the KL-regularized optimum of the labels, argmax_p E_p[label] - tau KL(p || q_ref):
the checkpoint's preferences ("seeing") tilted by what the simulator says of each mode
("experiencing"), so a colliding top mode loses its mass to the checkpoint's best safe alternative
while the spread of the scores stays the checkpoint's. Without it the target is the labels alone,
which spreads the scores over every mode of similar progress.

It acts on the ranking itself, every mode at every sample, where PPO's policy gradient reaches one
drawn mode per step through a noisy advantage (Hydra-MDP distils simulator metrics into per-trajectory
scores the same way). It flows into whatever the strategy trains (RAM only by default): the frozen
path, anchors and heads never change.

Inside PPO's update the loss shares the actor's optimizer step and PPO's adaptive rate, which the
surrogate's KL sets. `RankingFitPhase` gives it a step of its own instead: after PPO's update, a few
passes of the ranking loss alone over the same rollout, with its own Adam and a fixed rate.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

LABELS_KEY = "mode_labels"
PRIOR_KEY = "mode_prior"


def ranking_targets(labels: torch.Tensor, temperature: float, prior: torch.Tensor | None = None) -> torch.Tensor:
    """softmax(prior + labels / tau) over the modes ([B, M]; prior: log-probabilities, None: uniform)."""
    scores = labels / temperature
    return F.softmax(scores if prior is None else prior + scores, dim=-1)


def reranked_logits(logits: torch.Tensor, labels: torch.Tensor, temperature: float, prior: bool = True) -> torch.Tensor:
    """Log-probabilities of ranking_targets for a model's anchor scores `logits` [B, M] (prior: softmax(logits)): the
    scores a model would have if the ranking loss fitted it exactly; their argmax is the labels' choice of mode."""
    return torch.log(ranking_targets(labels, temperature, torch.log_softmax(logits, -1) if prior else None))


def ranking_loss(logits: torch.Tensor, labels: torch.Tensor, temperature: float,
                 prior: torch.Tensor | None = None) -> torch.Tensor:
    """Mean cross-entropy of softmax(logits) to ranking_targets over a batch [B, M]: scalar."""
    targets = ranking_targets(labels, temperature, prior)
    return -(targets * F.log_softmax(logits, dim=-1)).sum(-1).mean()


class ModeRankingLoss:
    """coef * ranking_loss of the actor's last forward pass to the mini-batch's stored labels."""

    name = "rank"

    def __init__(self, coef: float, temperature: float, prior: bool = True):
        if coef <= 0 or temperature <= 0:
            raise ValueError(f"mode_label_coef and mode_label_temperature must be > 0, got {coef} and {temperature}")
        self.coef, self.temperature, self.prior = float(coef), float(temperature), bool(prior)
        self.top_mode_agreement: list[float] = []
        """Per mini-batch: fraction of states whose top anchor is the target's top mode (for logging)."""

    def __call__(self, actor, observations, current) -> torch.Tensor:
        if LABELS_KEY not in observations.keys():
            raise KeyError(f"the rollout has no {LABELS_KEY!r} observation: wrap the env with "
                           "AGDMObservationEnv(labeler=...)")
        labels = observations[LABELS_KEY]
        prior = observations[PRIOR_KEY] if self.prior else None
        logits = current[0]
        with torch.no_grad():
            best = ranking_targets(labels, self.temperature, prior).argmax(-1)
            self.top_mode_agreement.append((logits.argmax(-1) == best).float().mean().item())
        return ranking_loss(logits, labels, self.temperature, prior)

    def pop_logs(self) -> dict[str, float]:
        values, self.top_mode_agreement = self.top_mode_agreement, []
        return {"label_top_mode_agreement": sum(values) / max(len(values), 1)}


class RankingFitPhase:
    """`epochs` passes of `loss` (a ModeRankingLoss, its coef ignored) alone over a rollout's shuffled mini-batches,
    stepping `params` (the actor's trainable ones) with an Adam of their own at a fixed `learning_rate`."""

    def __init__(self, loss: ModeRankingLoss, params, learning_rate: float, epochs: int, num_mini_batches: int,
                 max_grad_norm: float):
        if learning_rate <= 0 or epochs < 1 or num_mini_batches < 1:
            raise ValueError(f"the ranking fit needs learning_rate > 0, epochs >= 1 and num_mini_batches >= 1, got "
                             f"{learning_rate}, {epochs}, {num_mini_batches}")
        self.loss, self.params = loss, [p for p in params]
        self.optimizer = torch.optim.Adam(self.params, lr=learning_rate)
        self.epochs, self.num_mini_batches = int(epochs), int(num_mini_batches)
        self.max_grad_norm = float(max_grad_norm)

    def run(self, actor, storage, reduce_gradients=None) -> dict[str, float]:
        """Fit the ranking on `storage`'s rollout (rsl-rl RolloutStorage, read after PPO's update: its data stays
        until the next rollout overwrites it); returns the mean loss and the top-mode agreement in the last pass.
        `reduce_gradients()` (multi-GPU: PPO's all-reduce) runs after each backward, so the ranks stay in step."""
        values = []
        for batch in storage.mini_batch_generator(self.num_mini_batches, self.epochs):
            actor(batch.observations)
            value = self.loss(actor, batch.observations, actor.output_distribution_params)
            self.optimizer.zero_grad()
            value.backward()
            if reduce_gradients is not None:
                reduce_gradients()
            nn.utils.clip_grad_norm_(self.params, self.max_grad_norm)
            self.optimizer.step()
            values.append(value.item())
        last_pass = self.loss.top_mode_agreement[-self.num_mini_batches:]
        self.loss.pop_logs()
        return {"rank_fit": sum(values) / max(len(values), 1),
                "rank_fit_agreement": sum(last_pass) / max(len(last_pass), 1)}
