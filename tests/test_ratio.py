"""Neural ratio estimators: the learned ratio, prior swaps, MLE and Wilks tests."""

import numpy as np
import pytest
import torch
from conftest import SMALL
from scipy import stats

from skamortise import NeuralRatioEstimator

SD = 0.5


@pytest.fixture(scope="module")
def gaussian_mean():
    """theta ~ U(-3, 3) proposal, x ~ N(theta, 0.5^2)."""
    rng = np.random.default_rng(0)
    theta = rng.uniform(-3, 3, size=(6000, 1))
    return theta + SD * rng.normal(size=theta.shape), theta


@pytest.fixture(scope="module")
def nre(gaussian_mean):
    X, theta = gaussian_mean
    return NeuralRatioEstimator(
        hidden_layer_sizes=(64, 64), n_iter_no_change=20, random_state=0
    ).fit(X, theta)


X_OBS = np.array([[-1.0], [0.0], [1.2]])


def test_log_ratio_is_log_likelihood_up_to_a_constant(nre):
    grid = np.linspace(-2.5, 2.5, 41)
    thetas = np.broadcast_to(grid[:, None], (3, 41, 1))
    learned = nre.log_ratio(X_OBS, thetas)
    exact = stats.norm.logpdf(X_OBS, grid[None, :], SD)
    # Where the likelihood has mass the difference is flat in theta.
    near = np.abs(grid[None, :] - X_OBS) < 2 * SD
    diff = learned - exact
    centred = diff - (diff * near).sum(1, keepdims=True) / near.sum(1, keepdims=True)
    assert np.abs(centred[near]).max() < 0.35


def test_mcmc_posterior_under_flat_prior(nre):
    draws, info = nre.sample(X_OBS, 2000, random_state=0, return_info=True)
    assert draws.shape == (3, 2000, 1)
    np.testing.assert_allclose(draws.mean(1)[:, 0], X_OBS[:, 0], atol=0.12)
    np.testing.assert_allclose(draws.std(1)[:, 0], SD, rtol=0.15)
    assert (info.rhat < 1.05).all()
    assert ((draws >= nre.support_[0]) & (draws <= nre.support_[1])).all()


def test_prior_swap_after_training_follows_bayes(nre):
    # Prior N(1, 1) with likelihood N(x; theta, 0.5^2): posterior N((4x + 1)/5, 1/5),
    # a shift of up to 0.4 from the flat-prior posterior. (Priors that put the
    # posterior in the far tails of the likelihood need the ratio where training
    # pairs were rare; the estimator's docs say so.)
    prior = torch.distributions.Normal(torch.tensor(1.0), torch.tensor(1.0))
    draws = nre.sample(X_OBS, 3000, prior=prior, random_state=1)
    np.testing.assert_allclose(
        draws.mean(1)[:, 0], (4 * X_OBS[:, 0] + 1) / 5, atol=0.08
    )
    np.testing.assert_allclose(draws.std(1)[:, 0], np.sqrt(1 / 5), rtol=0.15)
    scipy_prior = stats.norm(1.0, 1.0)  # any object with logpdf works too
    np.testing.assert_allclose(
        nre.sample(X_OBS, 3000, prior=scipy_prior, random_state=1).mean(1),
        draws.mean(1),
        atol=0.05,
    )


@pytest.mark.parametrize("method", ["importance", "grid"])
def test_other_samplers_agree(nre, method):
    draws = nre.sample(X_OBS, 2000, method=method, random_state=0)
    np.testing.assert_allclose(draws.mean(1)[:, 0], X_OBS[:, 0], atol=0.12)


def test_same_seed_same_draws(nre):
    a = nre.sample(X_OBS, 100, random_state=3)
    assert np.array_equal(a, nre.sample(X_OBS, 100, random_state=3))
    assert not np.array_equal(a, nre.sample(X_OBS, 100, random_state=4))


def test_mle_map_and_wilks(nre):
    np.testing.assert_allclose(nre.predict(X_OBS)[:, 0], X_OBS[:, 0], atol=0.2)
    prior = torch.distributions.Normal(torch.tensor(1.0), torch.tensor(1.0))
    np.testing.assert_allclose(
        nre.predict_map(X_OBS, prior)[:, 0], (4 * X_OBS[:, 0] + 1) / 5, atol=0.15
    )
    ci = nre.confidence_interval(X_OBS, alpha=0.05)
    exact = X_OBS + np.array([-1, 1]) * 1.96 * SD
    np.testing.assert_allclose(ci[:, 0], exact, atol=0.2)
    statistic, pvalue = nre.lr_test(X_OBS, [[0.0]])
    assert pvalue[1] > 0.5 and pvalue[2] < 0.05
    assert statistic.shape == (3,)


def test_map_needs_a_torch_prior(nre):
    with pytest.raises(TypeError, match="torch.distributions"):
        nre.predict_map(X_OBS, stats.norm(0, 1))


def test_bad_input(nre):
    with pytest.raises(ValueError, match="shape"):
        nre.log_ratio(X_OBS, np.zeros((3, 2)))
    with pytest.raises(ValueError, match="NaN"):
        nre.log_ratio(X_OBS, np.full((3, 1), np.nan))
    with pytest.raises(ValueError, match="method"):
        nre.sample(X_OBS, 10, method="hmc")
    with pytest.raises(ValueError, match="n_samples"):
        nre.sample(X_OBS, -1)
    with pytest.raises(TypeError, match="prior"):
        nre.sample(X_OBS, 10, prior=3.0)


