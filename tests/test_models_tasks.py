"""Tests of the benchmark simulators and their reference posteriors."""

import numpy as np
import pytest
from scipy.stats import multivariate_normal

from skamortise.models.birth_death import BirthDeathImmigration
from skamortise.models.gaussian_field import GaussianField
from skamortise.models.gaussian_linear import GaussianLinear
from skamortise.models.gaussian_mixture import GaussianMixture
from skamortise.models.slcp import SLCP
from skamortise.models.two_moons import TwoMoons

MODELS = {
    "gaussian_linear": (GaussianLinear, (10,)),
    "two_moons": (TwoMoons, (2,)),
    "slcp": (SLCP, (8,)),
    "gaussian_mixture": (GaussianMixture, (2,)),
    "gaussian_field": (lambda: GaussianField(grid_size=8), (8, 8)),
    "birth_death": (BirthDeathImmigration, (20,)),
}


@pytest.fixture(params=list(MODELS), ids=list(MODELS))
def model_and_shape(request):
    factory, shape = MODELS[request.param]
    return factory(), shape


def _inside(theta, bounds):
    ok = np.ones(theta.shape[0], dtype=bool)
    for j, (low, high) in enumerate(bounds):
        if low is not None:
            ok &= theta[:, j] >= low
        if high is not None:
            ok &= theta[:, j] <= high
    return ok


def test_prior_and_simulator_shapes(model_and_shape):
    model, shape = model_and_shape
    rng = np.random.default_rng(0)
    theta = model.prior(7, rng)
    assert theta.shape == (7, model.n_parameters)
    assert theta.dtype == np.float64
    assert len(model.parameter_names) == len(model.bounds) == model.n_parameters
    assert all(isinstance(name, str) for name in model.parameter_names)
    x = model.simulator(theta, rng)
    assert x.shape == (7, *shape)
    assert x.dtype == np.float64
    assert np.all(np.isfinite(x))
    assert model.prior_log_prob(theta).shape == (7,)


def test_prior_respects_bounds(model_and_shape):
    model, _ = model_and_shape
    theta = model.prior(2000, np.random.default_rng(1))
    assert _inside(theta, model.bounds).all()
    assert np.all(np.isfinite(model.prior_log_prob(theta)))


def test_outside_bounds_has_zero_prior_density(model_and_shape):
    model, _ = model_and_shape
    bounded = [j for j, (low, _) in enumerate(model.bounds) if low is not None]
    theta = model.prior(3, np.random.default_rng(2))
    if not bounded:  # an unbounded prior has positive density far out too
        assert np.all(np.isfinite(model.prior_log_prob(theta + 10.0)))
        return
    j = bounded[0]
    theta[:, j] = model.bounds[j][0] - 1.0
    assert np.all(model.prior_log_prob(theta) == -np.inf)


def test_seed_determinism(model_and_shape):
    model, _ = model_and_shape
    theta_a, x_a = model.observations(5, np.random.default_rng(3))
    theta_b, x_b = model.observations(5, np.random.default_rng(3))
    np.testing.assert_array_equal(theta_a, theta_b)
    np.testing.assert_array_equal(x_a, x_b)
    theta_c, x_c = model.observation(4)
    theta_d, x_d = model.observation(4)
    np.testing.assert_array_equal(theta_c, theta_d)
    np.testing.assert_array_equal(x_c, x_d)
    assert theta_c.shape == (model.n_parameters,)


# --------------------------------------------------------------- Gaussian linear
def test_gaussian_linear_posterior_matches_importance_sampling():
    model = GaussianLinear(dim=1)
    x_obs = np.array([0.3])
    rng = np.random.default_rng(10)
    theta = model.prior(400_000, rng)
    w = np.exp(model.log_likelihood(x_obs, theta))
    is_mean = np.sum(w * theta[:, 0]) / w.sum()
    is_var = np.sum(w * (theta[:, 0] - is_mean) ** 2) / w.sum()
    mean, cov = model.posterior_params(x_obs)
    np.testing.assert_allclose(mean, [0.15], rtol=1e-12)
    np.testing.assert_allclose(is_mean, mean[0], atol=3e-3)
    np.testing.assert_allclose(is_var, cov[0, 0], rtol=0.02)


def test_gaussian_linear_reference_samples_and_likelihood():
    model = GaussianLinear()
    rng = np.random.default_rng(11)
    theta, x = model.observation(0)
    samples = model.reference_posterior(x, 20_000, rng)
    assert samples.shape == (20_000, 10)
    np.testing.assert_allclose(samples.mean(0), x / 2, atol=0.01)
    cov = np.cov(samples, rowvar=False)
    np.testing.assert_allclose(cov, 0.05 * np.eye(10), atol=0.004)
    ref = multivariate_normal(theta, 0.1 * np.eye(10)).logpdf(x)
    np.testing.assert_allclose(model.log_likelihood(x, theta[None]), [ref])
    post = multivariate_normal(x / 2, 0.05 * np.eye(10)).logpdf(samples[:3])
    np.testing.assert_allclose(model.posterior_log_prob(x, samples[:3]), post)


