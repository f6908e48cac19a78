"""Tests of the sampling, optimisation and likelihood-ratio routines.

Every target is analytic, so each check compares against a known answer.
"""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from skamortise.inference import (
    confidence_set_grid,
    grid_posterior,
    lr_test,
    maximize,
    profile_interval,
    sample_importance,
    sample_log_density,
    sample_mcmc,
)
from skamortise.inference._diagnostics import bulk_ess, split_rhat

torch.set_num_threads(1)

MEANS = torch.tensor([[0.0, 0.0], [3.0, -1.0], [-2.0, 5.0]], dtype=torch.float64)
COVS = torch.tensor(
    [
        [[1.0, 0.8], [0.8, 1.0]],
        [[0.25, -0.2], [-0.2, 0.5]],
        [[4.0, 1.0], [1.0, 0.5]],
    ],
    dtype=torch.float64,
)


def gaussian_log_fn(theta: torch.Tensor) -> torch.Tensor:
    """Three correlated 2-D Gaussians, one per data set, normalised."""
    return torch.distributions.MultivariateNormal(
        MEANS[:, None, :], COVS[:, None, :, :]
    ).log_prob(theta)


def assert_gaussian_moments(samples: np.ndarray, ess: np.ndarray) -> None:
    sd = np.sqrt(np.diagonal(COVS.numpy(), axis1=1, axis2=2))
    error = np.abs(samples.mean(axis=1) - MEANS.numpy())
    assert np.all(error < 5.0 * sd / np.sqrt(ess))
    cov = np.stack([np.cov(s, rowvar=False) for s in samples])
    scaled = (cov - COVS.numpy()) / (sd[:, :, None] * sd[:, None, :])
    assert np.all(np.abs(scaled) < 0.15)


@pytest.mark.parametrize("method", ["slice", "rwm"])
def test_mcmc_recovers_correlated_gaussians(method):
    init = torch.zeros(3, 8, 2, dtype=torch.float64)
    result = sample_mcmc(
        gaussian_log_fn, init, 4000, method=method, warmup=300, generator=0
    )
    assert result.samples.shape == (3, 4000, 2)
    assert result.chains.shape == (3, 8, 500, 2)
    assert result.samples.dtype == np.float64
    assert np.all(result.rhat < 1.05)
    assert_gaussian_moments(result.samples, result.ess)
    if method == "rwm":
        assert np.all((result.acceptance_rate > 0.2) & (result.acceptance_rate < 0.5))
    else:
        assert np.all(result.acceptance_rate == 1.0)
        assert np.all(result.evaluations_per_step < 20)


def beta_log_fn(theta: torch.Tensor) -> torch.Tensor:
    """Beta(2, 5) for the first data set and Beta(5, 2) for the second.

    ``validate_args`` makes it raise outside [0, 1], which checks that the samplers
    never call it there.
    """
    a = torch.tensor([2.0, 5.0], dtype=theta.dtype)[:, None]
    b = torch.tensor([5.0, 2.0], dtype=theta.dtype)[:, None]
    return torch.distributions.Beta(a, b, validate_args=True).log_prob(theta[..., 0])


@pytest.mark.parametrize("method", ["slice", "rwm"])
def test_mcmc_respects_bounds_on_beta_targets(method):
    init = torch.full((2, 8, 1), 0.5, dtype=torch.float64)
    result = sample_mcmc(
        beta_log_fn,
        init,
        4000,
        method=method,
        bounds=([0.0], [1.0]),
        generator=torch.Generator().manual_seed(1),
    )
    samples = result.samples[..., 0]
    assert np.all((samples > 0.0) & (samples < 1.0))
    np.testing.assert_allclose(samples.mean(axis=1), [2 / 7, 5 / 7], atol=0.02)
    np.testing.assert_allclose(samples.var(axis=1), [10 / 392] * 2, rtol=0.15)


def test_slice_finds_both_modes_in_proportion():
    def log_fn(theta):
        x = theta[..., 0]
        left = math.log(0.3) + torch.distributions.Normal(-2.5, 0.5).log_prob(x)
        right = math.log(0.7) + torch.distributions.Normal(2.5, 0.5).log_prob(x)
        return torch.logaddexp(left, right)

    init = torch.linspace(-3.0, 3.0, 16, dtype=torch.float64).reshape(1, 16, 1)
    result = sample_mcmc(log_fn, init, 8000, warmup=200, generator=3)
    weight_right = np.mean(result.samples[0, :, 0] > 0.0)
    assert abs(weight_right - 0.7) < 0.07


