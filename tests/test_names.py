"""One name per meaning: renamed public names keep working with a FutureWarning."""

import numpy as np
import pandas as pd
import pytest

from skamortise.diagnostics import SBCResult
from skamortise.diagnostics.tarp import TARPResult


def _sbc():
    ranks = np.random.default_rng(0).integers(0, 11, size=(40, 2))
    return SBCResult(ranks=ranks, n_posterior_samples=10, parameter_names=["a", "b"])


def test_sbc_result_counts_data_sets_and_parameters_like_the_bootstrap():
    result = _sbc()
    assert (result.n_datasets, result.n_parameters) == (40, 2)
    with pytest.warns(FutureWarning, match="n_sims was renamed SBCResult.n_datasets"):
        assert result.n_sims == 40
    with pytest.warns(FutureWarning, match="n_params was renamed"):
        assert result.n_params == 2


def test_tarp_result_counts_data_sets():
    counts = np.arange(5)
    result = TARPResult(counts, 10, np.zeros(5), np.zeros((5, 1)))
    assert result.n_datasets == 5
    with pytest.warns(FutureWarning, match="n_sims"):
        assert result.n_sims == 5


def test_the_mixture_distribution_has_its_own_name():
    import skamortise.distributions as distributions
    from skamortise.models import GaussianMixture as MixtureSimulator

    new = distributions.MultivariateGaussianMixture
    assert new is not MixtureSimulator
    with pytest.warns(FutureWarning, match="MultivariateGaussianMixture"):
        assert distributions.GaussianMixture is new
    with pytest.raises(AttributeError):
        distributions.NoSuchThing  # noqa: B018


# Renamed keywords: "n_simulations" counts simulations everywhere; "replicate_counts"
# is one count per data set, while "n_replicates" is what ``simulate`` draws from.


def _prior(n, rng):
    return rng.standard_normal((n, 1))


def _simulator(theta, rng, n_replicates=4):
    return theta[:, None, :] + rng.standard_normal((len(theta), n_replicates, 1))


class _Posterior:
    def sample(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        X = np.asarray(X)
        return X.mean(1)[:, None] + rng.standard_normal((len(X), n_samples, 1))

    def predict(self, X):
        return np.asarray([np.mean(x, axis=0) for x in X])


def test_sbc_counts_simulations_as_n_simulations():
    from skamortise.diagnostics import sbc

    new = sbc(_Posterior(), _prior, _simulator, n_simulations=30, random_state=0)
    with pytest.warns(FutureWarning, match=r"sbc\(n_sims=...\) was renamed"):
        old = sbc(_Posterior(), _prior, _simulator, n_sims=30, random_state=0)
    assert old.n_datasets == 30
    np.testing.assert_array_equal(old.ranks, new.ranks)


class _Focused:
    """The exact posterior of theta ~ N(0, 1), x ~ N(theta, 1): N(x / 2, 1 / 2)."""

    def sample(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        X = np.asarray(X, dtype=np.float64).reshape(-1, 1)
        z = rng.standard_normal((len(X), n_samples, 1))
        return X[:, None] / 2 + np.sqrt(0.5) * z

    def log_prob(self, X, theta):
        X = np.asarray(X, dtype=np.float64).reshape(-1, 1)
        return -((np.asarray(theta) - X / 2) ** 2).sum(axis=1)


def test_truncated_sbc_counts_simulations_as_n_simulations():
    from scipy import stats

    from skamortise.diagnostics import truncated_sbc

    def simulator(theta, rng):
        return theta + rng.standard_normal(theta.shape)

    args = (_Focused(), stats.norm(), simulator, np.array([[0.5]]))
    new = truncated_sbc(*args, n_simulations=20, random_state=0)
    with pytest.warns(FutureWarning, match=r"truncated_sbc\(n_sims=...\)"):
        old = truncated_sbc(*args, n_sims=20, random_state=0)
    assert old.n_datasets == 20
    np.testing.assert_array_equal(old.ranks, new.ranks)


def test_bootstrap_takes_one_count_per_data_set_as_replicate_counts():
    from skamortise import bootstrap

    X = _simulator(np.zeros((2, 1)), np.random.default_rng(0), 6)
    options = dict(simulator=_simulator, random_state=0)
    new = bootstrap(
        _Posterior(), X, "parametric", 5, replicate_counts=[3, 9], **options
    )
    with pytest.warns(FutureWarning, match=r"bootstrap\(n_replicates=...\)"):
        old = bootstrap(
            _Posterior(), X, "parametric", 5, n_replicates=[3, 9], **options
        )
    np.testing.assert_array_equal(old.samples, new.samples)


def test_simulate_data_and_assess_take_replicate_counts():
    from skamortise.diagnostics import assess
    from skamortise.simulation import simulate_data

    theta = np.zeros((3, 1))
    rows = simulate_data(_simulator, theta, np.random.default_rng(0), [2, 5, 2])
    with pytest.warns(FutureWarning, match=r"simulate_data\(n_replicates=...\)"):
        old = simulate_data(
            _simulator, theta, np.random.default_rng(0), n_replicates=[2, 5, 2]
        )
    assert [len(x) for x in old] == [len(x) for x in rows] == [2, 5, 2]
    X = np.stack([x[:2] for x in rows])
    new = assess(_Posterior(), X, theta, replicate_counts=[7, 8, 9], random_state=0)
    with pytest.warns(FutureWarning, match=r"assess\(n_replicates=...\)"):
        old = assess(_Posterior(), X, theta, n_replicates=[7, 8, 9], random_state=0)
    assert old.estimates["n_replicates"].tolist() == [7, 8, 9]
    pd.testing.assert_frame_equal(old.estimates, new.estimates)
