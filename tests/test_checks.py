"""The shared checks: one rule for alpha and one for quantile levels."""

import numpy as np
import pytest

from skamortise import NeuralPosteriorEstimator, NeuralQuantileEstimator
from skamortise._checks import check_alpha, check_levels

TINY = dict(hidden_layer_sizes=(8,), max_epochs=2, random_state=0)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, True, "0.1", None, float("nan")])
def test_check_alpha_rejects(alpha):
    with pytest.raises(ValueError, match="alpha must be a number in"):
        check_alpha(alpha)


def test_check_alpha_accepts_numbers_in_the_open_interval():
    assert check_alpha(np.float32(0.1)) == pytest.approx(0.1)


@pytest.mark.parametrize(
    "levels, match",
    [
        ([0.9, 0.1], "strictly increasing"),
        ([0.5, 0.5], "strictly increasing"),
        ([0.0, 0.5], "strictly between 0 and 1"),
        ([0.5, 1.0], "strictly between 0 and 1"),
        ([], "non-empty"),
        ([[0.1, 0.2]], "1-D"),
        (["a"], "sequence of numbers"),
    ],
)
def test_check_levels_rejects(levels, match):
    with pytest.raises(ValueError, match=match):
        check_levels(levels)


@pytest.fixture(scope="module")
def fitted():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(100, 1))
    X = theta + rng.normal(size=(100, 1))
    posterior = NeuralPosteriorEstimator("gaussian", **TINY).fit(X, theta)
    quantile = NeuralQuantileEstimator(quantiles=None, **TINY).fit(X, theta)
    return X, posterior, quantile


@pytest.mark.parametrize("levels", [[0.9, 0.1], [0.2, 0.2], [0.0, 0.5]])
def test_posterior_and_quantile_estimators_share_the_levels_rule(fitted, levels):
    X, posterior, quantile = fitted
    messages = []
    for est in (posterior, quantile):
        with pytest.raises(ValueError) as error:
            est.predict_quantiles(X[:2], levels)
        messages.append(str(error.value))
    assert messages[0] == messages[1]
    for est in (posterior, quantile):
        with pytest.raises(ValueError, match="alpha must be a number in"):
            est.predict_interval(X[:2], alpha=1.0)


def test_family_hooks_say_what_they_do():
    # Validation sets nothing; the derived fitted attributes come from one hook.
    quantile = NeuralQuantileEstimator(quantiles=[0.1, 0.9])
    quantile._check_family_params()
    assert not hasattr(quantile, "quantiles_")
    quantile._set_family_attributes(2)
    np.testing.assert_array_equal(quantile.quantiles_, [0.1, 0.9])
    posterior = NeuralPosteriorEstimator("auto")
    posterior._check_family_params()
    posterior._set_family_attributes(6)
    assert posterior.distribution_ == "maf"
    posterior._build_head(4, 6)
    assert posterior.distribution_ == "maf"
