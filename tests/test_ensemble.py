"""Tests for NeuralEnsemble: seeding, combination rules per family, sklearn API."""

import numpy as np
import pandas as pd
import pytest
import torch
from joblib import parallel_backend
from scipy.special import logsumexp
from sklearn.model_selection import GridSearchCV

from skamortise import (
    NeuralBayesEstimator,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
)
from skamortise.ensemble import NeuralEnsemble
from skamortise.estimators.model_comparison import NeuralModelComparison

SMALL = dict(hidden_layer_sizes=(16,), max_epochs=30, random_state=0)
TINY = dict(hidden_layer_sizes=(16,), max_epochs=15)


@pytest.fixture(scope="module")
def posterior_ensemble(tabular):
    X, theta = tabular
    member = NeuralPosteriorEstimator("gaussian", **TINY)
    return NeuralEnsemble(member, n_estimators=3, random_state=0).fit(X, theta)


# -- seeding and training ------------------------------------------------------------
def test_members_get_distinct_seeds_drawn_from_random_state(tabular):
    X, theta = tabular
    member = NeuralBayesEstimator(random_state=123, **TINY)
    ens = NeuralEnsemble(member, n_estimators=3, random_state=0).fit(X, theta)
    seeds = [m.random_state for m in ens.estimators_]
    assert len(set(seeds)) == 3 and 123 not in seeds
    again = NeuralEnsemble(member, n_estimators=3, random_state=0).fit(X, theta)
    assert [m.random_state for m in again.estimators_] == seeds
    np.testing.assert_array_equal(ens.predict(X), again.predict(X))  # same computation
    assert member.random_state == 123  # the template is left alone
    assert ens.n_features_in_ == X.shape[1]


def test_parallel_training_gives_the_same_members(tabular):
    X, theta = tabular
    member = NeuralBayesEstimator(**TINY)
    serial = NeuralEnsemble(member, n_estimators=2, random_state=1).fit(X, theta)
    parallel = NeuralEnsemble(member, n_estimators=2, random_state=1, n_jobs=2)
    # Threads keep the test fast; the default process backend behaves the same.
    threads = torch.get_num_threads()
    try:
        with parallel_backend("threading"):
            parallel.fit(X, theta)
    finally:
        torch.set_num_threads(threads)
    # Each member is the same computation (same seed, data and thread count).
    np.testing.assert_array_equal(serial.predict(X), parallel.predict(X))


def test_ensemble_risk_is_the_members_risk_less_their_spread(tabular):
    # Squared error decomposes exactly: the mean of the members' risks is the risk
    # of their average plus the members' mean squared distance from it. Any other
    # combination (a median, one member) breaks the identity.
    X, theta = tabular
    ens = NeuralEnsemble(NeuralBayesEstimator(**TINY), n_estimators=3, random_state=0)
    ens.fit(X, theta)
    members = np.stack([m.predict(X) for m in ens.estimators_])
    combined = ens.predict(X)
    risk = ((combined - theta) ** 2).mean(0)
    member_risk = ((members - theta) ** 2).mean((0, 1))
    spread = ((members - combined) ** 2).mean((0, 1))
    np.testing.assert_allclose(risk, member_risk - spread, rtol=1e-10)
    assert (spread > 1e-3 * member_risk).all()  # the members differ: it lowers risk


def test_fit_simulator_gives_each_member_its_own_data(gaussian_model):
    member = NeuralBayesEstimator(**{**TINY, "max_epochs": 3})
    ens = NeuralEnsemble(member, n_estimators=2, random_state=0)
    ens.fit_simulator(
        gaussian_model.prior, gaussian_model.simulator, 200, n_replicates=5
    )
    first, second = ens.estimators_
    assert not np.allclose(first.x_loc_, second.x_loc_)
    assert ens.predict(np.zeros((1, 5, 1))).shape == (1, 2)


def test_member_checkpoints_go_to_separate_directories(tabular, tmp_path):
    X, theta = tabular
    member = NeuralBayesEstimator(checkpoint_dir=str(tmp_path), **TINY)
    ens = NeuralEnsemble(member, n_estimators=2, random_state=0).fit(X, theta)
    dirs = [m.checkpoint_dir for m in ens.estimators_]
    assert dirs == [str(tmp_path / "member_0"), str(tmp_path / "member_1")]


# -- combination rules ---------------------------------------------------------------
def test_methods_follow_the_member():
    point = NeuralEnsemble(NeuralBayesEstimator())
    assert not hasattr(point, "sample") and not hasattr(point, "log_prob")
    assert not hasattr(point, "predict_quantiles")
    assert hasattr(NeuralEnsemble(NeuralQuantileEstimator()), "predict_interval")
    ratio = NeuralEnsemble(NeuralRatioEstimator())
    assert hasattr(ratio, "log_ratio") and not hasattr(ratio, "log_prob")
    assert hasattr(NeuralEnsemble(NeuralModelComparison()), "bayes_factor")


def test_quantiles_are_averaged(tabular):
    X, theta = tabular
    ens = NeuralEnsemble(NeuralQuantileEstimator(**TINY), n_estimators=3)
    ens.set_params(random_state=0).fit(X, theta)
    members = np.stack([m.predict_quantiles(X[:5]) for m in ens.estimators_])
    q = ens.predict_quantiles(X[:5])
    np.testing.assert_allclose(q, members.mean(0))
    assert (np.diff(q, axis=-1) >= 0).all()
    np.testing.assert_allclose(ens.predict_interval(X[:5]), q[..., [0, 2]])
    assert np.isfinite(ens.score(X, theta))