def test_mcmc_is_reproducible_by_seed():
    init = torch.zeros(3, 4, 2, dtype=torch.float64)
    first, again, other = (
        sample_mcmc(gaussian_log_fn, init, 40, warmup=20, generator=seed)
        for seed in (0, 0, 1)
    )
    np.testing.assert_array_equal(first.samples, again.samples)
    assert not np.allclose(first.samples, other.samples)


def test_mcmc_keeps_float32_inputs_in_float32():
    seen = []

    def log_fn(theta):
        seen.append(theta.dtype)
        return -0.5 * (theta**2).sum(dim=-1)

    init = torch.zeros(2, 4, 3, dtype=torch.float32)
    result = sample_mcmc(log_fn, init, 20, method="rwm", warmup=10, generator=0)
    assert set(seen) == {torch.float32}
    assert result.samples.dtype == np.float64


def test_mcmc_replicates_a_2d_init_and_rejects_bad_starts():
    result = sample_mcmc(
        gaussian_log_fn, MEANS, 30, method="rwm", n_chains=3, warmup=10, generator=0
    )
    assert result.chains.shape == (3, 3, 10, 2)
    unit = ([0.0], [1.0])
    with pytest.raises(ValueError, match="outside the bounds"):
        sample_mcmc(beta_log_fn, np.full((2, 2, 1), 2.0), 10, bounds=unit)
    with pytest.raises(ValueError, match="non-finite"):
        sample_mcmc(beta_log_fn, np.zeros((2, 2, 1)), 10, bounds=unit)
    with pytest.raises(ValueError, match="method"):
        sample_mcmc(gaussian_log_fn, MEANS, 10, method="hmc")


def test_importance_resampling_recovers_a_gaussian():
    proposal = torch.distributions.MultivariateNormal(
        torch.zeros(2, dtype=torch.float64), 9.0 * torch.eye(2, dtype=torch.float64)
    )

    def proposal_sample(n, generator):
        noise = torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return 3.0 * noise

    result = sample_importance(
        gaussian_log_fn,
        proposal_sample,
        proposal.log_prob,
        2000,
        n_proposals=20000,
        n_datasets=3,
        generator=0,
    )
    assert result.samples.shape == (3, 2000, 2)
    assert np.all(result.ess > 500)
    np.testing.assert_allclose(result.log_normalizer, 0.0, atol=0.1)
    np.testing.assert_allclose(result.samples.mean(axis=1), MEANS.numpy(), atol=0.15)


def test_grid_posterior_is_normalised_and_samples_the_density():
    def log_fn(theta):
        scale = torch.tensor([1.0, 0.5], dtype=theta.dtype)[:, None]
        return -0.5 * (theta[..., 0] / scale) ** 2 + 7.0  # unnormalised on purpose

    grid = grid_posterior(log_fn, ([-6.0], [6.0]), 400, n_datasets=2)
    np.testing.assert_allclose((grid.density * grid.cell_volume).sum(axis=1), 1.0)
    truth = stats.norm.pdf(grid.points[:, 0], scale=[[1.0], [0.5]])
    np.testing.assert_allclose(grid.density, truth, atol=1e-3)
    draws = grid.sample(20000, generator=0)
    assert draws.shape == (2, 20000, 1)
    np.testing.assert_allclose(draws.std(axis=1)[:, 0], [1.0, 0.5], rtol=0.03)

    box = ([-9.0, -6.0], [9.0, 9.0])
    grid_2d = grid_posterior(gaussian_log_fn, box, 60, n_datasets=3)
    assert grid_2d.density_grid().shape == (3, 60, 60)
    np.testing.assert_allclose(grid_2d.density.sum(1) * grid_2d.cell_volume, 1.0)


