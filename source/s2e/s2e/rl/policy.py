"""The rsl-rl actor of S2E: an imported AGDM checkpoint whose mixture is the PPO action distribution.

rsl-rl's PPO builds its actor as `Actor(obs, obs_groups, "actor", num_actions, **cfg)` and then only
uses the small interface implemented here (sample / log-prob / distribution parameters / entropy /
KL). Which parameters train is the fine-tuning strategy (the paper's ablation):

    ram      RAM branches and gates only (default); reads cached context tokens, obs["context"]
    decoder  the decoder's cross-attention blocks themselves; reads obs["context"]
    full     every parameter, encoder included; reads the frames, obs["frames"] (uint8) and obs["goal"]

Frozen parts run in eval mode whatever PPO's train()/eval() calls, so their outputs never change.

`waypoint_std`: the predicted waypoint spreads are ~1 cm (sigma ~0.05 normalized units), so a
sample's log-probability gradient on the means is (a - mu) / sigma^2 noise and successive policies
differ by a large KL for any step. waypoint_std > 0 replaces them with a fixed exploration spread
(like speed_std for the speed). Sampling from that spread would execute waypoints the checkpoint
never predicted, so by default it is only a kernel (below) that scores the drawn mode (docs/rl.md).

`waypoint_noise=False` (with waypoint_std = tau > 0) explores over anchors only: a sample is the
drawn mode's mean trajectory, executed without noise, and the fixed spread tau only scores it. The
policy gradient then moves the anchor scores (a categorical choice between intents, which is what
avoiding an obstacle needs) and the ratio and the KL keep each mode's mean within ~tau of where it
was, instead of the 1/sigma^2 noise on the means pinning the adaptive rate at its floor.

`mode_hold_steps` = k > 1 holds each env's Gumbel noise for k rollout steps (s2e.rl.held_modes):
the drawn mode stays one intent for k steps instead of dithering between modes at 10 Hz, and each
step's mode is still a draw from the current scores. Only rollout steps (S2EPPO.act sets
`rollout_step`) use it; the update's forward passes draw nothing that is kept. Anchor-only draws
held for 10 steps (tau 0.25) are the task configs' default (docs/rl.md says why). The class has no
defaults of its own: every setting comes from the cfg (s2e_isaaclab's AGDMActorCfg, the one place the
training defaults live). waypoint_std=0, waypoint_noise=True, mode_hold_steps=1, mode_temperature=1
is the plain mixture (predicted spreads, independent draws).

`rank_only` (strategy ram) trains the anchor scores alone: the mixture's trajectories stay the
checkpoint's (s2e.models.ram), so PPO re-ranks the pretrained intents and cannot reshape them.

`mode_temperature` = T divides the anchor scores in the PPO policy, softmax(logits / T): the top
mode, which play.py, the export and NavBench-GS run, is the same, but with T < 1 rollouts draw it
more often, so PPO trains a policy closer to the one that is evaluated. The zero-gated RAM still
reproduces the checkpoint's outputs exactly; only the exploration is sharper.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import nn

from ..models.agdm import AGDM
from ..models.checkpoint import load_checkpoint
from ..models.ram import RAMPolicyModel
from .action_distribution import MixtureActionDistribution
from .held_modes import HeldGumbelModes

STRATEGIES = ("ram", "decoder", "full")


def build_policy_model(agdm: AGDM, strategy: str, rank_only: bool = False) -> nn.Module:
    """Freeze an AGDM for `strategy`; returns the module whose trainable parameters PPO updates. `rank_only`
    (strategy ram): the fine-tuned model re-ranks the checkpoint's modes, which keep its trajectories."""
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown fine-tuning strategy {strategy!r}: choose one of {', '.join(STRATEGIES)}")
    if rank_only and strategy != "ram":
        raise ValueError("rank_only needs strategy 'ram' (the checkpoint's trajectories come from RAM's frozen path), "
                         f"got {strategy!r}")
    if strategy == "ram":
        return RAMPolicyModel(agdm, rank_only)
    agdm.requires_grad_(strategy == "full")
    if strategy == "decoder":
        agdm.decoder.requires_grad_(True)
    return agdm


