"""One name per meaning: renamed public names keep working with a FutureWarning."""

import numpy as np
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