def test_maximize_finds_bounded_optima_of_quadratics():
    centre = torch.tensor([[0.3, 1.0], [1.5, 3.0], [-0.5, -1.0]], dtype=torch.float64)

    def log_fn(theta):
        return -((theta - centre[:, None, :]) ** 2).sum(dim=-1)

    init = np.random.default_rng(0).uniform(0.1, 0.9, size=(3, 4, 2))
    theta_hat, value = maximize(log_fn, init, bounds=([0.0, -np.inf], [1.0, 2.0]))
    expected = np.array([[0.3, 1.0], [1.0, 2.0], [0.0, -1.0]])
    np.testing.assert_allclose(theta_hat, expected, atol=1e-3)
    np.testing.assert_allclose(value, [0.0, -1.25, -0.25], atol=1e-3)

    theta_hat, _ = maximize(log_fn, init, method="lbfgs", n_steps=50)
    np.testing.assert_allclose(theta_hat, centre.numpy(), atol=1e-6)


def gaussian_mean_loglik(data: np.ndarray, sigma: float = 1.0):
    """Log likelihood of the mean of iid N(mu, sigma^2) rows of ``data``."""
    n = data.shape[1]
    mean = torch.as_tensor(data.mean(axis=1))[:, None]

    def loglik(theta):
        return -0.5 * n * ((theta[..., 0] - mean) / sigma) ** 2

    return loglik


def test_profile_interval_matches_known_sigma_gaussian():
    rng = np.random.default_rng(0)
    sigma, n = 2.0, 25
    data = rng.normal([[1.0], [-3.0], [10.0]], sigma, size=(3, n))
    xbar = data.mean(axis=1)
    result = profile_interval(
        gaussian_mean_loglik(data, sigma), xbar[:, None], index=0, alpha=0.05
    )
    half = 1.959964 * sigma / np.sqrt(n)
    np.testing.assert_allclose(result.lower, xbar - half, atol=1e-3)
    np.testing.assert_allclose(result.upper, xbar + half, atol=1e-3)


def normal_loglik(data: np.ndarray):
    """Log likelihood of ``(mu, sigma)`` for iid normal rows of ``data``."""
    x = torch.as_tensor(data)[:, None, :]

    def loglik(theta):
        mu, sigma = theta[..., :1], theta[..., 1:]
        return (-0.5 * ((x - mu) / sigma) ** 2 - torch.log(sigma)).sum(dim=-1)

    return loglik


def test_profile_interval_profiles_out_a_nuisance_scale():
    rng = np.random.default_rng(1)
    n = 30
    data = rng.normal([[0.0], [2.0]], [[1.0], [3.0]], size=(2, n))
    xbar, s = data.mean(axis=1), data.std(axis=1)
    result = profile_interval(
        normal_loglik(data),
        np.column_stack([xbar, s]),
        index=0,
        bounds=([-np.inf, 0.0], [np.inf, np.inf]),
        method="lbfgs",
        n_steps=50,
    )
    # The profile is -n/2 log(s^2 + (xbar - mu)^2), so the ends are known.
    half = s * np.sqrt(np.exp(stats.chi2.ppf(0.95, 1) / n) - 1.0)
    np.testing.assert_allclose(result.lower, xbar - half, atol=1e-3)
    np.testing.assert_allclose(result.upper, xbar + half, atol=1e-3)


def test_lr_test_pvalues_are_uniform_under_the_null():
    rng = np.random.default_rng(2)
    data = rng.normal(1.0, 1.0, size=(300, 10))
    result = lr_test(gaussian_mean_loglik(data), np.ones(1), init=np.zeros((300, 1)))
    statistic = 10 * (data.mean(axis=1) - 1.0) ** 2
    np.testing.assert_allclose(result.statistic, statistic, atol=1e-4)
    assert result.df == 1
    assert stats.kstest(result.pvalue, "uniform").pvalue > 0.01


def test_lr_test_maximises_nuisance_parameters_under_the_null():
    rng = np.random.default_rng(3)
    n = 20
    data = rng.normal(0.5, 2.0, size=(4, n))
    xbar, s = data.mean(axis=1), data.std(axis=1)
    result = lr_test(
        normal_loglik(data),
        np.array([0.0, 1.0]),
        np.column_stack([xbar, s]),
        index=[0],
        bounds=([-np.inf, 0.0], [np.inf, np.inf]),
        method="lbfgs",
        n_steps=50,
    )
    expected = n * np.log(1.0 + xbar**2 / s**2)
    np.testing.assert_allclose(result.statistic, expected, rtol=1e-5)
    np.testing.assert_allclose(result.theta_null[:, 1], np.sqrt(s**2 + xbar**2))