class AGDMActor(nn.Module):
    """PPO actor over the AGDM mixture (see module docstring). `checkpoint`: an AGDM checkpoint file; the
    keyword settings are AGDMActorCfg's fields (rsl-rl passes the cfg as keywords)."""

    is_recurrent = False

    def __init__(self, obs, obs_groups, obs_set: str, output_dim: int, *, checkpoint: str, strategy: str,
                 speed_std: float, waypoint_std: float, waypoint_noise: bool, mode_hold_steps: int,
                 mode_temperature: float, rank_only: bool):
        super().__init__()
        agdm, self.meta = load_checkpoint(checkpoint)
        self.checkpoint = str(checkpoint)
        expected = 2 * agdm.cfg.num_waypoints + 1
        if output_dim != expected:
            raise ValueError(f"the env takes {output_dim} action values, the AGDM checkpoint {checkpoint} makes "
                             f"{expected} ({agdm.cfg.num_waypoints} waypoints + speed): use a matching task or "
                             "checkpoint")
        self.strategy, self.speed_std, self.waypoint_std = strategy, float(speed_std), float(waypoint_std)
        self.waypoint_noise = bool(waypoint_noise)
        if mode_temperature <= 0:
            raise ValueError("mode_temperature must be > 0 (1: the checkpoint's own anchor scores), got "
                             f"{mode_temperature}")
        self.mode_temperature = float(mode_temperature)
        MixtureActionDistribution.check_spreads(self.waypoint_std, self.waypoint_noise)
        self.rank_only = bool(rank_only)
        self.model = build_policy_model(agdm, strategy, self.rank_only)  # owns the AGDM (registered once)
        needed = ("frames", "goal") if strategy == "full" else ("context",)
        missing = [k for k in needed if k not in obs.keys()]
        if missing:
            raise ValueError(f"strategy {strategy!r} needs observations {list(needed)}, missing {missing}: "
                             "wrap the env with s2e.rl.observation_env.AGDMObservationEnv")
        self._dist: MixtureActionDistribution | None = None
        self.held_modes = HeldGumbelModes(mode_hold_steps)
        self.rollout_step = False
        """True while PPO samples a rollout action (S2EPPO.act): draws then use the held noise."""
        self.last_observations = None
        """The observations of the last forward pass (the loss terms read PPO's mini-batch from it:
        s2e.rl.loss_terms)."""

    @property
    def agdm(self) -> AGDM:
        return self.model.agdm if self.strategy == "ram" else self.model

    # -- forward --------------------------------------------------------------------------------------

    def train(self, mode: bool = True):
        super().train(mode)
        if self.strategy != "full":  # the frozen encoder and fusion behave the same in every mode
            self.agdm.encoder.eval()
            self.agdm.fusion.eval()
        return self

    def mixture(self, obs):
        """AGDMOutput for a batch of observations."""
        if self.strategy == "full":
            return self.agdm(obs["frames"].float() / 255.0, obs["goal"])
        if self.strategy == "ram":
            return self.model.decode(obs["context"])
        return self.agdm.decode(obs["context"].detach())

    def action_distribution(self, out) -> MixtureActionDistribution:
        """The PPO policy for a mixture output: anchor scores divided by mode_temperature (argmax unchanged)."""
        if self.mode_temperature != 1.0:
            out = dataclasses.replace(out, logits=out.logits / self.mode_temperature)
        return MixtureActionDistribution.from_output(out, self.speed_std, self.waypoint_std, self.waypoint_noise)

    @torch.no_grad()
    def reference_params(self, obs):
        """Distribution parameters of the imported checkpoint itself (RAM's frozen path) for a batch."""
        if self.strategy != "ram":
            raise ValueError("a reference policy needs strategy='ram' (its frozen path is the checkpoint), got "
                             f"{self.strategy!r}: set agent.algorithm.loss_terms.ref_kl_coef=0 for the other "
                             "strategies")
        return self.action_distribution(self.model.reference_decode(obs["context"])).params

    def forward(self, obs, masks=None, hidden_state=None, stochastic_output: bool = False) -> torch.Tensor:
        self.last_observations = obs
        self._dist = self.action_distribution(self.mixture(obs))
        if stochastic_output:
            held = self.rollout_step and self.held_modes.hold_steps > 1
            modes = self.held_modes.draw(self._dist.traj.log_weights) if held else None
            return self._dist.sample(modes=modes)[0]
        return self._dist.best()

    # -- the interface rsl-rl's PPO uses ----------------------------------------------------------------

    def get_output_log_prob(self, actions: torch.Tensor) -> torch.Tensor:
        return self._dist.log_prob(actions)

    @property
    def output_distribution_params(self) -> tuple[torch.Tensor, ...]:
        return self._dist.params

    @property
    def output_entropy(self) -> torch.Tensor:
        return self._dist.entropy()

    @property
    def output_std(self) -> torch.Tensor:
        return self._dist.std

    @property
    def output_mean(self) -> torch.Tensor:
        return self._dist.best()

    def get_kl_divergence(self, old_params, new_params) -> torch.Tensor:
        return MixtureActionDistribution.kl(old_params, new_params, self.speed_std)

    def get_hidden_state(self):
        return None

    def reset(self, dones=None, hidden_state=None) -> None:
        """Envs whose episode ended draw fresh held mode noise (the frame window lives in the env wrapper)."""
        if hidden_state is None:
            self.held_modes.reset(dones)

    def update_normalization(self, obs) -> None:
        """Nothing to update: the inputs are the frozen fusion's context tokens (already layer-normed), not raw
        features."""

    def deploy_model(self) -> nn.Module:
        """The module mapping (images, goal) to the mixture, RAM branches included (for export)."""
        return self.model

    def trainable_parameters(self) -> list[nn.Parameter]:
        return [p for p in self.parameters() if p.requires_grad]
