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

The experimental recipes (a KL to the checkpoint, mode-ranking labels and their own phase, same-start group
advantages) are terms S2EPPO composes from its `loss_terms` settings (s2e.rl.loss_terms.LossTerms), each logged
under its own name; an empty `loss_terms` is the three settings above and rsl-rl's PPO alone.
"""

from __future__ import annotations

import torch
from rsl_rl.algorithms import PPO

from .loss_terms import LossTerms


class ActorCriticOptimizer:
    """Two Adam optimizers behind the one-optimizer interface PPO.update uses.

    `param_groups` are the actor's, so PPO's adaptive schedule sets the actor's rate only; `step`
    always steps the critic and steps the actor unless `actor_frozen`. `after_zero_grad` (if set) runs when
    PPO zeroes a mini-batch's gradients, right before its backward: where the loss terms add theirs.
    """

    def __init__(self, actor_params, critic_params, actor_lr: float, critic_lr: float, after_zero_grad=None):
        self.actor = torch.optim.Adam(actor_params, lr=actor_lr)
        self.critic = torch.optim.Adam(critic_params, lr=critic_lr)
        self.actor_frozen = False
        self.after_zero_grad = after_zero_grad

    @property
    def param_groups(self):
        return self.actor.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.actor.zero_grad(set_to_none)
        self.critic.zero_grad(set_to_none)
        if self.after_zero_grad is not None:
            self.after_zero_grad()

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
    """PPO + separate critic rate, reward scale and critic warm-up, and the run's loss terms (see the module
    docstring). The S2E settings have no defaults here: they are S2EPpoAlgorithmCfg's fields (s2e_isaaclab), the
    one place the training defaults live; the rest go to rsl-rl's PPO."""

    def __init__(self, actor, critic, storage, *, critic_learning_rate: float, reward_scale: float,
                 critic_warmup_iterations: int, loss_terms: dict | None = None, optimizer: str = "adam", **kwargs):
        if optimizer != "adam":
            raise ValueError(f"S2EPPO uses Adam for actor and critic, got optimizer={optimizer!r}")
        if reward_scale <= 0 or critic_learning_rate <= 0 or critic_warmup_iterations < 0:
            raise ValueError("reward_scale and critic_learning_rate must be > 0, critic_warmup_iterations >= 0")
        super().__init__(actor, critic, storage, optimizer=optimizer, **kwargs)
        self.terms = LossTerms(loss_terms or {}, actor=self.actor, num_envs=storage.num_envs,
                               num_mini_batches=self.num_mini_batches, max_grad_norm=self.max_grad_norm,
                               device=self.device,
                               normalize_advantage_per_mini_batch=self.normalize_advantage_per_mini_batch)
        self.reward_scale = float(reward_scale)
        self.critic_warmup_iterations = int(critic_warmup_iterations)
        self.num_updates = 0
        trainable = [p for p in self.actor.parameters() if p.requires_grad]
        self.optimizer = ActorCriticOptimizer(trainable, self.critic.parameters(), self.learning_rate,
                                              critic_learning_rate,
                                              after_zero_grad=lambda: self.terms.add_actor_gradients(self.actor))

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
        self.terms.record(rewards * self.reward_scale, dones)
        super().process_env_step(obs, rewards * self.reward_scale, dones, extras)

    def compute_returns(self, obs) -> None:
        super().compute_returns(obs)
        self.terms.adjust_advantages(self.storage.advantages)

    def update(self) -> dict[str, float]:
        warmup, rate = self.in_critic_warmup, self.learning_rate
        self.optimizer.actor_frozen = warmup
        losses = super().update()
        losses.update(self.terms.pop_logs())
        if not warmup:
            reduce = self.reduce_parameters if self.is_multi_gpu else None
            losses.update(self.terms.after_update(self.actor, self.storage, reduce))
        if warmup:  # the frozen actor's KL is ~1e-9, which the adaptive schedule would read as "raise the rate"
            self.learning_rate = rate
            for group in self.optimizer.param_groups:
                group["lr"] = rate
        self.num_updates += 1
        return losses

    def save(self) -> dict:
        return {**super().save(), "num_updates": self.num_updates, "learning_rate": self.learning_rate,
                "held_modes": self.actor.held_modes.state_dict(), **self.terms.state_dict()}

    def load(self, loaded_dict: dict, load_cfg: dict | None, strict: bool) -> bool:
        resumed = super().load(loaded_dict, load_cfg, strict)
        if load_cfg is None or load_cfg.get("iteration"):
            self.num_updates = int(loaded_dict.get("num_updates", 0))
            if "learning_rate" in loaded_dict:  # the adaptive schedule's current rate, not the configured start
                self.learning_rate = float(loaded_dict["learning_rate"])
            if "held_modes" in loaded_dict:
                self.actor.held_modes.load_state_dict(loaded_dict["held_modes"])
            self.terms.load_state_dict(loaded_dict)
        return resumed