def test_any_level_quantile_members(tabular):
    X, theta = tabular
    ens = NeuralEnsemble(NeuralQuantileEstimator(quantiles=None, **TINY), 2)
    ens.set_params(random_state=0).fit(X, theta)
    q = ens.predict_quantiles(X[:3], [0.2, 0.8])
    assert q.shape == (3, 2, 2) and (q[..., 0] <= q[..., 1]).all()
    assert np.isfinite(ens.score(X, theta))


def test_log_prob_is_the_mixture_density(posterior_ensemble, tabular):
    X, theta = tabular
    members = np.stack([m.log_prob(X, theta) for m in posterior_ensemble.estimators_])
    np.testing.assert_allclose(
        posterior_ensemble.log_prob(X, theta), logsumexp(members, 0) - np.log(3)
    )
    assert posterior_ensemble.score(X, theta) == pytest.approx(
        posterior_ensemble.log_prob(X, theta).mean()
    )


def test_mixture_samples_and_quantiles(posterior_ensemble, tabular):
    X, _ = tabular
    draws = posterior_ensemble.sample(X[:4], 4000, random_state=0)
    assert draws.shape == (4, 4000, 2)
    np.testing.assert_array_equal(
        draws, posterior_ensemble.sample(X[:4], 4000, random_state=0)
    )
    # The mixture mean is the average of the members' means.
    np.testing.assert_allclose(
        draws.mean(1), posterior_ensemble.predict(X[:4]), atol=0.1
    )
    q = posterior_ensemble.predict_quantiles(X[:4], [0.1, 0.5, 0.9])
    empirical = np.moveaxis(np.quantile(draws, [0.1, 0.5, 0.9], axis=1), 0, -1)
    np.testing.assert_allclose(q, empirical, atol=0.1)
    interval = posterior_ensemble.predict_interval(X[:4], alpha=0.2)
    np.testing.assert_allclose(interval, q[..., [0, 2]])
    # Batch-independent: one data set at a time gives the same quantiles.
    np.testing.assert_allclose(
        posterior_ensemble.predict_quantiles(X[1:2]),
        (posterior_ensemble.predict_quantiles(X[:4])[1:2]),
    )
    with pytest.raises(ValueError, match="ratio estimators only"):
        posterior_ensemble.sample(X[:1], 10, prior=object())


def test_ratio_ensemble_averages_log_ratios(tabular):
    X, theta = tabular
    ens = NeuralEnsemble(NeuralRatioEstimator(**TINY), n_estimators=2)
    ens.set_params(random_state=0).fit(X, theta)
    members = np.stack([m.log_ratio(X[:5], theta[:5]) for m in ens.estimators_])
    np.testing.assert_allclose(ens.log_ratio(X[:5], theta[:5]), members.mean(0))
    for method in ("mcmc", "importance"):
        draws = ens.sample(X[:2], 50, random_state=0, method=method, warmup=20)
        assert draws.shape == (2, 50, 2)
        lower = np.max([m.support_[0] for m in ens.estimators_], axis=0)
        upper = np.min([m.support_[1] for m in ens.estimators_], axis=0)
        assert ((draws >= lower) & (draws <= upper)).all()
    assert np.isfinite(ens.score(X, theta))


def test_classifier_ensemble_averages_probabilities():
    rng = np.random.default_rng(0)
    labels = rng.choice(["a", "b"], size=300)
    X = np.where(labels == "b", 2.0, 0.0)[:, None] + rng.normal(size=(300, 2))
    ens = NeuralEnsemble(NeuralModelComparison(**TINY), n_estimators=3)
    ens.set_params(random_state=0).fit(X, labels)
    members = np.stack([m.predict_proba(X) for m in ens.estimators_])
    proba = ens.predict_proba(X)
    np.testing.assert_allclose(proba, members.mean(0))
    np.testing.assert_allclose(np.exp(ens.predict_log_proba(X)), proba)
    np.testing.assert_array_equal(ens.predict(X), ens.classes_[proba.argmax(1)])
    prior = ens.estimators_[0].class_prior_
    np.testing.assert_allclose(
        ens.bayes_factor(X, "b", "a"),
        (proba[:, 1] / proba[:, 0]) / (prior[1] / prior[0]),
        rtol=1e-6,
    )
    assert ens.score(X, labels) > 0.8


def test_pandas_output(tabular):
    X, theta = tabular
    y = pd.DataFrame(theta, columns=["mu", "sigma"])
    ens = NeuralEnsemble(NeuralQuantileEstimator(**TINY), n_estimators=2)
    ens.set_params(random_state=0).fit(X, y).set_output(transform="pandas")
    assert list(ens.predict(X[:3]).columns) == ["mu", "sigma"]
    frame = ens.predict_interval(X[:3])
    assert frame.columns.names == ["parameter", "bound"]


def test_grid_search_over_the_ensemble(tabular):
    X, theta = tabular
    template = NeuralEnsemble(NeuralBayesEstimator(**TINY), random_state=0)
    search = GridSearchCV(template, {"n_estimators": [1, 2]}, cv=2).fit(X, theta[:, 0])
    scores = search.cv_results_["mean_test_score"]
    assert scores[0] != scores[1]  # the candidates were different ensembles
    best = search.best_params_["n_estimators"]
    assert best == [1, 2][int(np.argmax(scores))]
    assert len(search.best_estimator_.estimators_) == best
    # The refit is the ensemble fitted directly: the same computation.
    direct = template.set_params(n_estimators=best).fit(X, theta[:, 0])
    np.testing.assert_array_equal(search.predict(X), direct.predict(X))
