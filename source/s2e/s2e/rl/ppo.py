"""rsl-rl's PPO with the three settings fine-tuning a pretrained policy needs (rsl-rl's update is reused as is).

A pretrained actor is only as safe to update as its advantages are meaningful, and those come from a
critic that starts from scratch. Plain PPO gets three things wrong for that:

- one optimizer and one learning rate for actor and critic: the adaptive schedule shrinks the rate
  to keep the actor's KL small, and the critic then learns at the same tiny rate. Here the critic
  has its own fixed rate (`critic_learning_rate`) and the schedule only sets the actor's;
- urban navigation rewards reach hundreds per episode (arrival alone is 200), so value targets
  are large and PPO's value clipping (+-clip_param per update) all but freezes the critic:
  `reward_scale` multiplies the rewards PPO learns from (logged rewards stay in env units);
- in the first updates the critic is still random, and its advantages would push the actor in
  random directions: for `critic_warmup_iterations` updates only the critic steps.

Optionally the actor's loss gets two more terms (s2e.rl.auxiliary_losses): `ref_kl_coef` > 0 holds
the actor near the imported checkpoint (s2e.rl.reference_kl; logs `kl_ref`, `ref_top_mode_agreement`),
`mode_label_coef` > 0 fits the anchor scores to the per-mode experience labels stored with each
sample (s2e.rl.mode_ranking; logs `rank`, `label_top_mode_agreement`). `mode_label_epochs` > 0 also fits them
in a phase of their own after each update (RankingFitPhase: own Adam at `mode_label_learning_rate`; logs
`rank_fit`, `rank_fit_agreement`).

`group_advantage_coef` > 0 (with `group_size` >= 2 envs per same-start group) adds the leave-one-out
episode advantages of s2e.rl.group_advantages to the critic's advantages (logs `group_coverage`,
`group_advantage_abs`).
"""

from __future__ import annotations

import torch
from rsl_rl.algorithms import PPO

from .auxiliary_losses import AuxiliaryActorLosses
from .group_advantages import GroupAdvantages
from .mode_ranking import ModeRankingLoss, RankingFitPhase
from .reference_kl import ReferenceKLPenalty