# --------------------------------------------------------------------- Two moons
@pytest.mark.parametrize("true_theta", [(0.3, -0.6), (0.05, -0.05)])
def test_two_moons_reference_reproduces_observation(true_theta):
    # The second case puts x_1 above 0.25, where half-ring points left of x are
    # invalid and must be rejected.
    model = TwoMoons()
    theta = np.array([true_theta])
    x_obs = model.forward(theta, np.array([0.4]), np.array([0.1]))[0]
    samples, a, r = model.reference_posterior(
        x_obs, 5000, np.random.default_rng(20), return_latent=True
    )
    assert samples.shape == (5000, 2)
    assert np.all(np.abs(samples) <= 1.0)
    np.testing.assert_allclose(model.forward(samples, a, r), np.tile(x_obs, (5000, 1)))
    assert np.all(np.isfinite(model.log_likelihood(x_obs, samples)))
    # Both mirror-image crescents are present.
    side = samples.sum(axis=1) > 0
    assert 0.2 < side.mean() < 0.8


def test_two_moons_reference_matches_importance_sampling():
    model = TwoMoons()
    _, x_obs = model.observation(1)
    rng = np.random.default_rng(21)
    theta = model.prior(400_000, rng)
    log_w = model.log_likelihood(x_obs, theta)
    w = np.exp(log_w - log_w.max())
    ess = w.sum() ** 2 / np.sum(w**2)
    assert ess > 500
    is_mean = w @ theta / w.sum()
    is_sq = w @ theta**2 / w.sum()
    samples = model.reference_posterior(x_obs, 40_000, rng)
    sd = np.sqrt(is_sq - is_mean**2)
    # Tolerance of about four Monte Carlo standard errors of the IS estimate.
    assert np.all(np.abs(samples.mean(0) - is_mean) < 4 * sd / np.sqrt(ess))
    np.testing.assert_allclose((samples**2).mean(0), is_sq, rtol=0.05, atol=0.01)


# -------------------------------------------------------------------------- SLCP
def test_slcp_log_likelihood_matches_scipy():
    model = SLCP()
    theta, x = model.observations(3, np.random.default_rng(30))
    got = model.log_likelihood(x, theta)
    for i in range(3):
        s1, s2, rho = theta[i, 2] ** 2, theta[i, 3] ** 2, np.tanh(theta[i, 4])
        cov = np.array([[s1**2, rho * s1 * s2], [rho * s1 * s2, s2**2]])
        cov += 1e-6 * np.eye(2)
        ref = multivariate_normal(theta[i, :2], cov).logpdf(x[i].reshape(4, 2)).sum()
        np.testing.assert_allclose(got[i], ref, rtol=1e-9)


def test_slcp_simulator_moments():
    model = SLCP()
    theta = np.tile([0.5, -1.0, 1.2, -0.9, 0.7], (20_000, 1))
    x = model.simulator(theta, np.random.default_rng(31)).reshape(-1, 2)
    s1, s2, rho = 1.2**2, 0.9**2, np.tanh(0.7)
    np.testing.assert_allclose(x.mean(0), [0.5, -1.0], atol=0.03)
    np.testing.assert_allclose(x.std(0), [s1, s2], rtol=0.02)
    np.testing.assert_allclose(np.corrcoef(x.T)[0, 1], rho, atol=0.02)


def test_slcp_reference_posterior_modes_and_likelihood():
    model = SLCP()
    theta_true, x_obs = model.observation(0)
    samples = model.reference_posterior(
        x_obs, 4000, np.random.default_rng(32), n_chains=400, n_warmup=600, thin=3
    )
    assert samples.shape == (4000, 5)
    assert np.all(np.abs(samples) <= 3.0)
    ll = model.log_likelihood(x_obs, samples)
    ll_max = max(ll.max(), model.log_likelihood(x_obs, theta_true[None])[0])
    # Under a flat prior, ll_max - ll is roughly half a chi-square with 5 degrees
    # of freedom (median 2.2, 99.9% quantile 10.3); allow for a non-Gaussian shape.
    gap = ll_max - ll
    assert np.median(gap) < 5.0
    assert np.quantile(gap, 0.99) < 15.0
    signs = np.sign(samples[:, 2:4])
    for s3 in (-1, 1):
        for s4 in (-1, 1):
            share = np.mean((signs[:, 0] == s3) & (signs[:, 1] == s4))
            assert 0.2 < share < 0.3


