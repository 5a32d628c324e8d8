"""The experimental recipes S2EPPO can add to rsl-rl's PPO, as terms it composes: `LossTerms`.

Each recipe is one term, built from its settings (the `loss_terms` dict of the algorithm cfg; a term whose
coefficient is 0 is left out, so an empty dict is plain PPO):

- `ref_kl_coef` > 0: coef * KL(actor || imported checkpoint) joins the actor's loss (s2e.rl.reference_kl);
- `mode_label_coef` > 0: coef * the cross-entropy of the anchor scores to per-mode experience labels joins it
  (s2e.rl.mode_ranking, with `mode_label_temperature` and `mode_label_prior`);
- `mode_label_epochs` > 0: after each update, a ranking phase of its own (RankingFitPhase, `mode_label_learning_rate`);
- `group_advantage_coef` > 0 with `group_size` >= 2: leave-one-out episode advantages of same-start groups join
  the normalized advantages (s2e.rl.group_advantages).

How an actor term reaches PPO's update without forking it: rsl-rl's `PPO.update` zeroes the gradients with
`optimizer.zero_grad()` right before `loss.backward()` on each mini-batch, after the actor's forward pass on it.
S2EPPO's optimizer calls `add_actor_gradients` there: the terms are evaluated on the actor's last forward pass
(its distribution and the mini-batch's observations) and their weighted sum is back-propagated, so the
gradients PPO then accumulates, clips, all-reduces and steps are those of PPO's loss plus the terms.
"""

from __future__ import annotations

import torch

from .group_advantages import GroupAdvantages
from .mode_ranking import ModeRankingLoss, RankingFitPhase
from .reference_kl import ReferenceKLPenalty

SETTINGS = ("ref_kl_coef", "mode_label_coef", "mode_label_temperature", "mode_label_prior", "mode_label_epochs",
            "mode_label_learning_rate", "group_size", "group_advantage_coef")
"""The keys of the `loss_terms` settings (S2EPpoAlgorithmCfg.loss_terms in s2e_isaaclab holds their defaults)."""


class LossTerms:
    """The recipes of one run (see the module docstring). Built by S2EPPO from its `loss_terms` settings."""

    def __init__(self, settings: dict, *, actor, num_envs: int, num_mini_batches: int, max_grad_norm: float, device,
                 normalize_advantage_per_mini_batch: bool = False):
        unknown = sorted(set(settings) - set(SETTINGS))
        if unknown:
            raise ValueError(f"unknown loss_terms settings {unknown}: choose from {', '.join(SETTINGS)}")
        get = settings.get
        ref_kl, label_coef = get("ref_kl_coef", 0.0), get("mode_label_coef", 0.0)
        label_epochs = get("mode_label_epochs", 0)
        group_size, group_coef = get("group_size", 1), get("group_advantage_coef", 0.0)
        if min(ref_kl, label_coef, label_epochs, group_coef) < 0:
            raise ValueError("ref_kl_coef, mode_label_coef, mode_label_epochs and group_advantage_coef must be >= 0")
        if group_coef > 0 and group_size < 2:
            raise ValueError(f"group_advantage_coef must be >= 0 and needs group_size >= 2, got {group_coef} with "
                             f"group_size {group_size}")
        if group_coef > 0 and normalize_advantage_per_mini_batch:
            raise ValueError("group_advantage_coef > 0 adds its term after the advantages are normalized: "
                             "set normalize_advantage_per_mini_batch=False")
        if ref_kl > 0 and getattr(actor, "strategy", None) != "ram":
            raise ValueError(f"ref_kl_coef > 0 needs agent.actor.strategy=ram (the reference is RAM's frozen path), "
                             f"got {getattr(actor, 'strategy', None)!r}: set agent.algorithm.loss_terms.ref_kl_coef=0")
        ranking = lambda coef: ModeRankingLoss(coef, settings["mode_label_temperature"], settings["mode_label_prior"])
        self.actor_terms = [ReferenceKLPenalty(ref_kl)] if ref_kl > 0 else []
        self.actor_terms += [ranking(label_coef)] if label_coef > 0 else []
        """Terms of the actor's loss: each has `name`, `coef`, term(actor, observations, current params) -> scalar and
        pop_logs()."""
        self._values: dict[str, list[float]] = {t.name: [] for t in self.actor_terms}
        trainable = [p for p in actor.parameters() if p.requires_grad]
        self.ranking_fit = (RankingFitPhase(ranking(1.0), trainable, settings["mode_label_learning_rate"], label_epochs,
                                            num_mini_batches, max_grad_norm) if label_epochs > 0 else None)
        self.groups = GroupAdvantages(num_envs, group_size, group_coef, device) if group_coef > 0 else None

    # -- inside PPO's update ----------------------------------------------------------------------------

    def add_actor_gradients(self, actor) -> None:
        """Back-propagate sum_i coef_i * term_i of the actor's last forward pass (PPO's current mini-batch); the graph
        is kept for PPO's own backward through the same forward pass."""
        if not self.actor_terms:
            return
        current, observations = actor.output_distribution_params, actor.last_observations
        total = 0.0
        for term in self.actor_terms:
            value = term(actor, observations, current)
            self._values[term.name].append(value.item())
            total = total + term.coef * value
        total.backward(retain_graph=True)

    # -- around it ------------------------------------------------------------------------------------------

    def record(self, scaled_rewards: torch.Tensor, dones: torch.Tensor) -> None:
        if self.groups is not None:
            self.groups.record(scaled_rewards, dones)

    def adjust_advantages(self, advantages: torch.Tensor) -> None:
        """After PPO's returns and normalization: the group term keeps its fixed scale."""
        if self.groups is not None:
            self.groups.apply(advantages)

    def after_update(self, actor, storage, reduce_gradients=None) -> dict[str, float]:
        """The ranking phase (if any) on the update's rollout; its logs."""
        return self.ranking_fit.run(actor, storage, reduce_gradients) if self.ranking_fit is not None else {}

    def pop_logs(self) -> dict[str, float]:
        """Each actor term's mean over the update's mini-batches and its diagnostics, and the group term's (then
        cleared)."""
        logs = {}
        for term in self.actor_terms:
            values, self._values[term.name] = self._values[term.name], []
            logs[term.name] = sum(values) / max(len(values), 1)
            logs.update(term.pop_logs())
        if self.groups is not None:
            logs.update(self.groups.logs)
        return logs

    def state_dict(self) -> dict:
        if self.ranking_fit is None:
            return {}
        return {"ranking_fit_optimizer": self.ranking_fit.optimizer.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if self.ranking_fit is not None and "ranking_fit_optimizer" in state:
            self.ranking_fit.optimizer.load_state_dict(state["ranking_fit_optimizer"])