class ActorCriticOptimizer:
    """Two Adam optimizers behind the one-optimizer interface PPO.update uses.

    `param_groups` are the actor's, so PPO's adaptive schedule sets the actor's rate only; `step`
    always steps the critic and steps the actor unless `actor_frozen`.
    """

    def __init__(self, actor_params, critic_params, actor_lr: float, critic_lr: float):
        self.actor = torch.optim.Adam(actor_params, lr=actor_lr)
        self.critic = torch.optim.Adam(critic_params, lr=critic_lr)
        self.actor_frozen = False

    @property
    def param_groups(self):
        return self.actor.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.actor.zero_grad(set_to_none)
        self.critic.zero_grad(set_to_none)

    def step(self) -> None:
        self.critic.step()
        if not self.actor_frozen:
            self.actor.step()

    def state_dict(self) -> dict:
        return {"actor": self.actor.state_dict(), "critic": self.critic.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if set(state) != {"actor", "critic"}:
            raise KeyError("optimizer state has no separate actor/critic parts (saved by plain PPO?)")
        self.actor.load_state_dict(state["actor"])
        self.critic.load_state_dict(state["critic"])


class S2EPPO(PPO):
    """PPO + separate critic rate, reward scale and critic warm-up (see the module docstring). The S2E settings
    have no defaults here: they are S2EPpoAlgorithmCfg's fields (s2e_isaaclab), the one place the training
    defaults live; the rest go to rsl-rl's PPO."""

    def __init__(self, actor, critic, storage, *, critic_learning_rate: float, reward_scale: float,
                 critic_warmup_iterations: int, ref_kl_coef: float, mode_label_coef: float,
                 mode_label_temperature: float, mode_label_prior: bool, mode_label_epochs: int,
                 mode_label_learning_rate: float, group_size: int, group_advantage_coef: float, optimizer: str = "adam",
                 **kwargs):
        if optimizer != "adam":
            raise ValueError(f"S2EPPO uses Adam for actor and critic, got optimizer={optimizer!r}")
        if reward_scale <= 0 or critic_learning_rate <= 0 or min(critic_warmup_iterations, ref_kl_coef,
                                                                 mode_label_coef) < 0:
            raise ValueError("reward_scale and critic_learning_rate must be > 0, critic_warmup_iterations, ref_kl_coef "
                             "and mode_label_coef >= 0")
        if mode_label_epochs < 0:
            raise ValueError(f"mode_label_epochs must be >= 0, got {mode_label_epochs}")
        if group_advantage_coef < 0 or (group_advantage_coef > 0 and group_size < 2):
            raise ValueError(f"group_advantage_coef must be >= 0 and needs group_size >= 2, got {group_advantage_coef} "
                             f"with group_size {group_size}")
        if group_advantage_coef > 0 and kwargs.get("normalize_advantage_per_mini_batch"):
            raise ValueError("group_advantage_coef > 0 adds its term after the advantages are normalized: "
                             "set normalize_advantage_per_mini_batch=False")
        if (ref_kl_coef > 0 or mode_label_coef > 0) and kwargs.get("symmetry_cfg"):
            raise ValueError("ref_kl_coef and mode_label_coef use rsl-rl's symmetry slot: they cannot be combined with "
                             "symmetry_cfg")
        if ref_kl_coef > 0 and getattr(actor, "strategy", None) != "ram":
            raise ValueError(f"ref_kl_coef > 0 needs agent.actor.strategy=ram (the reference is RAM's frozen path), "
                             f"got {getattr(actor, 'strategy', None)!r}: set agent.algorithm.ref_kl_coef=0")
        super().__init__(actor, critic, storage, optimizer=optimizer, **kwargs)
        terms = ([ReferenceKLPenalty(ref_kl_coef)] if ref_kl_coef > 0 else []) + \
            ([ModeRankingLoss(mode_label_coef, mode_label_temperature, mode_label_prior)] if mode_label_coef > 0
             else [])
        if terms:
            self.symmetry = AuxiliaryActorLosses(terms)
        self.reward_scale = float(reward_scale)
        self.critic_warmup_iterations = int(critic_warmup_iterations)
        self.num_updates = 0
        trainable = [p for p in self.actor.parameters() if p.requires_grad]
        self.optimizer = ActorCriticOptimizer(trainable, self.critic.parameters(), self.learning_rate,
                                              critic_learning_rate)
        self.ranking_fit = None
        if mode_label_epochs > 0:
            self.ranking_fit = RankingFitPhase(ModeRankingLoss(1.0, mode_label_temperature, mode_label_prior),
                                               trainable, mode_label_learning_rate, mode_label_epochs,
                                               self.num_mini_batches, self.max_grad_norm)
        self.groups = None
        if group_advantage_coef > 0:
            self.groups = GroupAdvantages(storage.num_envs, group_size, group_advantage_coef, self.device)

    @property
    def in_critic_warmup(self) -> bool:
        return self.num_updates < self.critic_warmup_iterations

    def act(self, obs):
        """rsl-rl's act, with the actor told that this draw is a rollout step (held mode noise)."""
        self.actor.rollout_step = True
        try:
            return super().act(obs)
        finally:
            self.actor.rollout_step = False

    def process_env_step(self, obs, rewards: torch.Tensor, dones: torch.Tensor, extras: dict) -> None:
        if self.groups is not None:
            self.groups.record(rewards * self.reward_scale, dones)
        super().process_env_step(obs, rewards * self.reward_scale, dones, extras)

    def compute_returns(self, obs) -> None:
        super().compute_returns(obs)
        if self.groups is not None:  # after the normalization: the group term keeps its fixed scale
            self.groups.apply(self.storage.advantages)

    def update(self) -> dict[str, float]:
        warmup, rate = self.in_critic_warmup, self.learning_rate
        self.optimizer.actor_frozen = warmup
        losses = super().update()
        if isinstance(self.symmetry, AuxiliaryActorLosses):
            losses.pop("symmetry")
            losses.update(self.symmetry.pop_logs())
        if self.groups is not None:
            losses.update(self.groups.logs)
        if self.ranking_fit is not None and not warmup:
            losses.update(self.ranking_fit.run(self.actor, self.storage,
                                               self.reduce_parameters if self.is_multi_gpu else None))
        if warmup:  # the frozen actor's KL is ~1e-9, which the adaptive schedule would read as "raise the rate"
            self.learning_rate = rate
            for group in self.optimizer.param_groups:
                group["lr"] = rate
        self.num_updates += 1
        return losses

    def save(self) -> dict:
        state = {**super().save(), "num_updates": self.num_updates, "learning_rate": self.learning_rate,
                 "held_modes": self.actor.held_modes.state_dict()}
        if self.ranking_fit is not None:
            state["ranking_fit_optimizer"] = self.ranking_fit.optimizer.state_dict()
        return state

    def load(self, loaded_dict: dict, load_cfg: dict | None, strict: bool) -> bool:
        resumed = super().load(loaded_dict, load_cfg, strict)
        if load_cfg is None or load_cfg.get("iteration"):
            self.num_updates = int(loaded_dict.get("num_updates", 0))
            if "learning_rate" in loaded_dict:  # the adaptive schedule's current rate, not the configured start
                self.learning_rate = float(loaded_dict["learning_rate"])
            if "held_modes" in loaded_dict:
                self.actor.held_modes.load_state_dict(loaded_dict["held_modes"])
            if self.ranking_fit is not None and "ranking_fit_optimizer" in loaded_dict:
                self.ranking_fit.optimizer.load_state_dict(loaded_dict["ranking_fit_optimizer"])
        return resumed
