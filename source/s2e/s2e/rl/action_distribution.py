"""The PPO action distribution of an AGDM policy: the anchor mixture over (waypoints, speed).

An env action is [2W + 1]: W normalized waypoints (x, y), flattened, then the speed scale (what
WaypointNavAction consumes). Each mode m has a speed v_m, so the executed speed tells which mode
was drawn; scoring the waypoints alone would ignore that and leave the speed head without a policy
gradient. The density therefore covers both, with a fixed speed spread per mode:

    pi(w, v | o) = sum_m q_m * N_m(w; mu^m, sigma^m, rho^m) * N(v; v_m, speed_std^2)

With speed_std = 0 the speed is not part of the action density: the executed speed is the drawn
mode's own v_m, neither explored nor given a policy gradient (the speed head then changes only
through the features it shares). This is the default because a speed in the density lets PPO
change how fast the robot drives apart from which intent it follows (docs/rl.md, "Why the defaults
are what they are", has the run behind it).

Sampling draws a mode from q, then its waypoints and speed. With `waypoint_noise=False` a sample
is the drawn mode's mean waypoints: PPO explores over anchors only (see s2e.rl.policy for why), and
the density's fixed waypoint spread is then a kernel that tells which mode an action came from: for
an action at mode m's old mean, pi_new / pi_old = (q_new,m / q_old,m) * exp(-|mu_new,m - mu_old,m|^2
/ 2 tau^2) while modes are well separated, a categorical ratio with a trust region on the means.

The mixture entropy and the KL between two mixtures have no closed form; because modes are tied to
fixed anchors, both use the joint (mode, action) distribution: H(pi) <= H(q) + sum_m q_m H(N_m),
and KL(pi_old || pi_new) <= KL(q_old || q_new) + sum_m q_old,m KL(N_old,m || N_new,m); both bounds
are tight when modes are well separated (tests compare them with Monte-Carlo estimates).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from ..models.agdm import AGDMOutput
from ..models.mixture import TrajectoryMixture

_LOG_2PI_E = math.log(2.0 * math.pi) + 1.0

Params = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]
"""(logits [B,M], mu [B,M,W,2], sigma [B,M,W,2], rho [B,M,W], speed [B,M]): what rollouts store."""


class MixtureActionDistribution:
    """pi(w, v | o) for a batch; built from an AGDMOutput or from stored parameters."""

    def __init__(self, params: Params, speed_std: float, waypoint_noise: bool = True):
        if speed_std < 0:
            raise ValueError(f"speed_std must be >= 0 (0: each mode's own speed, not explored), got {speed_std}")
        self.params = tuple(params)
        logits, mu, sigma, rho, speed = self.params
        if speed.shape != logits.shape:
            raise ValueError(f"speed {tuple(speed.shape)} must match logits {tuple(logits.shape)} ([B, M])")
        self.traj = TrajectoryMixture(logits, mu, sigma, rho)
        self.speed, self.speed_std = speed, float(speed_std)
        self.waypoint_noise = bool(waypoint_noise)

    @classmethod
    def from_output(cls, out: AGDMOutput, speed_std: float, waypoint_std: float = 0.0,
                    waypoint_noise: bool = True) -> MixtureActionDistribution:
        """waypoint_std > 0: every mode's waypoints get that fixed, isotropic spread (normalized units)
        instead of the predicted sigma and rho (see s2e.rl.policy). waypoint_noise=False samples the
        modes' means and needs waypoint_std > 0 as the kernel width."""
        cls.check_spreads(waypoint_std, waypoint_noise)
        sigma, rho = out.sigma, out.rho
        if waypoint_std > 0:
            sigma, rho = torch.full_like(sigma, waypoint_std), torch.zeros_like(rho)
        return cls((out.logits, out.mu, sigma, rho, out.speed), speed_std, waypoint_noise)

    @staticmethod
    def check_spreads(waypoint_std: float, waypoint_noise: bool) -> None:
        """One-line errors for waypoint spread settings that make no density."""
        if waypoint_std < 0:
            raise ValueError(f"waypoint_std must be >= 0 (0: the predicted spread), got {waypoint_std}")
        if not waypoint_noise and waypoint_std == 0:
            raise ValueError("waypoint_noise=False (explore over anchors only) needs waypoint_std > 0, the kernel "
                             "width that tells the modes apart in the density: e.g. waypoint_std=0.1")

    @property
    def num_waypoints(self) -> int:
        return self.traj.mu.shape[-2]

    def split(self, action: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, 2W+1] -> waypoints [B, W, 2], speed [B]."""
        w = self.num_waypoints
        if action.shape[-1] != 2 * w + 1:
            raise ValueError(f"action has {action.shape[-1]} values, expected 2 * {w} waypoints + 1 speed")
        return action[..., :2 * w].unflatten(-1, (w, 2)), action[..., 2 * w]

    def _speed_log_prob(self, v: torch.Tensor) -> torch.Tensor:
        """log N(v; v_m, speed_std^2) per mode: v [B] -> [B, M] (0 when speed_std = 0: not part of the density)."""
        if self.speed_std == 0:
            return torch.zeros_like(self.speed)
        z = (v[..., None] - self.speed) / self.speed_std
        return -0.5 * z.square() - math.log(self.speed_std) - 0.5 * math.log(2.0 * math.pi)

    def log_prob(self, action: torch.Tensor) -> torch.Tensor:
        """log pi(w, v): [B, 2W+1] -> [B]."""
        w, v = self.split(action)
        joint = self.traj.log_weights + self.traj.mode_log_prob(w) + self._speed_log_prob(v)
        return torch.logsumexp(joint, dim=-1)

    @torch.no_grad()
    def sample(self, generator: torch.Generator | None = None, modes: torch.Tensor | None = None
               ) -> tuple[torch.Tensor, torch.Tensor]:
        """(action [B, 2W+1], modes [B]): a mode from q (or the given `modes`, drawn from q by the
        caller: see HeldGumbelModes), then its waypoints (its mean without waypoint_noise) and speed."""
        if modes is None:
            modes = self.traj.sample_modes(generator)
        w = self.traj.sample_in(modes, generator) if self.waypoint_noise else self.traj.mean_of(modes)
        rows = torch.arange(modes.shape[0], device=modes.device)
        v = self.speed[rows, modes]
        if self.speed_std > 0:
            v = v + self.speed_std * torch.randn(modes.shape, generator=generator, device=w.device, dtype=w.dtype)
        return torch.cat([w.flatten(1), v[:, None]], dim=-1), modes

    def best(self) -> torch.Tensor:
        """Deterministic action: the top-scored mode's mean waypoints and speed, [B, 2W+1]."""
        modes = self.traj.logits.argmax(-1)
        rows = torch.arange(modes.shape[0], device=modes.device)
        return torch.cat([self.traj.mean_of(modes).flatten(1), self.speed[rows, modes][:, None]], dim=-1)

    def mode_entropy(self) -> torch.Tensor:
        """Entropy of each mode's Gaussian over (w, v): [B, M]."""
        sigma, rho = self.traj.sigma, self.traj.rho
        per_waypoint = _LOG_2PI_E + sigma.log().sum(-1) + 0.5 * torch.log1p(-rho.square())
        speed = 0.5 * _LOG_2PI_E + math.log(self.speed_std) if self.speed_std > 0 else 0.0
        return per_waypoint.sum(-1) + speed

    def entropy(self) -> torch.Tensor:
        """H(q) + sum_m q_m H(N_m), [B]: the mixture entropy's upper bound, differentiable."""
        logq = self.traj.log_weights
        q = logq.exp()
        return -(q * logq).sum(-1) + (q * self.mode_entropy()).sum(-1)

    @property
    def std(self) -> torch.Tensor:
        """Score-weighted mean waypoint spread per row, [B] (for logging)."""
        q = self.traj.log_weights.exp()
        return (q * self.traj.sigma.mean((-1, -2))).sum(-1)

    @staticmethod
    def kl(old: Params, new: Params, speed_std: float) -> torch.Tensor:
        """Mode-matched bound on KL(pi_old || pi_new), [B]."""
        lo, mu0, s0, r0, v0 = old
        ln, mu1, s1, r1, v1 = new
        logq0, logq1 = F.log_softmax(lo, -1), F.log_softmax(ln, -1)
        q0 = logq0.exp()
        cat = (q0 * (logq0 - logq1)).sum(-1)
        modes = bivariate_kl(mu0, s0, r0, mu1, s1, r1).sum(-1)
        if speed_std > 0:
            modes = modes + (v1 - v0).square() / (2.0 * speed_std**2)
        return cat + (q0 * modes).sum(-1)


def bivariate_kl(mu0: torch.Tensor, s0: torch.Tensor, r0: torch.Tensor,
                 mu1: torch.Tensor, s1: torch.Tensor, r1: torch.Tensor) -> torch.Tensor:
    """KL(N0 || N1) of bivariate Gaussians given by (mu [..., 2], sigma [..., 2], rho [...]): [...]."""
    c0, c1 = r0 * s0[..., 0] * s0[..., 1], r1 * s1[..., 0] * s1[..., 1]
    vx0, vy0, vx1, vy1 = s0[..., 0].square(), s0[..., 1].square(), s1[..., 0].square(), s1[..., 1].square()
    det0, det1 = vx0 * vy0 - c0.square(), vx1 * vy1 - c1.square()
    trace = (vy1 * vx0 - 2.0 * c1 * c0 + vx1 * vy0) / det1
    d = mu1 - mu0
    maha = (vy1 * d[..., 0].square() - 2.0 * c1 * d[..., 0] * d[..., 1] + vx1 * d[..., 1].square()) / det1
    return 0.5 * (trace + maha - 2.0 + det1.log() - det0.log())