# -------------------------------------------------------------- Gaussian mixture
def test_gaussian_mixture_reference_inside_box_and_exact():
    model = GaussianMixture()
    x_obs = np.array([9.7, -3.0])
    rng = np.random.default_rng(40)
    samples = model.reference_posterior(x_obs, 50_000, rng)
    assert samples.shape == (50_000, 2)
    assert np.all(np.abs(samples) <= 10.0)
    # Brute force: the untruncated mixture around x_obs, restricted to the box.
    broad = rng.random(200_000) < 0.5
    scale = np.where(broad, 1.0, 0.1)[:, None]
    prop = x_obs + scale * rng.standard_normal((200_000, 2))
    prop = prop[np.all(np.abs(prop) <= 10.0, axis=1)]
    np.testing.assert_allclose(samples.mean(0), prop.mean(0), atol=0.02)
    np.testing.assert_allclose(samples.std(0), prop.std(0), atol=0.02)


def test_gaussian_mixture_posterior_density_normalised():
    model = GaussianMixture(dim=1)
    grid = np.linspace(-10.0, 10.0, 200_001)
    dens = np.exp(model.posterior_log_prob(np.array([9.8]), grid[:, None]))
    np.testing.assert_allclose(np.trapezoid(dens, grid), 1.0, atol=1e-6)


def test_gaussian_mixture_simulator_has_both_components():
    model = GaussianMixture()
    theta = np.zeros((20_000, 2))
    x = model.simulator(theta, np.random.default_rng(41))
    radius = np.linalg.norm(x, axis=1)
    # In 2-D, P(|x - theta| < c) = 1 - exp(-c^2 / (2 s^2)) for scale s.
    expected = 0.5 * (1 - np.exp(-4.5)) + 0.5 * (1 - np.exp(-0.045))
    np.testing.assert_allclose(np.mean(radius < 0.3), expected, atol=0.015)


# ----------------------------------------------------------------- Gaussian field
def test_gaussian_field_covariance_matches_kernel():
    model = GaussianField(grid_size=8)
    theta = np.full((3000, 1), 0.3)
    x = model.simulator(theta, np.random.default_rng(50)).reshape(3000, -1)
    idx = [0, 1, 9, 27, 63]
    emp = x[:, idx].T @ x[:, idx] / x.shape[0]
    np.testing.assert_allclose(emp, model.covariance(0.3)[np.ix_(idx, idx)], atol=0.08)


def test_gaussian_field_replicates_and_chunking():
    rng_seed = 51
    theta = GaussianField().prior(5, np.random.default_rng(rng_seed))
    a = GaussianField(grid_size=8, chunk_size=2, cache_size=0).simulator(
        theta, np.random.default_rng(rng_seed), n_replicates=3
    )
    b = GaussianField(grid_size=8).simulator(
        theta, np.random.default_rng(rng_seed), n_replicates=3
    )
    assert a.shape == (5, 3, 8, 8)
    np.testing.assert_allclose(a, b)


def test_gaussian_field_likelihood_and_reference():
    model = GaussianField(grid_size=8)
    theta, x = model.observation(0, n_replicates=4)
    ref = multivariate_normal(np.zeros(64), model.covariance(theta[0]))
    expected = ref.logpdf(x.reshape(4, -1)).sum()
    np.testing.assert_allclose(model.log_likelihood(x[None], theta[None]), [expected])
    samples = model.reference_posterior(x, 3000, np.random.default_rng(52))
    assert samples.shape == (3000, 1)
    assert np.all((samples >= 0.05) & (samples <= 0.5))
    lo, hi = np.quantile(samples, [0.0005, 0.9995])
    assert lo < theta[0] < hi


# -------------------------------------------------------------------- Birth-death
def test_birth_death_counts_are_valid():
    model = BirthDeathImmigration()
    rng = np.random.default_rng(60)
    x = model.simulator(model.prior(1000, rng), rng)
    assert x.shape == (1000, 20)
    assert np.all(x >= 0)
    assert np.all(x <= model.max_population)
    np.testing.assert_array_equal(x, np.round(x))


def test_birth_death_immigration_death_stationary_mean():
    model = BirthDeathImmigration()
    theta = np.tile([0.0, 0.4, 4.0], (2000, 1))
    x = model.simulator(theta, np.random.default_rng(61))
    # Started at 10 = 4.0 / 0.4, the mean stays there; the law is Poisson(10).
    np.testing.assert_allclose(x[:, 5:].mean(), 10.0, atol=0.3)
    np.testing.assert_allclose(x[:, -1].var(), 10.0, rtol=0.15)