def test_confidence_set_grid_matches_the_wilks_region():
    rng = np.random.default_rng(4)
    data = rng.normal(0.0, 1.0, size=(2, 16))
    result = confidence_set_grid(
        gaussian_mean_loglik(data), ([-3.0], [3.0]), 601, n_datasets=2
    )
    xbar = data.mean(axis=1)
    inside_points = np.where(result.inside, result.points[:, 0], np.nan)
    half = 1.959964 / 4.0
    np.testing.assert_allclose(np.nanmin(inside_points, axis=1), xbar - half, atol=0.01)
    np.testing.assert_allclose(np.nanmax(inside_points, axis=1), xbar + half, atol=0.01)


def test_profile_interval_expands_its_grid_without_curvature():
    centre = torch.tensor([[0.0], [5.0]], dtype=torch.float64)
    slope = torch.tensor([[0.1], [2.0]], dtype=torch.float64)

    def loglik(theta):  # piecewise linear: no Hessian to size the first grid
        return -(slope * (theta[..., 0] - centre).abs())

    result = profile_interval(loglik, centre, index=0)
    half = stats.chi2.ppf(0.95, 1) / 2.0 / slope[:, 0].numpy()
    np.testing.assert_allclose(result.lower, centre[:, 0].numpy() - half, atol=1e-3)
    np.testing.assert_allclose(result.upper, centre[:, 0].numpy() + half, atol=1e-3)


def test_profile_interval_stops_at_a_bound():
    data = np.array([[0.05] * 4])
    result = profile_interval(
        gaussian_mean_loglik(data), [[0.05]], index=0, bounds=([0.0], [np.inf])
    )
    assert result.lower[0] == 0.0
    np.testing.assert_allclose(result.upper, 0.05 + 1.959964 / 2.0, atol=1e-3)


def test_maximize_ignores_starts_outside_the_support():
    def log_fn(theta):
        x = theta[..., 0]
        return torch.where(x > 0, -((x - 1.0) ** 2), torch.full_like(x, -torch.inf))

    init = np.array([[[-1.0], [0.5]]])
    theta_hat, value = maximize(log_fn, init)
    np.testing.assert_allclose(theta_hat, [[1.0]], atol=1e-4)
    np.testing.assert_allclose(value, [0.0], atol=1e-6)


def test_importance_warns_when_all_weights_vanish():
    def proposal_sample(n, generator):
        return torch.rand(1, n, 1, generator=generator, dtype=torch.float64)

    def log_fn(theta):
        return torch.where(theta[..., 0] > 2.0, 0.0, -torch.inf)

    with pytest.warns(RuntimeWarning, match="no candidate"):
        result = sample_importance(
            log_fn, proposal_sample, lambda t: torch.zeros(t.shape[:2]), 5, generator=0
        )
    assert np.all(np.isnan(result.samples)) and result.ess[0] == 0.0


# -- convergence diagnostics on chains with known properties -----------------------
def _ar1_chains(rho, n_chains, n_draws, seed):
    """Stationary AR(1) chains with unit variance: tau = (1 + rho) / (1 - rho)."""
    rng = np.random.default_rng(seed)
    out = np.empty((1, n_chains, n_draws, 1))
    x = rng.normal(size=n_chains)
    for t in range(n_draws):
        x = rho * x + math.sqrt(1 - rho**2) * rng.normal(size=n_chains)
        out[0, :, t, 0] = x
    return out


def test_rhat_and_ess_of_independent_chains():
    chains = _ar1_chains(0.0, 8, 2000, seed=0)
    assert abs(split_rhat(chains)[0, 0] - 1) < 0.005
    # ESS of 16,000 independent draws: its sd is about 1 %.
    assert abs(bulk_ess(chains)[0, 0] / 16000 - 1) < 0.08


def test_ess_of_autocorrelated_chains_is_n_over_tau():
    rho = 0.8
    tau = (1 + rho) / (1 - rho)
    chains = _ar1_chains(rho, 8, 5000, seed=1)
    assert abs(bulk_ess(chains)[0, 0] / (40000 / tau) - 1) < 0.15


