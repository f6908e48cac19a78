"""Tests for NeuralModelComparison, simulate_models and the reliability diagnostics."""

import matplotlib
import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats
from sklearn.metrics import brier_score_loss

from skamortise.diagnostics.reliability import (
    ReliabilityResult,
    expected_calibration_error,
    reliability,
    reliability_from_proba,
)
from skamortise.estimators.model_comparison import NeuralModelComparison
from skamortise.plotting import plot_reliability
from skamortise.simulation import simulate_models

matplotlib.use("Agg")

SMALL = dict(hidden_layer_sizes=(16,), max_epochs=30, random_state=0)

# Two models for iid x_j ~ N(0, sigma^2), differing in the prior of sigma^2:
# InvGamma(a, b) with (a, b) below. Their evidences are closed form.
PRIORS = {"narrow": (3.0, 2.0), "wide": (3.0, 6.0)}
N_REPLICATES = 10


def log_evidence(X, a, b):
    """``log p(X | model)`` for ``X`` of shape (n, m, 1) (or a list of (m_i, 1)).

    Integrating sigma^2 out of N(0, sigma^2)^m x InvGamma(a, b) gives
    (2 pi)^(-m/2) b^a Gamma(a + m/2) / (Gamma(a) (b + S/2)^(a + m/2)), S = sum x^2.
    """
    rows = [np.asarray(x)[:, 0] for x in X]
    m = np.array([len(x) for x in rows], dtype=float)
    s = np.array([(x**2).sum() for x in rows])
    return (
        -m / 2 * np.log(2 * np.pi)
        + a * np.log(b)
        - special.gammaln(a)
        + special.gammaln(a + m / 2)
        - (a + m / 2) * np.log(b + s / 2)
    )


def exact_proba(X, prior=(0.5, 0.5)):
    """Exact ``p(model | X)`` under ``prior``, columns ordered as PRIORS."""
    log_post = np.column_stack(
        [
            log_evidence(X, *ab) + np.log(w)
            for ab, w in zip(PRIORS.values(), prior, strict=True)
        ]
    )
    return np.exp(log_post - special.logsumexp(log_post, axis=1, keepdims=True))


def make_model(a, b):
    def prior(n, rng):
        return 1.0 / rng.gamma(a, 1.0 / b, size=(n, 1))

    def simulator(sigma2, rng, n_replicates=N_REPLICATES):
        noise = rng.standard_normal((len(sigma2), n_replicates, 1))
        return np.sqrt(sigma2)[:, :, None] * noise

    return prior, simulator


MODELS = {name: make_model(*ab) for name, ab in PRIORS.items()}


# Over five training seeds the classifier below reaches a mean absolute error of
# 0.024 (sd 0.004) in the model probabilities, a rank correlation of 0.993 (sd
# 0.003) with the exact log Bayes factor and a mean error of 0.16 (sd 0.02) in the
# central log Bayes factors: the thresholds below lie 4 to 10 sds away.
TRAINING = dict(
    hidden_layer_sizes=(32,), max_epochs=30, learning_rate=3e-3, random_state=0
)


@pytest.fixture(scope="module")
def labelled():
    X, y = simulate_models(MODELS, 10_000, random_state=0)
    X_test, y_test = simulate_models(MODELS, 4000, random_state=1)
    return X, y, X_test, y_test


@pytest.fixture(scope="module")
def fitted(labelled):
    X, y, _, _ = labelled
    return NeuralModelComparison(**TRAINING).fit(X, y)


# -- the exact answer ----------------------------------------------------------------
def test_closed_form_evidence_matches_numerical_integration():
    rng = np.random.default_rng(0)
    x = rng.normal(scale=1.5, size=(1, 7, 1))
    for a, b in PRIORS.values():

        def integrand(sigma2, a=a, b=b):
            return np.exp(
                stats.norm.logpdf(x[0, :, 0], scale=np.sqrt(sigma2)).sum()
                + stats.invgamma.logpdf(sigma2, a, scale=b)
            )

        value, _ = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-10)
        assert np.log(value) == pytest.approx(log_evidence(x, a, b)[0], rel=1e-7)


