"""The AGDM action distribution: a mixture over anchor modes of per-waypoint bivariate Gaussians.

q(w | o) = sum_m q_m * prod_t N(w_t; mu_t^m, sigma_t^m, rho_t^m), with w a W x 2 trajectory of
normalized waypoints. Waypoints are independent given the mode; x and y of one waypoint are
correlated through rho. Everything broadcasts over leading sample dimensions so the same code
scores one trajectory per row (pretraining, PPO ratios) or many samples per row (entropy).

`AGDMOutput` (the model's per-mode predictions: the mixture's parameters plus a speed per mode) lives
here beside the distribution it parameterizes, so that the model (agdm.py) and `agdm_loss` share it
without importing each other.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

_LOG_2PI = math.log(2.0 * math.pi)


class TrajectoryMixture:
    """Mixture of M trajectory Gaussians. Shapes: logits [B,M], mu/sigma [B,M,W,2], rho [B,M,W]."""

    def __init__(self, logits: torch.Tensor, mu: torch.Tensor, sigma: torch.Tensor, rho: torch.Tensor):
        b, m, w, two = mu.shape
        if two != 2 or logits.shape != (b, m) or sigma.shape != mu.shape or rho.shape != (b, m, w):
            raise ValueError(f"inconsistent mixture shapes: logits {tuple(logits.shape)}, mu {tuple(mu.shape)}, "
                             f"sigma {tuple(sigma.shape)}, rho {tuple(rho.shape)} (expected [B,M], [B,M,W,2], "
                             "[B,M,W,2], [B,M,W])")
        self.logits, self.mu, self.sigma, self.rho = logits, mu, sigma, rho

    @property
    def log_weights(self) -> torch.Tensor:
        """log q_m, [B, M]."""
        return F.log_softmax(self.logits, dim=-1)

    def mode_log_prob(self, w: torch.Tensor) -> torch.Tensor:
        """log N_m(w) for every mode: w [..., B, W, 2] -> [..., B, M] (summed over waypoints)."""
        d = (w.unsqueeze(-3) - self.mu) / self.sigma  # [..., B, M, W, 2]
        dx, dy = d[..., 0], d[..., 1]
        one_minus_r2 = 1.0 - self.rho.square()
        z = (dx.square() - 2.0 * self.rho * dx * dy + dy.square()) / one_minus_r2
        log_det = self.sigma.log().sum(-1) + 0.5 * one_minus_r2.log()
        return (-_LOG_2PI - log_det - 0.5 * z).sum(-1)

    def log_prob(self, w: torch.Tensor) -> torch.Tensor:
        """log q(w): w [..., B, W, 2] -> [..., B]."""
        return torch.logsumexp(self.log_weights + self.mode_log_prob(w), dim=-1)

    def _gaussian_sample(self, mu: torch.Tensor, sigma: torch.Tensor, rho: torch.Tensor,
                         generator: torch.Generator | None) -> torch.Tensor:
        """Reparameterized draw from per-waypoint bivariate Gaussians (shapes [..., W, 2] and [..., W])."""
        eps = torch.randn(mu.shape, generator=generator, device=mu.device, dtype=mu.dtype)
        e1, e2 = eps[..., 0], eps[..., 1]
        x = mu[..., 0] + sigma[..., 0] * e1
        y = mu[..., 1] + sigma[..., 1] * (rho * e1 + torch.sqrt(1.0 - rho.square()) * e2)
        return torch.stack([x, y], dim=-1)

    def sample_modes(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw one mode per row from the scores: [B]."""
        return torch.multinomial(self.log_weights.detach().exp(), 1, generator=generator).squeeze(-1)

    def sample(self, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw one trajectory per row: (modes [B], waypoints [B, W, 2])."""
        modes = self.sample_modes(generator)
        return modes, self.sample_in(modes, generator)

    def sample_in(self, modes: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        """Draw waypoints from the given mode of each row: modes [B] -> [B, W, 2]."""
        idx = torch.arange(modes.shape[0], device=modes.device)
        return self._gaussian_sample(self.mu[idx, modes], self.sigma[idx, modes], self.rho[idx, modes], generator)

    @torch.no_grad()
    def winner(self, w: torch.Tensor) -> torch.Tensor:
        """Mode whose mean trajectory is closest to w (smallest mean L2 over waypoints): [B]. No gradient."""
        return (self.mu - w.unsqueeze(1)).norm(dim=-1).mean(-1).argmin(-1)

    def mean_of(self, modes: torch.Tensor) -> torch.Tensor:
        """Mean trajectory of the given mode per row: modes [B] -> [B, W, 2]."""
        return self.mu[torch.arange(modes.shape[0], device=modes.device), modes]

    def entropy_estimate(self, num_samples: int = 1, generator: torch.Generator | None = None) -> torch.Tensor:
        """Monte-Carlo entropy H = sum_m q_m E_{w ~ N_m}[-log q(w)], [B]; differentiable.

        The mixture entropy has no closed form. Sampling is stratified over modes (num_samples
        reparameterized draws from *every* mode, weighted by q_m) instead of drawing the mode, so
        the estimate has gradients for the scores as well as for mu / sigma / rho. Cost and memory
        grow as num_samples * B * M * M * W.
        """
        b, m, wn, _ = self.mu.shape
        shape = (num_samples, b, m, wn)
        w = self._gaussian_sample(self.mu.expand(*shape, 2), self.sigma.expand(*shape, 2), self.rho.expand(*shape),
                                  generator)
        # Score every sample under the whole mixture: move the source-mode axis in front of the batch.
        lp = self.log_prob(w.permute(0, 2, 1, 3, 4))  # [S, M, B]
        return -(self.log_weights.exp() * lp.mean(0).transpose(0, 1)).sum(-1)


@dataclass
class AGDMOutput:
    """Per-mode predictions. logits [B,M]; mu, sigma [B,M,W,2] (normalized units); rho [B,M,W]; speed [B,M] (m/s)."""

    logits: torch.Tensor
    mu: torch.Tensor
    sigma: torch.Tensor
    rho: torch.Tensor
    speed: torch.Tensor
    waypoint_dt: float
    """Seconds between waypoints: the model's (AGDMConfig.waypoint_dt), which metric_mu needs."""

    def mixture(self) -> TrajectoryMixture:
        return TrajectoryMixture(self.logits, self.mu, self.sigma, self.rho)

    def metric_mu(self) -> torch.Tensor:
        """Each mode's mean trajectory in metres, using that mode's speed: [B,M,W,2]."""
        return self.mu * (self.speed * self.waypoint_dt)[..., None, None]

    def action(self, mode: str = "best", generator: torch.Generator | None = None) -> torch.Tensor:
        """Env action [B, 2W+1]: normalized waypoints, flattened, then the speed scale.

        "best": mean trajectory of the top-scored mode; "sample": a mode drawn from the scores and a
        trajectory drawn from its Gaussian; "mean": the score-weighted mean of the modes' metric
        trajectories (speed = weighted mean speed), steadier than "best" when many near-duplicate
        modes share the mass, but it averages genuinely different ways (left vs right of an obstacle).
        """
        if mode == "mean":
            q = self.logits.softmax(-1)  # [B, M]
            v = (q * self.speed).sum(-1, keepdim=True)  # [B, 1]
            # metric mean / waypoint_dt, [B, W, 2]
            metric = (q[..., None, None] * self.mu * self.speed[..., None, None]).sum(1)
            return torch.cat([(metric / v.clamp_min(1e-6)[..., None]).flatten(1), v], dim=-1)
        mix = self.mixture()
        if mode == "best":
            modes = self.logits.argmax(-1)
            w = mix.mean_of(modes)
        elif mode == "sample":
            modes, w = mix.sample(generator)
        else:
            raise ValueError(f"action mode must be 'best', 'sample' or 'mean', got {mode!r}")
        v = self.speed.gather(1, modes[:, None])
        return torch.cat([w.flatten(1), v], dim=-1)


def agdm_loss(out: AGDMOutput, waypoints: torch.Tensor, speed: torch.Tensor,
              winner: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
    """Paper loss, batch-averaged: L = -log N_h(w) - log q_h + (v_h - v)^2, h = winner mode (no grad).

    waypoints: normalized ground truth [B, W, 2]; speed: true velocity scale [B] (m/s); winner: h [B]
    (AGDM.winner, by the model's assignment rule); default: the best-fitting predicted mode.
    """
    mix = out.mixture()
    h = (mix.winner(waypoints) if winner is None else winner)[:, None]
    nll = -mix.mode_log_prob(waypoints).gather(1, h).squeeze(1)
    cls = F.cross_entropy(out.logits, h.squeeze(1), reduction="none")
    speed_err = (out.speed.gather(1, h).squeeze(1) - speed).square()
    loss = nll + cls + speed_err
    return {"loss": loss.mean(), "nll": nll.mean(), "cls": cls.mean(), "speed": speed_err.mean()}
