"""Shared fixtures: small simulated data sets in every layout.

``SKAMORTISE_TEST_N_THREADS`` (an integer, or ``none`` for torch's own setting)
replaces the estimators' default ``n_threads=1`` for a run of the suite, to check
that nothing depends on the thread count: e.g.
``OMP_NUM_THREADS=2 SKAMORTISE_TEST_N_THREADS=none pytest tests``.
"""

import os

import numpy as np
import pytest

import skamortise
from skamortise.models import GaussianReplicates

# Tiny networks and few epochs: tests check behaviour, benchmarks check accuracy.
SMALL = dict(hidden_layer_sizes=(16,), max_epochs=15, random_state=0)

# Float64 results computed in other batches, with other thread counts or on other
# CPUs agree to rounding, not bit for bit: another blocking of a matrix product
# reorders its sums (differences of 1e-16 relative on AVX2 against AVX-512).
ROUNDING = dict(rtol=1e-12, atol=1e-12)


def pytest_configure(config):
    value = os.environ.get("SKAMORTISE_TEST_N_THREADS")
    if not value:
        return
    n_threads = None if value.lower() == "none" else int(value)
    for name in skamortise.__all__:
        init = getattr(getattr(skamortise, name), "__init__", None)
        defaults = getattr(init, "__kwdefaults__", None) or {}
        if "n_threads" in defaults:
            init.__kwdefaults__ = {**defaults, "n_threads": n_threads}


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