def test_fit_simulator_keeps_proposal_as_default_prior():
    prior = stats.uniform(-2, 4)

    def simulator(theta, rng):
        return theta + SD * rng.normal(size=theta.shape)

    est = NeuralRatioEstimator(**SMALL).fit_simulator(prior, simulator, 300)
    assert est.proposal_ is prior
    assert est.sample(X_OBS, 50, random_state=0).shape == (3, 50, 1)


def test_score_prefers_dependent_pairs(nre, gaussian_mean):
    X, theta = gaussian_mean
    shuffled = np.random.default_rng(3).permutation(theta[:500])
    assert nre.score(X[:500], theta[:500]) > nre.score(X[:500], shuffled) + 0.3


@pytest.mark.slow
@pytest.mark.parametrize("alpha", [0.10, 0.05])
def test_profile_intervals_and_lr_tests_keep_their_coverage(nre, alpha):
    # Fresh pairs away from the proposal's edges (theta in [-2, 2], proposal
    # U(-3, 3)): Wilks' intervals and tests are exact for this Gaussian model, so
    # coverage is 1 - alpha up to the ratio's error. Margin: 3 binomial s.e.
    rng = np.random.default_rng(11)
    n = 600
    theta = rng.uniform(-2, 2, size=(n, 1))
    x = theta + SD * rng.normal(size=theta.shape)
    interval = nre.confidence_interval(x, alpha=alpha)[:, 0]
    covered = (interval[:, 0] <= theta[:, 0]) & (theta[:, 0] <= interval[:, 1])
    margin = 3 * np.sqrt(alpha * (1 - alpha) / n)
    assert abs(covered.mean() - (1 - alpha)) < margin
    _, pvalue = nre.lr_test(x, theta)
    assert abs((pvalue < alpha).mean() - alpha) < margin


def test_log_ratio_function_matches_log_ratio_and_is_differentiable(nre):
    fn = nre.log_ratio_function(X_OBS)
    assert fn.n_datasets == 3
    grid = np.linspace(-2, 2, 5)
    thetas = np.broadcast_to(grid[:, None], (3, 5, 1))
    theta = torch.tensor(thetas, dtype=torch.float64, requires_grad=True)
    value = fn(theta)
    np.testing.assert_allclose(
        value.detach().numpy(), nre.log_ratio(X_OBS, thetas), rtol=1e-12
    )
    value.sum().backward()
    # d log r / d theta of a N(theta, 0.5^2) likelihood is (x - theta) / 0.25.
    slope = theta.grad.numpy()[..., 0]
    exact = (X_OBS - grid[None, :]) / SD**2
    near = np.abs(X_OBS - grid[None, :]) < 1.0
    assert np.abs(slope - exact)[near].max() < 1.5


def test_default_classifier_is_piecewise_linear(nre):
    # ReLU units form the sharp ridges of a narrow likelihood with fewer units than
    # smooth ones (two moons, benchmarks/results/nre.md); the fixture uses defaults.
    kinds = {type(m) for m in nre.network_.head.modules()}
    assert torch.nn.ReLU in kinds
    assert not kinds & {torch.nn.SiLU, torch.nn.GELU}


def test_ratio_head_sees_bounded_parameters_on_their_linear_scale():
    # One linear layer: the logit is affine in whatever the head feeds it. With
    # bounds it must be affine in theta itself, not in the bounds' logit of theta.
    from skamortise.distributions import BoundsTransform
    from skamortise.nn.heads import RatioHead

    bounds = BoundsTransform([-1.0], [1.0])
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        head = RatioHead(1, 1, (), bounds=bounds, loc=[0.1], scale=[1.8]).double()
    theta = torch.linspace(-0.95, 0.95, 21, dtype=torch.float64)[:, None]
    z = (bounds.inv(theta) - 0.1) / 1.8
    with torch.no_grad():
        logit = head(torch.zeros(1, 1, dtype=torch.float64), z[None])[0]
    second_difference = logit[2:] - 2 * logit[1:-1] + logit[:-2]
    assert float(second_difference.abs().max()) < 1e-12
    assert float((logit[1:] - logit[:-1]).abs().min()) > 1e-6  # not constant


def test_ratio_head_standardises_parameters_with_their_mapped_moments():
    from skamortise.distributions import BoundsTransform
    from skamortise.nn.heads import RatioHead

    bounds = BoundsTransform([-1.0, 0.0], [1.0, np.inf])
    loc, scale = [0.3, 0.5], [1.8, 0.7]
    head = RatioHead(1, 2, (4,), bounds=bounds, loc=loc, scale=scale)
    u = torch.as_tensor(loc) + torch.as_tensor(scale) * torch.randn(
        400_000, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64
    )
    theta = bounds(u)
    # Monte Carlo error of the mean: sd / sqrt(n), about 1e-3 here; 5 s.e.
    np.testing.assert_allclose(head.theta_loc, theta.mean(0), atol=5e-3)
    np.testing.assert_allclose(head.theta_scale, theta.std(0), rtol=5e-3)
