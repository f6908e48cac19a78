"""Posterior summaries without draws (Gaussian, mixture) and from quasi-random draws.

The exact paths are checked against independent computations (scipy) at the level of
the distributions, and against the estimator's own posterior samples, with margins of
several Monte Carlo standard errors, through the standardisation and the bounds.
"""

import numpy as np
import pytest
import torch
from conftest import SMALL
from scipy import integrate, optimize, special, stats

from skamortise import NeuralPosteriorEstimator
from skamortise.distributions.gaussian import MultivariateGaussian
from skamortise.distributions.mixture import GaussianMixture

LEVELS = np.array([0.025, 0.1, 0.5, 0.9, 0.975])
BOUNDS = [(None, None), (0.0, None)]
N_DRAWS = 200_000
N_BATCHES = 20


def _random_mixture(n_batch=3, k=3, p=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    logits = torch.randn(n_batch, k, generator=g, dtype=torch.float64)
    loc = 2.0 * torch.randn(n_batch, k, p, generator=g, dtype=torch.float64)
    a = torch.randn(n_batch, k, p, p, generator=g, dtype=torch.float64)
    cov = a @ a.transpose(-1, -2) + 0.1 * torch.eye(p, dtype=torch.float64)
    return logits, loc, cov


# -- the distributions, against scipy -----------------------------------------------
def test_gaussian_marginal_quantiles_match_scipy():
    _, loc, cov = _random_mixture()
    dist = MultivariateGaussian(loc[:, 0], scale_tril=torch.linalg.cholesky(cov[:, 0]))
    q = dist.marginal_quantiles(torch.as_tensor(LEVELS)).numpy()
    sd = np.sqrt(np.diagonal(cov[:, 0].numpy(), axis1=-2, axis2=-1))
    expected = stats.norm.ppf(LEVELS, loc[:, 0, :, None].numpy(), sd[..., None])
    np.testing.assert_allclose(q, expected, rtol=1e-12, atol=1e-12)


def test_mixture_marginal_quantiles_solve_the_scipy_cdf():
    logits, loc, cov = _random_mixture()
    mix = GaussianMixture(logits, loc, torch.linalg.cholesky(cov))
    q = mix.marginal_quantiles(torch.as_tensor(LEVELS)).numpy()
    weights = special.softmax(logits.numpy(), axis=-1)
    sd = np.sqrt(np.diagonal(cov.numpy(), axis1=-2, axis2=-1))
    for b in range(q.shape[0]):
        for j in range(q.shape[1]):

            def cdf(x, b=b, j=j):
                return weights[b] @ stats.norm.cdf(x, loc[b, :, j].numpy(), sd[b, :, j])

            for level, value in zip(LEVELS, q[b, j], strict=True):
                root = optimize.brentq(
                    lambda x, level=level: cdf(x) - level, -100, 100, xtol=1e-14
                )
                assert value == pytest.approx(root, abs=1e-10)


@pytest.mark.parametrize("family", ["gaussian", "mixture"])
def test_marginal_quadrature_matches_scipy(family):
    logits, loc, cov = _random_mixture()
    tril = torch.linalg.cholesky(cov)
    if family == "gaussian":
        dist = MultivariateGaussian(loc[:, 0], scale_tril=tril[:, 0])
        weights, loc, cov = np.ones((3, 1)), loc[:, :1], cov[:, :1]
    else:
        dist = GaussianMixture(logits, loc, tril)
        weights = special.softmax(logits.numpy(), axis=-1)
    nodes, node_weights = dist.marginal_quadrature()
    sigmoid = (node_weights[..., None] * torch.sigmoid(nodes)).sum(0).numpy()
    sd = np.sqrt(np.diagonal(cov.numpy(), axis1=-2, axis2=-1))
    for b in range(sigmoid.shape[0]):
        for j in range(sigmoid.shape[1]):
            expected = sum(
                w
                * integrate.quad(
                    lambda x, m=m, s=s: special.expit(x) * stats.norm.pdf(x, m, s),
                    m - 40 * s,
                    m + 40 * s,
                    epsabs=1e-13,
                    limit=200,
                )[0]
                for w, m, s in zip(
                    weights[b], loc[b, :, j].numpy(), sd[b, :, j], strict=True
                )
            )
            # The 64-node rule is exact for polynomials of degree < 128; for a
            # sigmoid of a normal with sd up to 3 its error is below 1e-7.
            assert sigmoid[b, j] == pytest.approx(expected, abs=1e-6)


# -- the estimator, against its own samples -----------------------------------------
@pytest.fixture(scope="module")
def fitted(tabular):
    X, theta = tabular
    models = {
        (family, bounds is not None): NeuralPosteriorEstimator(
            family, n_components=3, bounds=bounds, **SMALL
        ).fit(X, theta)
        for family in ("gaussian", "mixture")
        for bounds in (None, BOUNDS)
    }
    models["spline", True] = NeuralPosteriorEstimator(
        "spline",
        bounds=BOUNDS,
        distribution_kwargs={"n_transforms": 2, "hidden_features": 16},
        n_point_samples=64,
        **SMALL,
    ).fit(X, theta)
    return models


def _sampled(est, X):
    """Quantiles and means of many posterior draws, with Monte Carlo standard errors.

    The standard errors come from ``N_BATCHES`` independent batches of the draws.
    """
    draws = est.sample(X, N_DRAWS, random_state=1)
    batches = draws.reshape(len(X), N_BATCHES, -1, draws.shape[-1])
    q = np.moveaxis(np.quantile(draws, LEVELS, axis=1), 0, -1)
    q_batches = np.moveaxis(np.quantile(batches, LEVELS, axis=2), 0, -1)
    q_se = q_batches.std(axis=1, ddof=1) / np.sqrt(N_BATCHES)
    mean_se = draws.std(axis=1) / np.sqrt(N_DRAWS)
    return q, q_se, draws.mean(axis=1), mean_se


@pytest.mark.parametrize("family", ["gaussian", "mixture"])
@pytest.mark.parametrize("bounded", [False, True])
def test_exact_summaries_match_the_samples(fitted, tabular, family, bounded):
    est = fitted[family, bounded]
    X = tabular[0][:4]
    q, q_se, mean, mean_se = _sampled(est, X)
    np.testing.assert_array_less(np.abs(est.predict_quantiles(X, LEVELS) - q), 5 * q_se)
    interval = est.predict_interval(X, alpha=0.05)
    np.testing.assert_array_less(
        np.abs(interval - q[..., [0, -1]]), 5 * q_se[..., [0, -1]]
    )
    np.testing.assert_array_less(np.abs(est.predict(X) - mean), 5 * mean_se)
    if bounded:
        assert (est.predict_quantiles(X, LEVELS)[:, 1] > 0).all()


def test_bounded_mean_is_not_the_mapped_mean(fitted, tabular):
    # The case the quadrature exists for: mapping the unbounded mean through the
    # bounds (Jensen's gap) would differ from the samples by many standard errors.
    est = fitted["gaussian", True]
    X = tabular[0][:4]
    _, _, mean, mean_se = _sampled(est, X)
    mapped = est.predict_quantiles(X, [0.5])[..., 0]  # the image of the u-space mean
    assert (np.abs(mapped - mean)[:, 1] > 20 * mean_se[:, 1]).all()


@pytest.mark.parametrize(
    "key", [("gaussian", True), ("mixture", True), ("spline", True)]
)
def test_summaries_are_deterministic_and_batch_invariant(fitted, tabular, key):
    X = tabular[0]
    est = fitted[key]
    for method in ("predict", "predict_quantiles", "predict_interval"):
        full = getattr(est, method)(X[:50])
        np.testing.assert_array_equal(full, getattr(est, method)(X[:50]))
        pieces = np.concatenate(
            [getattr(est, method)(X[i : min(i + 7, 50)]) for i in range(0, 50, 7)]
        )
        np.testing.assert_allclose(pieces, full, rtol=1e-12, atol=1e-12)


# -- the flows' quasi-Monte Carlo summaries ------------------------------------------
@pytest.fixture(scope="module")
def flow_1d():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(1000, 1))
    X = theta + 0.5 * rng.normal(size=(1000, 1))
    return NeuralPosteriorEstimator(
        "spline",
        distribution_kwargs={"n_transforms": 2, "hidden_features": 16},
        n_point_samples=256,
        **SMALL,
    ).fit(X, theta)


