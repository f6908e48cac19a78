"""Inference from a log ratio on a box, against a Gaussian log likelihood.

The log ratio ``-(theta - mu)^2 / (2 s^2)`` per coordinate (a Gaussian likelihood
up to a constant) has known maximisers, likelihood-ratio statistics, Wilks
intervals and, with a Gaussian prior, a known MAP and posterior.
"""

import numpy as np
import pytest
import torch
from scipy import stats

from skamortise.inference.ratio import (
    box_maximum,
    map_estimate,
    posterior_log_fn,
    profile_intervals,
    sample_posterior,
    simple_lr_test,
)

MU = torch.tensor([[0.5, -1.0], [1.5, 2.0]], dtype=torch.float64)
S = torch.tensor([0.5, 1.0], dtype=torch.float64)
LOWER = torch.tensor([-5.0, -6.0], dtype=torch.float64)
UPPER = torch.tensor([5.0, 6.0], dtype=torch.float64)


def log_ratio(theta):
    return -0.5 * (((theta - MU[:, None]) / S) ** 2).sum(-1)


def test_box_maximum_finds_the_maximiser_inside_the_box():
    theta, value = box_maximum(log_ratio, LOWER, UPPER, len(MU))
    np.testing.assert_allclose(theta, MU.numpy(), atol=1e-4)
    np.testing.assert_allclose(value, 0.0, atol=1e-7)
    # A box that excludes the maximiser: the maximum is on its edge.
    theta, _ = box_maximum(log_ratio, LOWER, torch.full((2,), 0.0).double(), 2)
    np.testing.assert_allclose(theta[1], [0.0, 0.0], atol=1e-4)


def test_simple_lr_test_is_the_squared_standardised_distance():
    y0 = np.array([0.0, 0.0])
    statistic, pvalue = simple_lr_test(log_ratio, y0, LOWER, UPPER, len(MU))
    exact = (((torch.as_tensor(y0) - MU) / S) ** 2).sum(-1).numpy()
    np.testing.assert_allclose(statistic, exact, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(pvalue, stats.chi2.sf(exact, df=2), rtol=1e-5)


def test_profile_intervals_are_wald_intervals_of_a_gaussian_likelihood():
    out = profile_intervals(log_ratio, LOWER, UPPER, len(MU), alpha=0.05)
    z = stats.norm.ppf(0.975)
    expected = np.stack([MU - z * S, MU + z * S], axis=-1)
    assert out.shape == (2, 2, 2)
    np.testing.assert_allclose(out, expected, atol=1e-3)


def test_map_estimate_is_the_conjugate_posterior_mode():
    prior = torch.distributions.Normal(
        torch.zeros(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64)
    )
    theta = map_estimate(log_ratio, prior, LOWER, UPPER, len(MU))
    # Gaussian likelihood N(mu; theta, s^2), prior N(0, 1): mode mu / (1 + s^2).
    np.testing.assert_allclose(theta, (MU / (1 + S**2)).numpy(), atol=1e-4)
    with pytest.raises(TypeError, match="torch.distributions prior"):
        map_estimate(log_ratio, lambda t: -(t**2).sum(-1), LOWER, UPPER, len(MU))


def test_posterior_log_fn_adds_the_prior():
    theta = torch.zeros(2, 3, 2, dtype=torch.float64)
    log_fn, differentiable = posterior_log_fn(log_ratio, None)
    assert differentiable
    torch.testing.assert_close(log_fn(theta), log_ratio(theta))
    prior = torch.distributions.Normal(torch.tensor(0.0).double(), 2.0)
    log_fn, _ = posterior_log_fn(log_ratio, prior)
    torch.testing.assert_close(
        log_fn(theta), log_ratio(theta) + prior.log_prob(theta).sum(-1)
    )


def test_sample_posterior_draws_from_the_flat_prior_posterior():
    generator = torch.Generator().manual_seed(0)
    draws, _ = sample_posterior(
        log_ratio, None, LOWER, UPPER, 2, 4000, method="importance", generator=generator
    )
    assert draws.shape == (2, 4000, 2) and draws.dtype == np.float64
    # 4,000 draws (ESS well above 1,000): 4 Monte Carlo s.e. of the mean at most
    # 4 * 1 / sqrt(1000) = 0.13 for the wider coordinate.
    np.testing.assert_allclose(draws.mean(1), MU.numpy(), atol=0.13)
    np.testing.assert_allclose(draws.std(1), np.broadcast_to(S, (2, 2)), rtol=0.1)
    with pytest.raises(ValueError, match="method must be"):
        sample_posterior(log_ratio, None, LOWER, UPPER, 2, 10, method="nuts")