def test_rhat_of_short_autocorrelated_chains_exceeds_one_by_tau_over_n():
    # For stationary chains split into halves of n draws, R-hat^2 is about
    # 1 + (tau - 1) / n: 1.0099 here. Many chains make the estimate precise.
    rho = 0.5
    tau = (1 + rho) / (1 - rho)
    chains = _ar1_chains(rho, 2000, 200, seed=2)
    expected = math.sqrt(1 + (tau - 1) / 100)
    assert abs(split_rhat(chains)[0, 0] - expected) < 0.003


def test_rhat_flags_a_shifted_chain_and_a_trend():
    chains = _ar1_chains(0.0, 4, 1000, seed=3)
    shifted = chains.copy()
    shifted[0, 0] += 1.0
    assert split_rhat(shifted)[0, 0] > 1.05
    # A drift shared by all chains leaves chain means equal; only splitting the
    # chains exposes it.
    trend = chains + np.linspace(-2, 2, 1000)[None, None, :, None]
    assert split_rhat(trend)[0, 0] > 1.05


def test_box_sampler_draws_pass_a_ks_test():
    # Beta(2, 5) on [0, 1] through the ratio estimator's default sampler.
    def log_fn(theta):
        x = theta[..., 0]
        return math.log(30.0) + torch.log(x) + 4 * torch.log1p(-x)

    lower = torch.zeros(1, dtype=torch.float64)
    upper = torch.ones(1, dtype=torch.float64)
    samples, info = sample_log_density(
        log_fn,
        lower,
        upper,
        1,
        10000,
        thin=3,
        generator=torch.Generator().manual_seed(0),
    )
    assert info.chains.shape[1] == 100  # one chain per 100 draws by default
    assert (info.rhat < 1.01).all()
    assert stats.kstest(samples[0, :, 0], stats.beta(2, 5).cdf).pvalue > 1e-3


def _two_mode_log_fn(theta):
    """Two sharp 2-D Gaussians (sd 0.05) holding 30 % and 70 % of the mass."""
    centres = torch.tensor([[-1.5, 1.0], [1.5, -0.5]], dtype=theta.dtype)
    log_w = torch.log(torch.tensor([0.3, 0.7], dtype=theta.dtype))
    d = -0.5 * ((theta[..., None, :] - centres) ** 2).sum(-1) / 0.05**2
    return torch.logsumexp(d + log_w, dim=-1) - math.log(2 * math.pi * 0.05**2)


def test_box_sampler_mixes_between_separated_modes_in_proportion():
    # Local kernels never cross between modes 60 standard deviations apart; the
    # independence moves from the tempered mixture must, in the right proportion.
    box = torch.full((2,), 3.0, dtype=torch.float64)
    samples, info = sample_log_density(
        _two_mode_log_fn,
        -box,
        box,
        1,
        10000,
        generator=torch.Generator().manual_seed(0),
    )
    assert samples.shape == (1, 10000, 2)
    assert (info.rhat < 1.01).all()
    right = samples[0, :, 0] > 0
    ess = info.ess.min()
    assert abs(right.mean() - 0.7) < 4 * math.sqrt(0.21 / ess)
    for mode, centre in ((right, [1.5, -0.5]), (~right, [-1.5, 1.0])):
        draws = samples[0, mode]
        assert np.all(np.abs(draws.mean(0) - centre) < 5 * 0.05 / math.sqrt(ess / 2))
        assert np.all(np.abs(draws.std(0) / 0.05 - 1) < 0.1)


