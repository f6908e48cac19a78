"""Neural Bayes point estimators target the Bayes estimator of their loss."""

import numpy as np
import pytest
import torch
from conftest import SMALL
from scipy import stats

from skamortise import NeuralBayesEstimator, simulate

TRAIN = dict(hidden_layer_sizes=(32, 32), max_epochs=60, random_state=0)


@pytest.fixture(scope="module")
def skewed(gaussian_model):
    """m = 3 replicates: the posterior of sigma is clearly right-skewed."""
    X, y = simulate(
        gaussian_model.prior,
        gaussian_model.simulator,
        4000,
        n_replicates=3,
        random_state=0,
    )
    Xt, yt = simulate(
        gaussian_model.prior,
        gaussian_model.simulator,
        1000,
        n_replicates=3,
        random_state=1,
    )
    return X, y, Xt, yt


@pytest.fixture(scope="module")
def fitted(skewed):
    X, y, _, _ = skewed
    return {
        loss: NeuralBayesEstimator(loss=loss, **TRAIN).fit(X, y)
        for loss in ("squared", "absolute", "tanh")
    }


def test_squared_loss_approaches_the_posterior_mean(fitted, skewed, gaussian_model):
    _, _, Xt, yt = skewed
    exact = gaussian_model.posterior_mean(Xt)
    neural = fitted["squared"].predict(Xt)
    risk_ratio = ((neural - yt) ** 2).mean(0) / ((exact - yt) ** 2).mean(0)
    assert (risk_ratio < 1.1).all(), risk_ratio


@pytest.fixture(scope="module")
def exponential_gamma():
    """theta ~ Gamma(1, 1), x | theta ~ Exponential(theta): the posterior is
    Gamma(2, 1 + x), so every Bayes estimator is c / (1 + x) with c = 2 (mean),
    1.678 (median) or 1 (mode): a sharply skewed posterior."""
    rng = np.random.default_rng(0)
    theta = rng.gamma(1.0, 1.0, size=6000)
    x = rng.exponential(1.0 / theta)
    return np.log1p(x)[:, None], theta


def _fitted_constant(exponential_gamma, loss):
    X, theta = exponential_gamma
    est = NeuralBayesEstimator(loss=loss, tanh_scale=0.1, **TRAIN).fit(X, theta)
    grid = np.linspace(0.1, 1.5, 15)[:, None]  # log(1 + x), the bulk of the data
    return np.median(est.predict(grid) * np.exp(grid[:, 0]))


MEDIAN = stats.gamma.ppf(0.5, 2)


@pytest.mark.parametrize("loss, constant", [("squared", 2.0), ("absolute", MEDIAN)])
def test_each_loss_finds_its_bayes_estimator(loss, constant, exponential_gamma):
    # the mean and median constants differ by 19%: 8% separates them
    assert _fitted_constant(exponential_gamma, loss) == pytest.approx(
        constant, rel=0.08
    )


def test_tanh_loss_moves_towards_the_mode(exponential_gamma):
    # The smooth 0-1 loss reaches the mode (constant 1) only as k -> 0 with ample
    # data; at k = 0.1 it must at least sit nearer the mode than the median.
    assert _fitted_constant(exponential_gamma, "tanh") < (1.0 + MEDIAN) / 2


def test_callable_loss_matches_builtin(tabular):
    X, y = tabular
    builtin = NeuralBayesEstimator(**SMALL).fit(X, y).predict(X)
    custom = NeuralBayesEstimator(loss=lambda e, t: (e - t) ** 2, **SMALL).fit(X, y)
    np.testing.assert_allclose(custom.predict(X), builtin, rtol=1e-6, atol=1e-9)


def test_callable_loss_must_return_a_tensor(tabular):
    X, y = tabular
    with pytest.raises(TypeError, match="torch.Tensor"):
        NeuralBayesEstimator(loss=lambda e, t: 1.0, **SMALL).fit(X, y)


def test_score_is_negative_standardised_risk(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    expected = -(((est.predict(X) - y) / est.y_scale_) ** 2).mean()
    assert est.score(X, y) == pytest.approx(expected, rel=1e-10)
    assert est.score(X, y) > est.score(X, y[::-1])


def test_score_rejects_wrong_parameter_count(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="parameters"):
        est.score(X, y[:, :1])


def test_predictions_are_float64_and_batch_invariant(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(**SMALL).fit(X.astype(np.float32), y)
    full = est.predict(X)
    assert full.dtype == np.float64
    parts = np.vstack([est.predict(X[i : i + 7]) for i in range(0, len(X), 7)])
    np.testing.assert_array_equal(full, parts)
    assert next(est.network_.parameters()).dtype == torch.float64
