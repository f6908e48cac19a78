"""Shared fixtures: small simulated data sets in every layout."""

import numpy as np
import pytest

from skamortise.models import GaussianReplicates

# Tiny networks and few epochs: tests check behaviour, benchmarks check accuracy.
SMALL = dict(hidden_layer_sizes=(16,), max_epochs=15, random_state=0)


@pytest.fixture(scope="session")
def gaussian_model():
    return GaussianReplicates()


@pytest.fixture(scope="session")
def tabular(gaussian_model):
    """One summary vector (mean, log sd) per data set."""
    rng = np.random.default_rng(0)
    theta = gaussian_model.prior(300, rng)
    Z = gaussian_model.simulator(theta, rng, n_replicates=8)[..., 0]
    X = np.column_stack([Z.mean(1), np.log(Z.std(1))])
    return X, theta


@pytest.fixture(scope="session")
def replicated(gaussian_model):
    rng = np.random.default_rng(1)
    theta = gaussian_model.prior(300, rng)
    return gaussian_model.simulator(theta, rng, n_replicates=6), theta


@pytest.fixture(scope="session")
def ragged(gaussian_model):
    rng = np.random.default_rng(2)
    theta = gaussian_model.prior(300, rng)
    counts = rng.integers(1, 12, size=300)
    X = [
        gaussian_model.simulator(t[None], rng, n_replicates=m)[0]
        for t, m in zip(theta, counts, strict=True)
    ]
    return X, theta