def test_independence_metropolis_is_exact_under_a_poor_proposal():
    # N(0.3, 0.2^2) on [-1, 1] through a proposal centred elsewhere and too wide:
    # only the Metropolis-Hastings correction by the proposal density makes the
    # draws right.
    from skamortise.inference._independence import independence_metropolis
    from skamortise.inference.mixture import GaussianMixture

    lower = torch.tensor([-1.0], dtype=torch.float64)
    upper = -lower
    proposal = GaussianMixture(
        torch.zeros(1, 1, dtype=torch.float64),
        torch.tensor([[[-0.2]]], dtype=torch.float64),
        torch.tensor([[[[0.5]]]], dtype=torch.float64),
    ).with_box(lower, upper, 0.1)

    def log_fn(theta):
        return -0.5 * ((theta[..., 0] - 0.3) / 0.2) ** 2

    init = torch.full((1, 50, 1), 0.3, dtype=torch.float64)
    result = independence_metropolis(
        log_fn,
        proposal,
        init,
        20000,
        warmup=20,
        thin=2,
        bounds=(lower, upper),
        generator=torch.Generator().manual_seed(1),
    )
    draws = result.samples[0, :, 0]
    truth = stats.truncnorm(-6.5, 3.5, loc=0.3, scale=0.2)
    assert abs(draws.mean() - 0.3) < 4 * 0.2 / math.sqrt(result.ess.min())
    assert abs(draws.std() / 0.2 - 1) < 0.05
    # A KS test on every 10th kept draw of each chain (20 steps apart).
    spaced = result.chains[0, :, ::10, 0].ravel()
    assert stats.kstest(spaced, truth.cdf).pvalue > 1e-3
    assert 0.2 < result.acceptance_rate[0] < 0.9
    assert result.evaluations_per_step[0] == 1


def test_tempered_mixture_puts_a_component_on_every_mode():
    from skamortise.inference._tempering import tempered_mixture

    centres = torch.tensor(
        [[s1, s2, 0.5, 0.5, 0.0] for s1 in (-1, 1) for s2 in (-1, 1)],
        dtype=torch.float64,
    )

    def log_fn(theta):
        d = -0.5 * ((theta[..., None, :] - centres) ** 2).sum(-1) / 0.05**2
        return torch.logsumexp(d, dim=-1)

    box = torch.full((5,), 3.0, dtype=torch.float64)
    fit = tempered_mixture(log_fn, -box, box, 1, torch.Generator().manual_seed(0))
    means = fit.proposal.means[0]
    weights = fit.proposal.log_weights[0].exp()
    for centre in centres:
        near = (means - centre).norm(dim=-1) < 0.1
        assert weights[near].sum() > 0.15
    weights_is = torch.softmax(fit.log_weights[0], 0)
    assert 1 / (weights_is**2).sum() > 0.3 * fit.points.shape[1]


def test_box_sampler_thins_until_rhat_is_below_one_point_zero_one():
    # Ripples the mixture cannot follow keep independence moves at ~40 %
    # acceptance, so unthinned chains of 100 draws have a split-R-hat near 1.05.
    def log_fn(theta):
        x, y = theta[..., 0], theta[..., 1]
        return -0.5 * (x**2 + y**2) / 0.3**2 + 2.5 * torch.sin(25 * x) * torch.sin(
            25 * y
        )

    box = torch.full((2,), 2.0, dtype=torch.float64)
    results = [
        sample_log_density(
            log_fn,
            -box,
            box,
            1,
            10000,
            thin=thin,
            generator=torch.Generator().manual_seed(0),
        )
        for thin in (1, None)
    ]
    (_, fixed), (samples, auto) = results
    assert fixed.rhat.max() > 1.02
    assert auto.rhat.max() < 1.01
    # The target is symmetric under theta -> -theta.
    error = np.abs(samples[0].mean(0)) / samples[0].std(0)
    assert np.all(error < 5 / np.sqrt(auto.ess[0]))


def test_mcmc_independence_kernel_recovers_correlated_gaussians_from_a_poor_mixture():
    # Two components per data set, one shifted by a standard deviation and both
    # wider than the target: the local moves and the Metropolis-Hastings correction
    # make the draws right anyway.
    from skamortise.inference.mixture import GaussianMixture

    sd = torch.sqrt(torch.diagonal(COVS, dim1=1, dim2=2))
    means = torch.stack([MEANS, MEANS + sd], dim=1)
    cholesky = torch.linalg.cholesky(1.5 * COVS)[:, None].expand(-1, 2, -1, -1)
    proposal = GaussianMixture(
        torch.log(torch.full((3, 2), 0.5)).double(), means, cholesky
    )
    init = MEANS[:, None, :].expand(3, 8, 2).clone()
    result = sample_mcmc(
        gaussian_log_fn,
        init,
        4000,
        method="independence",
        proposal=proposal,
        warmup=100,
        generator=0,
    )
    assert np.all(result.rhat < 1.05)
    assert_gaussian_moments(result.samples, result.ess)
    assert np.all((result.acceptance_rate > 0.2) & (result.acceptance_rate < 0.95))
    assert np.all(result.evaluations_per_step == 2)
