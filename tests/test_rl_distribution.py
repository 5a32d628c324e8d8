"""The PPO action distribution of the AGDM policy against torch.distributions and Monte-Carlo estimates."""

import pytest
import torch
from torch import distributions as D

from s2e.rl.action_distribution import MixtureActionDistribution, bivariate_kl

W = 4
SPEED_STD = 0.1

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def _params(b=3, m=3, separation=0.0, seed=0):
    """Random mixture parameters (float64); `separation` pushes the modes' means apart."""
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(b, m, generator=g, dtype=torch.float64)
    mu = (torch.randn(b, m, W, 2, generator=g, dtype=torch.float64) + separation
          * torch.arange(m, dtype=torch.float64)[:, None, None])
    sigma = torch.rand(b, m, W, 2, generator=g, dtype=torch.float64) * 0.4 + 0.2
    rho = (torch.rand(b, m, W, generator=g, dtype=torch.float64) * 2 - 1) * 0.8
    speed = torch.rand(b, m, generator=g, dtype=torch.float64) + 0.5 + separation * torch.arange(m, dtype=torch.float64)
    return logits, mu, sigma, rho, speed


def _cov(sigma, rho):
    sx, sy = sigma[..., 0], sigma[..., 1]
    return torch.stack([torch.stack([sx * sx, rho * sx * sy], -1), torch.stack([rho * sx * sy, sy * sy], -1)], -2)


def _torch_log_prob(params, action):
    logits, mu, sigma, rho, speed = params
    w, v = action[:, :2 * W].unflatten(-1, (W, 2)), action[:, 2 * W]
    comp = D.Independent(D.MultivariateNormal(mu, covariance_matrix=_cov(sigma, rho)), 1)
    lp = comp.log_prob(w[:, None]) + D.Normal(speed, SPEED_STD).log_prob(v[:, None])
    return torch.logsumexp(torch.log_softmax(logits, -1) + lp, -1)


def test_log_prob_matches_torch_distributions():
    params = _params()
    dist = MixtureActionDistribution(params, SPEED_STD)
    action, _ = dist.sample(torch.Generator().manual_seed(1))
    torch.testing.assert_close(dist.log_prob(action), _torch_log_prob(params, action))


def test_samples_follow_the_scores_and_the_chosen_mode():
    params = _params(b=2, separation=6.0)
    dist = MixtureActionDistribution(params, SPEED_STD)
    n = 20000
    big = MixtureActionDistribution(tuple(p.repeat_interleave(n, 0) for p in params), SPEED_STD)
    action, modes = big.sample(torch.Generator().manual_seed(0))
    freq = torch.stack([torch.bincount(modes[i * n:(i + 1) * n], minlength=3) for i in range(2)]).double() / n
    torch.testing.assert_close(freq, params[0].softmax(-1), atol=0.015, rtol=0)
    # within one mode, waypoints and speed have that mode's mean and spread
    rows = modes[:n] == params[0][0].argmax()
    m = int(params[0][0].argmax())
    w = action[:n][rows, :2 * W].unflatten(-1, (W, 2))
    torch.testing.assert_close(w.mean(0), params[1][0, m], atol=0.03, rtol=0)
    torch.testing.assert_close(w.std(0), params[2][0, m], atol=0.03, rtol=0)
    assert abs(action[:n][rows, -1].std().item() - SPEED_STD) < 0.005
    assert dist.best().shape == (2, 2 * W + 1)


def dist_rep(params, n):
    return MixtureActionDistribution(tuple(p.expand(n, *p.shape[1:]) for p in params), SPEED_STD)


def _mc_entropy(params, n=20000):
    big = dist_rep(params, n)
    x, _ = big.sample(torch.Generator().manual_seed(5))
    return -big.log_prob(x).mean()


def test_entropy_bound_matches_monte_carlo_when_modes_separate_and_bounds_it_otherwise():
    separated = _params(b=1, separation=8.0, seed=1)
    bound = MixtureActionDistribution(separated, SPEED_STD).entropy()[0]
    assert abs(bound - _mc_entropy(separated)) < 0.05
    overlapping = _params(b=1, separation=0.0, seed=1)
    bound = MixtureActionDistribution(overlapping, SPEED_STD).entropy()[0]
    mc = _mc_entropy(overlapping)
    assert bound >= mc - 0.05 and bound - mc < torch.log(torch.tensor(3.0))  # at most H(q) <= log M above


def test_entropy_of_a_single_mode_is_the_gaussian_entropy():
    logits, mu, sigma, rho, speed = _params(b=2, m=1)
    dist = MixtureActionDistribution((logits, mu, sigma, rho, speed), SPEED_STD)
    ref = (D.MultivariateNormal(mu, covariance_matrix=_cov(sigma, rho)).entropy().sum((-1, -2))
           + D.Normal(speed, SPEED_STD).entropy()[:, 0])
    torch.testing.assert_close(dist.entropy(), ref)


def test_bivariate_kl_matches_torch_distributions():
    p0, p1 = _params(seed=0), _params(seed=1)
    ours = bivariate_kl(p0[1], p0[2], p0[3], p1[1], p1[2], p1[3])
    ref = D.kl_divergence(D.MultivariateNormal(p0[1], covariance_matrix=_cov(p0[2], p0[3])),
                          D.MultivariateNormal(p1[1], covariance_matrix=_cov(p1[2], p1[3])))
    torch.testing.assert_close(ours, ref)