# -- behaviour ----------------------------------------------------------------------
def test_probabilities_match_the_exact_posterior(fitted, labelled):
    _, _, X_test, _ = labelled
    proba = fitted.predict_proba(X_test)
    assert list(fitted.classes_) == ["narrow", "wide"]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert np.abs(proba - exact_proba(X_test)).mean() < 0.05


def test_class_prior_reweights_by_the_prior_ratio(fitted, labelled):
    X, y, X_test, _ = labelled
    prior = np.array([0.8, 0.2])
    reweighted = NeuralModelComparison(class_prior=prior, **TRAINING).fit(X, y)
    # Same seed, same network: only the prior differs.
    base = fitted.predict_proba(X_test)
    odds = base * prior / fitted.class_prior_
    np.testing.assert_allclose(
        reweighted.predict_proba(X_test), odds / odds.sum(1, keepdims=True)
    )
    assert (
        np.abs(reweighted.predict_proba(X_test) - exact_proba(X_test, prior)).mean()
        < 0.05
    )
    np.testing.assert_allclose(
        reweighted.bayes_factor(X_test, "wide", "narrow"),
        fitted.bayes_factor(X_test, "wide", "narrow"),
    )


def test_bayes_factor_is_posterior_odds_over_prior_odds(fitted, labelled):
    _, _, X_test, _ = labelled
    proba = fitted.predict_proba(X_test[:50])
    prior = fitted.class_prior_
    expected = (proba[:, 1] / proba[:, 0]) / (prior[1] / prior[0])
    bf = fitted.bayes_factor(X_test[:50], "wide", "narrow")
    np.testing.assert_allclose(bf, expected, rtol=1e-10)
    np.testing.assert_allclose(
        fitted.bayes_factor(X_test[:50], "wide", "narrow", log=True), np.log(bf)
    )
    exact = log_evidence(X_test, *PRIORS["wide"]) - log_evidence(
        X_test, *PRIORS["narrow"]
    )
    log_bf = fitted.bayes_factor(X_test, "wide", "narrow", log=True)
    # Monotone in the exact log Bayes factor; close to it where the training data
    # were dense (the tails, |log BF| > 3, hold 2% of the data sets).
    assert stats.spearmanr(log_bf, exact)[0] > 0.98
    central = np.abs(exact) < 3
    assert np.abs(log_bf - exact)[central].mean() < 0.4
    with pytest.raises(ValueError, match="not a class label"):
        fitted.bayes_factor(X_test, "wide", "medium")


def test_log_proba_and_predict_agree(fitted, labelled):
    _, _, X_test, _ = labelled
    proba = fitted.predict_proba(X_test)
    np.testing.assert_allclose(np.exp(fitted.predict_log_proba(X_test)), proba)
    np.testing.assert_array_equal(
        fitted.predict(X_test), fitted.classes_[proba.argmax(1)]
    )


def test_ragged_data_and_other_replicate_counts(fitted):
    X, y = simulate_models(MODELS, 200, n_replicates=range(5, 16), random_state=3)
    assert isinstance(X, list) and len(X) == 200
    proba = fitted.predict_proba(X)
    # One DeepSet serves any replicate count.
    assert np.abs(proba - exact_proba(X)).mean() < 0.08


def test_pandas_output(fitted, labelled):
    _, _, X_test, _ = labelled
    fitted.set_output(transform="pandas")
    try:
        frame = fitted.predict_proba(X_test[:3])
    finally:
        fitted.set_output(transform="default")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["narrow", "wide"]


def test_fit_simulator_is_not_offered():
    assert not hasattr(NeuralModelComparison(), "fit_simulator")


@pytest.mark.parametrize(
    "prior, match",
    [
        ([0.5, 0.3, 0.2], "one probability per class"),
        ([0.7, 0.7], "sum to one"),
        ([1.5, -0.5], "non-negative"),
    ],
)
def test_invalid_class_prior(labelled, prior, match):
    X, y, _, _ = labelled
    with pytest.raises(ValueError, match=match):
        NeuralModelComparison(class_prior=prior, **SMALL).fit(X[:50], y[:50])


