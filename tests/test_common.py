"""Every public estimator passes scikit-learn's estimator checks."""

import pytest
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

from skamortise import (
    NeuralBayesEstimator,
    NeuralEnsemble,
    NeuralModelComparison,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
)
from skamortise.nn import is_series_network

# Small networks keep the ~50 checks fast; the defaults are exercised elsewhere.
SMALL = dict(hidden_layer_sizes=(16,), max_epochs=30, random_state=0)

ESTIMATORS = [
    NeuralBayesEstimator(**SMALL),
    NeuralBayesEstimator(loss="absolute", **SMALL),
    NeuralQuantileEstimator(**SMALL),
    NeuralQuantileEstimator(quantiles=None, **SMALL),
    NeuralPosteriorEstimator("gaussian", **SMALL),
    NeuralPosteriorEstimator("mixture", n_components=2, **SMALL),
    NeuralPosteriorEstimator(
        "spline", distribution_kwargs={"n_transforms": 1, "hidden_features": 8}, **SMALL
    ),
    NeuralRatioEstimator(**SMALL),
    # Columns of a 2-D X are the time steps of one series per row.
    NeuralBayesEstimator(
        summary_network="rnn", summary_network_kwargs={"hidden_size": 8}, **SMALL
    ),
    NeuralModelComparison(**SMALL),
    NeuralEnsemble(NeuralBayesEstimator(**SMALL), n_estimators=2, random_state=0),
    NeuralEnsemble(NeuralModelComparison(**SMALL), n_estimators=2, random_state=0),
    NeuralEnsemble(
        NeuralPosteriorEstimator("gaussian", **SMALL), n_estimators=2, random_state=0
    ),
]


# The one dict of checks an estimator cannot pass, with the reason. A series network
# reads the columns of a 2-D X as the time steps of one series per row, and a series
# of any length is valid input: n_features_in_ counts channels (1 here), and fewer
# columns at predict time are a shorter series, not an error.
_SERIES = (
    "a series estimator takes series of any length; n_features_in_ is the number of "
    "channels, not the number of time steps (columns)"
)
EXPECTED_FAILED_CHECKS = {
    "check_n_features_in": _SERIES,
    "check_n_features_in_after_fitting": _SERIES,
}


def expected_failed_checks(estimator):
    if is_series_network(getattr(estimator, "summary_network", "auto")):
        return EXPECTED_FAILED_CHECKS
    return {}


@parametrize_with_checks(ESTIMATORS, expected_failed_checks=expected_failed_checks)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_param_validation(estimator):
    # Not part of check_estimator: invalid hyperparameters raise a clear error.
    check_param_validation(type(estimator).__name__, estimator)
