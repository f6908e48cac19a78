"""The parameter map (standardisation, then bounds) composed into the distribution."""

import math

import numpy as np
import pytest
import torch
from conftest import SMALL

from skamortise import NeuralPosteriorEstimator
from skamortise.distributions import BoundsTransform
from skamortise.distributions.gaussian import MultivariateGaussian
from skamortise.distributions.mapped import ParameterDistribution, parameter_map
from skamortise.distributions.noise import draw_from_noise

BOUNDS = [(None, None), (0.0, None), (-1.0, 2.0)]
LOC = torch.tensor([1.0, -0.5, 0.25], dtype=torch.float64)
SCALE = torch.tensor([2.0, 0.5, 3.0], dtype=torch.float64)


def _base(n_batch=4, seed=0):
    g = torch.Generator().manual_seed(seed)
    loc = torch.randn(n_batch, 3, generator=g, dtype=torch.float64)
    a = torch.randn(n_batch, 3, 3, generator=g, dtype=torch.float64)
    cov = a @ a.transpose(-1, -2) + 0.5 * torch.eye(3, dtype=torch.float64)
    return MultivariateGaussian(loc, scale_tril=torch.linalg.cholesky(cov))


@pytest.fixture
def posterior():
    bounds = BoundsTransform.from_bounds(BOUNDS)
    return ParameterDistribution(_base(), parameter_map(LOC, SCALE, bounds)), bounds


def test_log_prob_is_the_change_of_variables(posterior):
    dist, bounds = posterior
    u = LOC + SCALE * torch.randn(4, 3, dtype=torch.float64)
    theta = bounds(u)
    expected = (
        dist.base_dist.log_prob((u - LOC) / SCALE)
        - torch.log(SCALE).sum()
        - bounds.log_abs_det_jacobian(u)
    )
    torch.testing.assert_close(dist.log_prob(theta), expected, rtol=1e-12, atol=1e-12)


def test_log_prob_is_minus_inf_outside_the_support(posterior):
    dist, bounds = posterior
    theta = bounds(torch.zeros(4, 3, dtype=torch.float64))
    theta[0, 1] = 0.0  # on a lower bound
    theta[1, 2] = 2.5  # beyond an upper bound
    log_prob = dist.log_prob(theta)
    assert torch.isneginf(log_prob[:2]).all() and torch.isfinite(log_prob[2:]).all()


def test_draws_and_quantiles_pass_through_the_map(posterior):
    dist, bounds = posterior
    normal = torch.randn(64, 1, 3, dtype=torch.float64)
    uniform = torch.rand(64, 1, dtype=torch.float64)
    theta = draw_from_noise(dist, normal, uniform)
    z = draw_from_noise(dist.base_dist, normal, uniform)
    torch.testing.assert_close(theta, bounds(LOC + SCALE * z), rtol=1e-12, atol=0)
    assert dist.support.check(theta).all()
    # Far in the tails the map saturates onto a bound, never beyond it.
    extreme = draw_from_noise(dist, 50 * normal, uniform)
    lower, upper = bounds.lower, bounds.upper
    assert ((extreme >= lower) & (extreme <= upper)).all()
    levels = torch.tensor([0.1, 0.5, 0.9], dtype=torch.float64)
    q = dist.marginal_quantiles(levels)
    base_q = dist.base_dist.marginal_quantiles(levels).transpose(-1, -2)
    expected = bounds(LOC + SCALE * base_q).transpose(-1, -2)
    torch.testing.assert_close(q, expected, rtol=1e-12, atol=0)


def test_mean_is_affine_without_bounds_and_a_quadrature_through_them(posterior):
    affine = ParameterDistribution(_base(), parameter_map(LOC, SCALE))
    torch.testing.assert_close(affine.mean, LOC + SCALE * affine.base_dist.mean)
    dist, _ = posterior
    draws = dist.sample((200_000,))
    se = draws.std(0) / math.sqrt(len(draws))
    assert ((dist.mean - draws.mean(0)).abs() < 5 * se).all()


@pytest.fixture(scope="module")
def bounded_npe():
    rng = np.random.default_rng(1)
    theta = np.column_stack(
        [rng.normal(size=400), rng.gamma(2.0, size=400), rng.uniform(-1, 2, 400)]
    )
    X = theta + 0.3 * rng.normal(size=theta.shape)
    est = NeuralPosteriorEstimator("mixture", n_components=2, bounds=BOUNDS, **SMALL)
    return est.fit(X, theta), X, theta


def test_estimator_log_prob_is_the_density_on_the_parameter_scale(bounded_npe):
    # The head models the standardised, unbounded parameters; the estimator's
    # density must carry both Jacobians.
    est, X, theta = bounded_npe
    bounds = BoundsTransform.from_bounds(BOUNDS)
    u = bounds.inv(torch.as_tensor(theta[:30]))
    loc, scale = torch.as_tensor(est.y_loc_), torch.as_tensor(est.y_scale_)
    with torch.no_grad():
        head = est.network_.head(torch.as_tensor(est.summarize(X[:30])))
        expected = (
            head.log_prob((u - loc) / scale)
            - torch.log(scale).sum()
            - bounds.log_abs_det_jacobian(u)
        ).numpy()
    np.testing.assert_allclose(est.log_prob(X[:30], theta[:30]), expected, rtol=1e-10)


def test_estimator_log_prob_is_batch_invariant_and_respects_bounds(bounded_npe):
    est, X, theta = bounded_npe
    full = est.log_prob(X[:50], theta[:50])
    pieces = np.concatenate(
        [
            est.log_prob(X[i : min(i + 7, 50)], theta[i : min(i + 7, 50)])
            for i in range(0, 50, 7)
        ]
    )
    np.testing.assert_allclose(pieces, full, rtol=1e-12, atol=1e-12)
    outside = theta[:3].copy()
    outside[:, 2] = 2.0
    assert np.isneginf(est.log_prob(X[:3], outside)).all()
    draws = est.sample(X[:5], 500, random_state=0)
    assert (draws[..., 1] > 0).all()
    assert ((draws[..., 2] > -1) & (draws[..., 2] < 2)).all()