def test_flow_quantiles_are_stratified_in_one_dimension(flow_1d):
    """With one parameter the base points are one per stratum of width 1/n.

    A one-dimensional flow is increasing, so the k-th smallest draw lies in the
    k-th stratum of the posterior's own distribution function, and every quantile
    is within 2/n of its level on that scale: no Monte Carlo error beyond it.
    Independent draws would miss by about sqrt(tau (1 - tau) / n), up to 4 times
    more.
    """
    n = flow_1d.n_point_samples
    x = np.array([[-1.0], [0.3], [1.5]])
    levels = np.array([0.1, 0.3, 0.5, 0.7, 0.9])
    q = flow_1d.predict_quantiles(x, levels)[:, 0]
    grid = np.linspace(-6, 6, 24001)
    for x_i, q_i in zip(x, q, strict=True):
        density = np.exp(flow_1d.log_prob(np.repeat(x_i[None], len(grid), 0), grid))
        cdf = integrate.cumulative_trapezoid(density, grid, initial=0.0)
        assert cdf[-1] == pytest.approx(1.0, abs=1e-3)
        cdf /= cdf[-1]
        np.testing.assert_array_less(np.abs(np.interp(q_i, grid, cdf) - levels), 2 / n)


def test_levels_must_lie_inside_the_unit_interval(fitted, tabular):
    est = fitted["gaussian", False]
    for bad in ([0.0, 0.5], [0.5, 1.0], [np.nan]):
        with pytest.raises(ValueError, match="strictly between 0 and 1"):
            est.predict_quantiles(tabular[0][:2], bad)