def test_kl_bound_matches_monte_carlo_and_is_zero_for_identical_policies():
    old = _params(b=1, separation=8.0, seed=2)
    new = tuple(p.clone() for p in old)
    new[1].add_(0.1)
    new[0].mul_(1.3)
    new[4].add_(0.05)
    bound = MixtureActionDistribution.kl(old, new, SPEED_STD)[0]
    n = 20000
    x, _ = dist_rep(old, n).sample(torch.Generator().manual_seed(7))
    mc = (dist_rep(old, n).log_prob(x) - dist_rep(new, n).log_prob(x)).mean()
    assert abs(bound - mc) < 0.05 * max(1.0, bound.item())
    torch.testing.assert_close(MixtureActionDistribution.kl(old, old, SPEED_STD), torch.zeros(1, dtype=torch.float64))


def test_bad_actions_and_parameters_are_rejected():
    dist = MixtureActionDistribution(_params(), SPEED_STD)
    with pytest.raises(ValueError, match="expected 2 \\* 4 waypoints"):
        dist.log_prob(torch.zeros(3, 2 * W))
    with pytest.raises(ValueError, match="speed_std"):
        MixtureActionDistribution(_params(), -0.1)


def test_fixed_waypoint_std_keeps_scores_and_means_and_ignores_predicted_spread():
    from s2e.models.agdm import AGDMOutput

    logits, mu, sigma, rho, speed = _params(separation=6.0)
    sigma = sigma.clone().requires_grad_(True)
    out = AGDMOutput(logits=logits, mu=mu, sigma=sigma, rho=rho, speed=speed, waypoint_dt=0.25)
    dist = MixtureActionDistribution.from_output(out, SPEED_STD, waypoint_std=0.3)
    iso = (logits, mu, torch.full_like(mu, 0.3), torch.zeros_like(rho), speed)
    action, _ = dist.sample(torch.Generator().manual_seed(2))
    torch.testing.assert_close(dist.log_prob(action), _torch_log_prob(iso, action))
    assert not dist.log_prob(action).sum().requires_grad  # no policy gradient into the predicted spread
    predicted = MixtureActionDistribution.from_output(out, SPEED_STD)
    assert predicted.params[2] is sigma and predicted.params[3] is rho
    with pytest.raises(ValueError, match="waypoint_std"):
        MixtureActionDistribution.from_output(out, SPEED_STD, waypoint_std=-1.0)


def test_anchor_only_exploration_executes_mode_means_and_scores_them_like_a_categorical():
    from s2e.models.agdm import AGDMOutput

    logits, mu, sigma, rho, speed = _params(b=4, separation=6.0)
    logits, mu = logits.clone().requires_grad_(True), mu.clone().requires_grad_(True)
    out = AGDMOutput(logits=logits, mu=mu, sigma=sigma, rho=rho, speed=speed, waypoint_dt=0.25)
    dist = MixtureActionDistribution.from_output(out, SPEED_STD, waypoint_std=0.1, waypoint_noise=False)
    action, modes = dist.sample(torch.Generator().manual_seed(3))
    rows = torch.arange(4)
    torch.testing.assert_close(action[:, :2 * W].unflatten(-1, (W, 2)), mu[rows, modes].detach())
    # separated modes: log pi(action) = log q_m + log N(0; 0, tau) + speed term, so its gradient is the
    # categorical score function and nothing moves the means at the sampled point
    logp = dist.log_prob(action)
    kernel = 2 * W * D.Normal(0.0, 0.1).log_prob(torch.tensor(0.0, dtype=torch.float64))
    speed_term = D.Normal(speed[rows, modes], SPEED_STD).log_prob(action[:, -1])
    torch.testing.assert_close(logp, torch.log_softmax(logits, -1)[rows, modes] + kernel + speed_term)
    g_logits, g_mu = torch.autograd.grad(logp.sum(), (logits, mu))
    assert g_mu.abs().max() < 1e-9
    expected = torch.nn.functional.one_hot(modes, 3).double() - logits.softmax(-1)
    torch.testing.assert_close(g_logits, expected)
    # a mean that moved by tau lowers the ratio by exp(-1/2) per coordinate: the trust region on the means
    moved = (logits.detach(), mu.detach() + 0.1 / (2 * W) ** 0.5, torch.full_like(sigma, 0.1), torch.zeros_like(rho),
             speed)
    ratio = (MixtureActionDistribution(moved, SPEED_STD).log_prob(action) - logp.detach()).exp()
    torch.testing.assert_close(ratio, torch.full((4,), float(torch.tensor(-0.5).exp()), dtype=torch.float64))
    with pytest.raises(ValueError, match="waypoint_noise=False .* needs waypoint_std > 0"):
        MixtureActionDistribution.from_output(out, SPEED_STD, waypoint_noise=False)


def test_zero_speed_std_executes_the_modes_speed_and_leaves_it_out_of_the_density():
    params = _params(separation=6.0)
    logits, mu, sigma, rho, speed = params
    dist = MixtureActionDistribution(params, 0.0)
    action, modes = dist.sample(torch.Generator().manual_seed(3))
    torch.testing.assert_close(action[:, -1], speed[torch.arange(len(modes)), modes])
    w = action[:, :2 * W].unflatten(-1, (W, 2))
    comp = D.Independent(D.MultivariateNormal(mu, covariance_matrix=_cov(sigma, rho)), 1)
    expected = torch.logsumexp(torch.log_softmax(logits, -1) + comp.log_prob(w[:, None]), -1)
    torch.testing.assert_close(dist.log_prob(action), expected)
    shifted = (logits, mu, sigma, rho, speed + 0.3)
    torch.testing.assert_close(MixtureActionDistribution.kl(params, shifted, 0.0),
                               torch.zeros(len(logits), dtype=torch.float64))
    with pytest.raises(ValueError, match="speed_std must be >= 0"):
        MixtureActionDistribution(params, -0.1)
