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
    NeuralModelComparison(**SMALL),
    NeuralEnsemble(NeuralBayesEstimator(**SMALL), n_estimators=2, random_state=0),
    NeuralEnsemble(NeuralModelComparison(**SMALL), n_estimators=2, random_state=0),
    NeuralEnsemble(
        NeuralPosteriorEstimator("gaussian", **SMALL), n_estimators=2, random_state=0
    ),
]


@parametrize_with_checks(ESTIMATORS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_param_validation(estimator):
    # Not part of check_estimator: invalid hyperparameters raise a clear error.
    check_param_validation(type(estimator).__name__, estimator)