def test_warm_start_rejects_new_classes(labelled):
    X, y, _, _ = labelled
    clf = NeuralModelComparison(warm_start=True, **{**SMALL, "max_epochs": 2})
    clf.fit(X[:100], y[:100])
    with pytest.raises(ValueError, match="classes of the first fit"):
        clf.fit(X[:100], np.where(y[:100] == "wide", "other", y[:100]))


# -- simulate_models -----------------------------------------------------------------
def test_simulate_models_counts_and_labels():
    X, y = simulate_models(
        list(MODELS.values()), 101, proportions=[0.25, 0.75], random_state=0
    )
    assert X.shape == (101, N_REPLICATES, 1)
    assert sorted(np.unique(y, return_counts=True)[1]) == [25, 76]
    X2, y2 = simulate_models(
        list(MODELS.values()), 101, proportions=[0.25, 0.75], random_state=0
    )
    np.testing.assert_array_equal(X, X2)
    with pytest.raises(ValueError, match="proportions"):
        simulate_models(MODELS, 10, proportions=[0.5, 0.6])


# -- reliability --------------------------------------------------------------------
def _calibrated(n, seed=0):
    rng = np.random.default_rng(seed)
    p = rng.uniform(size=n)
    return (rng.uniform(size=n) < p).astype(int), p


def test_reliability_of_calibrated_and_overconfident_probabilities():
    y, p = _calibrated(20000)
    good = reliability_from_proba(y, p)
    assert good.expected_calibration_error < 0.02
    overconfident = np.clip(0.5 + 1.8 * (p - 0.5), 0, 1)
    bad = reliability_from_proba(y, overconfident)
    assert bad.expected_calibration_error > 0.1
    assert isinstance(good, ReliabilityResult) and "brier" in repr(good)


def test_reliability_table_and_brier():
    y, p = _calibrated(500, seed=1)
    labels = np.where(y == 1, "b", "a")
    result = reliability_from_proba(labels, np.column_stack([1 - p, p]), n_bins=5)
    table = result.table
    assert set(table["class"]) == {"a", "b"}
    assert (table.groupby("class")["n"].sum() == 500).all()
    assert (
        (table["mean_predicted"] >= table["lower"])
        & (table["mean_predicted"] <= table["upper"])
    ).all()
    assert result.brier == pytest.approx(brier_score_loss(y, p))
    # The binary curves mirror each other, so both classes have the same ECE.
    assert result.ece["a"] == pytest.approx(result.ece["b"])
    quantile = reliability_from_proba(y, p, n_bins=5, strategy="quantile")
    assert (quantile.table.groupby("class")["n"].max() <= 101).all()
    assert expected_calibration_error(y, p, n_bins=5) == pytest.approx(
        reliability_from_proba(y, p, n_bins=5).expected_calibration_error
    )


def test_reliability_input_errors():
    y, p = _calibrated(20)
    with pytest.raises(ValueError, match="strategy"):
        reliability_from_proba(y, p, strategy="kmeans")
    with pytest.raises(ValueError, match="classes"):
        reliability_from_proba(y, np.ones((20, 3)) / 3)
    with pytest.raises(ValueError, match="probabilities"):
        reliability_from_proba(y, p + 1)


def test_reliability_of_the_classifier_and_its_plot(fitted, labelled):
    _, _, X_test, y_test = labelled
    result = reliability(fitted, X_test, y_test, n_bins=5)
    assert result.expected_calibration_error < 0.08
    # The exact posterior is calibrated: its ECE is Monte Carlo noise.
    exact = reliability_from_proba(
        y_test, exact_proba(X_test), classes=fitted.classes_, n_bins=5
    )
    assert result.brier < exact.brier + 0.02
    fig = plot_reliability(result)
    assert fig.axes[0].get_ylabel() == "empirical frequency"
    assert len(fig.axes[0].get_legend().get_texts()) == 1  # binary: one curve
    with pytest.raises(ValueError, match="lacks the columns"):
        plot_reliability(result.table.drop(columns="frequency"))
