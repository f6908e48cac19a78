"""Tests of skamortise.diagnostics.misspecification_test."""

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skamortise import NeuralPosteriorEstimator, simulate  # noqa: E402
from skamortise.diagnostics import (  # noqa: E402
    MisspecificationResult,
    misspecification_test,
)
from skamortise.models import GaussianReplicates  # noqa: E402

MODEL = GaussianReplicates()


def _heavy_tailed(theta, rng, n_replicates=10):
    """The model's data with Student-t (3 df) noise instead of Gaussian noise."""
    noise = rng.standard_t(3, size=(len(theta), n_replicates, 1))
    return theta[:, None, :1] + theta[:, None, 1:2] * noise


def _mmd_by_hand(a, b, h):
    def k(u, v):
        d = ((u[:, None, :] - v[None, :, :]) ** 2).sum(-1)
        return np.exp(-d / (2 * h**2))

    return k(a, a).mean() + k(b, b).mean() - 2 * k(a, b).mean()


@pytest.fixture(scope="module")
def estimator():
    X, theta = simulate(
        MODEL.prior, MODEL.simulator, 2000, n_replicates=10, random_state=0
    )
    return NeuralPosteriorEstimator(
        "gaussian", hidden_layer_sizes=(16, 16), max_epochs=30, random_state=0
    ).fit(X, theta)


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_statistic_is_the_squared_mmd_of_standardised_data():
    rng = np.random.default_rng(0)
    observed, reference = rng.normal(size=(7, 3)), rng.normal(size=(40, 3)) * 2
    result = misspecification_test(
        None, observed, reference, random_state=0, space="data", bandwidth=1.5
    )
    pooled = np.concatenate([observed, reference])
    mean, sd = pooled.mean(0), pooled.std(0)
    expected = _mmd_by_hand((observed - mean) / sd, (reference - mean) / sd, 1.5)
    assert result.statistic == pytest.approx(expected, rel=1e-10)
    assert isinstance(result, MisspecificationResult)
    assert (result.n_observed, result.n_reference) == (7, 40)


def test_mixture_averages_kernels_around_the_median_distance():
    rng = np.random.default_rng(1)
    observed, reference = rng.normal(size=(5, 2)), rng.normal(size=(30, 2))
    result = misspecification_test(None, observed, reference, space="data")
    pooled = np.concatenate([observed, reference])
    z = (pooled - pooled.mean(0)) / pooled.std(0)
    d = np.sqrt(((z[:, None] - z[None]) ** 2).sum(-1))
    median = np.median(d[np.triu_indices(len(z), 1)])
    np.testing.assert_allclose(
        result.bandwidths, median * np.array([0.25, 0.5, 1, 2, 4]), rtol=1e-12
    )
    expected = np.mean([_mmd_by_hand(z[:5], z[5:], h) for h in result.bandwidths])
    assert result.statistic == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("n_observed", [1, 10])
def test_false_positive_rate_in_data_space(n_observed):
    # Under the null the permutation p-value is exact: P(p <= 0.05) <= 0.05, and
    # close to it. 300 repetitions: binomial sd 0.0126, margin 3 sd.
    rng = np.random.default_rng(n_observed)
    p_values = [
        misspecification_test(
            None,
            rng.normal(size=(n_observed, 2)),
            rng.normal(size=(150, 2)),
            random_state=i,
            space="data",
            n_permutations=99,
        ).p_value
        for i in range(300)
    ]
    rate = np.mean(np.array(p_values) <= 0.05)
    assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 300)


def test_detects_heavy_tails_in_data_space():
    rng = np.random.default_rng(2)
    theta = MODEL.prior(1100, rng)
    reference = MODEL.simulator(theta[:1000], rng, 10)
    observed = _heavy_tailed(theta[1000:], rng)
    result = misspecification_test(None, observed, reference, 0, space="data")
    assert result.p_value < 0.01
    same = misspecification_test(
        None, MODEL.simulator(theta[1000:], rng, 10), reference, 0, space="data"
    )
    assert same.p_value > 0.01


def test_summary_space_with_an_estimator(estimator):
    rng = np.random.default_rng(3)
    theta = MODEL.prior(1100, rng)
    reference = MODEL.simulator(theta[:1000], rng, 10)
    # Data sets 10 times as spread as the prior predicts: far in summary space.
    wide = MODEL.simulator(theta[1000:1020] * [1, 10], rng, 10)
    result = misspecification_test(estimator, wide, reference, random_state=0)
    assert result.space == "summary" and result.p_value < 0.01
    assert result.observed_features.shape == (20, 16)


