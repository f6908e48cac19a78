"""Neural posterior estimators: densities, sampling, bounds, errors."""

import numpy as np
import pytest
import torch
from conftest import SMALL
from scipy import stats

from skamortise import NeuralPosteriorEstimator, simulate

DISTRIBUTIONS = ["gaussian", "mixture", "coupling", "spline", "maf"]
TINY_FLOW = {"n_transforms": 2, "hidden_features": 16}


def _npe(distribution, **params):
    options = {} if distribution in ("gaussian", "mixture") else TINY_FLOW
    return NeuralPosteriorEstimator(
        distribution, distribution_kwargs=options, n_components=3, **{**SMALL, **params}
    )


@pytest.fixture(scope="module")
def normal_mean():
    """theta ~ N(0, 1), x ~ N(theta, 0.5^2): posterior N(0.8 x, 0.2)."""
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(2000, 1))
    return theta + 0.5 * rng.normal(size=(2000, 1)), theta


@pytest.fixture(scope="module")
def fitted_1d(normal_mean):
    X, theta = normal_mean
    return {d: _npe(d, max_epochs=40).fit(X, theta) for d in DISTRIBUTIONS}


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_shapes_and_dtypes(distribution, fitted_1d, normal_mean):
    X, _ = normal_mean
    est = fitted_1d[distribution]
    assert est.sample(X[:4], 7, random_state=0).shape == (4, 7, 1)
    assert est.log_prob(X[:4], np.zeros(4)).shape == (4,)
    assert est.predict(X[:4]).shape == (4, 1)
    assert est.predict_interval(X[:4]).shape == (4, 1, 2)
    assert est.predict_quantiles(X[:4], [0.1, 0.9]).shape == (4, 1, 2)
    assert est.sample(X[:4], 7, random_state=0).dtype == np.float64


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_density_integrates_to_one_in_1d(distribution, fitted_1d):
    grid = np.linspace(-8, 8, 4001)
    for x in (-1.0, 0.5, 2.0):
        density = np.exp(
            fitted_1d[distribution].log_prob(np.full((len(grid), 1), x), grid)
        )
        assert np.trapezoid(density, grid) == pytest.approx(1.0, abs=0.01)


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_samples_follow_log_prob(distribution, fitted_1d):
    est = fitted_1d[distribution]
    draws = est.sample(np.array([[0.7]]), 40000, random_state=1)[0, :, 0]
    edges = np.linspace(*np.quantile(draws, [0.01, 0.99]), 21)
    centres = (edges[:-1] + edges[1:]) / 2
    counts, _ = np.histogram(draws, edges)
    empirical = counts / (len(draws) * np.diff(edges))
    density = np.exp(est.log_prob(np.full((20, 1), 0.7), centres))
    np.testing.assert_allclose(empirical, density, rtol=0.1, atol=0.02)


@pytest.mark.parametrize("distribution", ["gaussian", "spline"])
def test_fits_the_exact_posterior(distribution, normal_mean):
    X, theta = normal_mean
    est = _npe(distribution, max_epochs=80, hidden_layer_sizes=(32,)).fit(X, theta)
    x = np.linspace(-2, 2, 9)[:, None]
    np.testing.assert_allclose(est.predict(x)[:, 0], 0.8 * x[:, 0], atol=0.1)
    sd = est.sample(x, 4000, random_state=0)[..., 0].std(axis=1)
    np.testing.assert_allclose(sd, np.sqrt(0.2), rtol=0.15)


def test_density_integrates_to_one_in_2d_with_bounds(gaussian_model):
    X, y = simulate(
        gaussian_model.prior,
        gaussian_model.simulator,
        1500,
        n_replicates=5,
        random_state=0,
    )
    est = _npe("coupling", bounds=gaussian_model.bounds, max_epochs=10).fit(X, y)
    mu, sigma = np.meshgrid(np.linspace(-6, 6, 241), np.linspace(1e-4, 8, 241))
    grid = np.column_stack([mu.ravel(), sigma.ravel()])
    density = np.exp(est.log_prob(np.repeat(X[:1], len(grid), axis=0), grid))
    total = np.trapezoid(
        np.trapezoid(density.reshape(mu.shape), mu[0], axis=1), sigma[:, 0]
    )
    assert total == pytest.approx(1.0, abs=0.02)
    draws = est.sample([X[0] * 1e3, X[1] * -1e3, X[2]], 500, random_state=0)
    assert (draws[..., 1] > 0).all()
    assert est.log_prob(X[:2], [[0.0, -1.0], [0.0, 0.5]])[0] == -np.inf


def test_sampling_is_seeded_and_leaves_global_rng(fitted_1d, normal_mean):
    X, _ = normal_mean
    est = fitted_1d["spline"]
    torch.manual_seed(5)
    expected = torch.rand(2)
    torch.manual_seed(5)
    a = est.sample(X[:3], 50, random_state=3)
    assert torch.equal(torch.rand(2), expected)
    assert np.array_equal(a, est.sample(X[:3], 50, random_state=3))
    assert not np.array_equal(a, est.sample(X[:3], 50, random_state=4))


def test_median_point_estimate(normal_mean):
    X, theta = normal_mean
    est = _npe("gaussian", point_estimate="median").fit(X, theta)
    np.testing.assert_allclose(
        est.predict(X[:5]), est.predict_quantiles(X[:5], [0.5])[..., 0]
    )


def test_score_is_mean_log_density(fitted_1d, normal_mean):
    X, theta = normal_mean
    est = fitted_1d["gaussian"]
    assert est.score(X, theta) == pytest.approx(est.log_prob(X, theta).mean())
    exact = stats.norm.logpdf(theta[:, 0], 0.8 * X[:, 0], np.sqrt(0.2)).mean()
    assert est.score(X, theta) == pytest.approx(exact, abs=0.1)


def test_bad_arguments(fitted_1d, normal_mean):
    X, _ = normal_mean
    est = fitted_1d["gaussian"]
    with pytest.raises(ValueError, match="n_samples"):
        est.sample(X[:2], 0)
    with pytest.raises(ValueError, match="alpha"):
        est.predict_interval(X[:2], alpha=0)
    with pytest.raises(ValueError, match="quantiles"):
        est.predict_quantiles(X[:2], [1.5])
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        est.log_prob(X[:3], np.zeros(2))
    with pytest.raises(ValueError, match="distribution"):
        NeuralPosteriorEstimator("flowy").fit(X, X)


@pytest.mark.parametrize(("p", "expected"), [(1, "spline"), (5, "spline"), (6, "maf")])
def test_auto_distribution_follows_the_parameter_count(p, expected):
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(200, p))
    X = theta + rng.normal(size=(200, p))
    est = NeuralPosteriorEstimator(
        distribution_kwargs=TINY_FLOW, **{**SMALL, "max_epochs": 2}
    ).fit(X, theta)
    assert est.distribution == "auto" and est.distribution_ == expected
    assert est.sample(X[:2], 3, random_state=0).shape == (2, 3, p)