def test_one_observed_data_set(estimator):
    rng = np.random.default_rng(4)
    theta = MODEL.prior(1000, rng)
    reference = MODEL.simulator(theta, rng, 10)
    typical = misspecification_test(estimator, reference[:1] * 1.0, reference[1:], 0)
    assert typical.n_observed == 1 and typical.p_value > 0.01
    far = misspecification_test(estimator, reference[:1] * 50 + 40, reference[1:], 0)
    # The far data set is in the permutation pool: about 1 in 1000 permutations
    # picks it, so p is (1 + Binomial(1000, 1/1000)) / 1001, not below 1 / 1001.
    assert far.p_value < 0.01


def test_ragged_data_in_summary_space(estimator):
    rng = np.random.default_rng(5)
    theta = MODEL.prior(300, rng)
    X = [
        MODEL.simulator(t[None], rng, int(m))[0]
        for t, m in zip(theta, rng.integers(8, 12, size=300), strict=True)
    ]
    result = misspecification_test(estimator, X[:5], X[5:], random_state=0)
    assert 0 < result.p_value <= 1


def test_reproducible_and_reference_subsampled():
    rng = np.random.default_rng(6)
    observed, reference = rng.normal(size=(4, 2)), rng.normal(size=(500, 2))
    first = misspecification_test(
        None, observed, reference, 3, space="data", max_reference=100
    )
    second = misspecification_test(
        None, observed, reference, 3, space="data", max_reference=100
    )
    assert first.n_reference == 100
    np.testing.assert_array_equal(first.null_statistics, second.null_statistics)
    assert first.p_value == second.p_value


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(space="latent"), "space"),
        (dict(bandwidth=-1.0), "bandwidth"),
        (dict(bandwidth="scott"), "bandwidth"),
        (dict(n_permutations=0), "n_permutations"),
        (dict(max_reference=1.5), "max_reference"),
    ],
)
def test_bad_arguments(kwargs, match):
    X = np.zeros((5, 2))
    with pytest.raises(ValueError, match=match):
        misspecification_test(None, X, X, **{"space": "data", **kwargs})


def test_bad_inputs():
    rng = np.random.default_rng(7)
    with pytest.raises(TypeError, match="summarize"):
        misspecification_test(object(), np.zeros((2, 2)), np.zeros((5, 2)))
    with pytest.raises(ValueError, match="ragged"):
        misspecification_test(
            None, [np.zeros((3, 1))], [np.zeros((4, 1))] * 3, space="data"
        )
    with pytest.raises(ValueError, match="features"):
        misspecification_test(
            None, np.zeros((2, 3)), rng.normal(size=(5, 2)), space="data"
        )
    with pytest.raises(ValueError, match="NaN"):
        misspecification_test(
            None, np.full((2, 2), np.nan), rng.normal(size=(5, 2)), space="data"
        )
    with pytest.raises(ValueError, match="at least two"):
        misspecification_test(None, np.zeros((2, 2)), np.zeros((1, 2)), space="data")


@pytest.mark.parametrize("n_features", [1, 3])
def test_plot(n_features):
    rng = np.random.default_rng(8)
    result = misspecification_test(
        None,
        rng.normal(size=(5, n_features)) + 2,
        rng.normal(size=(200, n_features)),
        0,
        space="data",
    )
    fig = result.plot()
    left, right = fig.axes[:2]
    assert f"p = {result.p_value:.3g}" in left.get_title()
    assert left.get_lines()[0].get_xdata()[0] == pytest.approx(result.statistic)
    assert right.get_title() == "data space"


@pytest.mark.slow
def test_false_positive_rate_in_summary_space(estimator):
    # The acceptance check at test scale: observed data sets from the
    # model are rejected at level 0.05 at the nominal rate (200 repetitions,
    # binomial sd 0.0154, margin 3 sd); the benchmark repeats it at full scale.
    rng = np.random.default_rng(9)
    p_values = []
    for i in range(200):
        theta = MODEL.prior(410, rng)
        X = MODEL.simulator(theta, rng, 10)
        result = misspecification_test(
            estimator, X[:10], X[10:], random_state=i, n_permutations=199
        )
        p_values.append(result.p_value)
    rate = np.mean(np.array(p_values) <= 0.05)
    assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 200)
