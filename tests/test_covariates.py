"""Set-level covariates: the container, the network input, sklearn tooling, saving."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.utils import _safe_indexing

from skamortise import (
    NeuralBayesEstimator,
    NeuralEnsemble,
    NeuralModelComparison,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
    WithCovariates,
    load,
    make_pipeline,
    save,
)
from skamortise.nn.cnn import CNNSummary
from skamortise.preprocessing import ExpertStatistics, ReplicateSummaries

TINY = dict(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)


@pytest.fixture(scope="module")
def scaled():
    """Replicates whose known noise scale differs between data sets."""
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.5, 2.0, size=120)
    theta = rng.normal(size=(120, 1))
    X = theta[:, :, None] + scale[:, None, None] * rng.normal(size=(120, 6, 1))
    return WithCovariates(X, np.column_stack([scale, np.log(scale)])), theta


# ------------------------------------------------------------------ container
def test_indexing_keeps_data_and_covariates_together():
    X = np.arange(10.0).reshape(5, 2)
    c = np.arange(5.0) * 10
    both = WithCovariates(X, c)
    assert len(both) == 5 and both.shape == (5,)
    for key in (slice(1, 4), np.array([4, 0]), np.array([1, 0, 1, 0, 1], bool)):
        part = both[key]
        np.testing.assert_array_equal(part.X[:, 0] * 5, part.covariates[:, 0])
    x, ci = both[3]
    assert x.tolist() == [6.0, 7.0] and ci.tolist() == [30.0]
    part = both[np.array([2, 1]), ...]  # how scikit-learn indexes arrays
    assert part.covariates[:, 0].tolist() == [20.0, 10.0]


def test_ragged_and_dataframe_data_index_by_position():
    ragged = [np.full((k, 1), float(k)) for k in range(1, 6)]
    part = WithCovariates(ragged, np.arange(1.0, 6.0))[np.array([3, 1])]
    assert [x[0, 0] for x in part.X] == part.covariates[:, 0].tolist() == [4.0, 2.0]
    frame = pd.DataFrame({"a": np.arange(5.0)}, index=list("vwxyz"))
    part = WithCovariates(frame, np.arange(5.0))[np.array([4, 2])]
    assert part.X["a"].tolist() == part.covariates[:, 0].tolist() == [4.0, 2.0]


def test_sklearn_splitting_keeps_rows_aligned():
    X = np.arange(40.0).reshape(20, 2)
    both = WithCovariates(X, X[:, 0] + 0.5)
    part = _safe_indexing(both, np.array([7, 3, 3]))
    np.testing.assert_array_equal(part.covariates[:, 0], part.X[:, 0] + 0.5)
    train, test = train_test_split(both, random_state=0)
    assert len(train) + len(test) == 20
    np.testing.assert_array_equal(test.covariates[:, 0], test.X[:, 0] + 0.5)


@pytest.mark.parametrize(
    "covariates, match",
    [(np.zeros(4), "3 data sets but covariates has 4"), (np.zeros((3, 1, 1)), "1-D")],
)
def test_container_refuses_mismatched_covariates(covariates, match):
    with pytest.raises(ValueError, match=match):
        WithCovariates(np.zeros((3, 2)), covariates)


# ------------------------------------------------------------- network input
def test_the_head_sees_the_standardised_covariates_after_the_summary(scaled):
    X, theta = scaled
    est = NeuralBayesEstimator(validation_fraction=0.0, **TINY).fit(X, theta)
    c = X.covariates
    summaries = est.summarize(X)
    assert summaries.shape[1] == 8 + 2
    # The moments are buffers of the network, trained in float32: float32 rounding.
    np.testing.assert_allclose(
        summaries[:, -2:], (c - c.mean(0)) / c.std(0), rtol=1e-6, atol=1e-6
    )
    assert est.n_covariates_ == 2
    moved = WithCovariates(X.X, c + 1.0)
    assert not np.allclose(est.predict(moved), est.predict(X))


def test_covariates_carry_information_the_data_lack():
    # The parameter is the covariate; the data are pure noise.
    rng = np.random.default_rng(1)
    c = rng.normal(size=(600, 1))
    X = WithCovariates(rng.normal(size=(600, 3)), c)
    settings = dict(hidden_layer_sizes=(16,), learning_rate=1e-2, random_state=0)
    est = NeuralBayesEstimator(max_epochs=100, **settings).fit(X, c[:, 0])
    plain = NeuralBayesEstimator(max_epochs=100, **settings).fit(X.X, c[:, 0])
    assert est.score(X, c[:, 0]) > -0.1  # near 0: the covariate is the answer
    assert plain.score(X.X, c[:, 0]) < -0.8  # prior variance 1: nothing learned


FAMILIES = [
    NeuralBayesEstimator(**TINY),
    NeuralQuantileEstimator(**TINY),
    NeuralPosteriorEstimator("gaussian", **TINY),
    NeuralRatioEstimator(**TINY),
]


@pytest.mark.parametrize("est", FAMILIES, ids=lambda e: type(e).__name__)
def test_every_family_reads_covariates(est, scaled):
    X, theta = scaled
    est = clone(est).fit(X, theta)
    assert est.network_.n_covariates == 2
    if isinstance(est, NeuralRatioEstimator):
        out = est.log_ratio(X[:4], theta[:4])
    elif isinstance(est, NeuralPosteriorEstimator):
        out = est.sample(X[:4], n_samples=3, random_state=0)
    else:
        out = est.predict(X[:4])
    assert np.isfinite(out).all()
    assert np.isfinite(est.score(X[:20], theta[:20]))


def test_model_comparison_reads_covariates(scaled):
    X, _ = scaled
    est = NeuralModelComparison(**TINY).fit(X, np.arange(len(X)) % 2)
    assert est.network_.n_covariates == 2
    np.testing.assert_allclose(est.predict_proba(X[:3]).sum(1), 1.0)


def test_ratio_on_tabular_data_takes_covariates_next_to_the_data():
    rng = np.random.default_rng(2)
    X = WithCovariates(rng.normal(size=(80, 3)), rng.normal(size=80))
    est = NeuralRatioEstimator(**TINY).fit(X, rng.normal(size=80))
    assert est.network_.head.mlp.layers[0].in_features == 3 + 1 + 1


@pytest.mark.parametrize("layout", ["tabular", "ragged", "grid", "series"])
def test_every_layout_takes_covariates(layout):
    rng = np.random.default_rng(3)
    theta = rng.normal(size=40)
    kwargs = dict(TINY)
    if layout == "tabular":
        X = theta[:, None] + rng.normal(size=(40, 2))
    elif layout == "ragged":
        X = [
            t + rng.normal(size=(k, 1))
            for t, k in zip(theta, rng.integers(1, 6, 40), strict=True)
        ]
    elif layout == "grid":
        X = theta[:, None, None] + rng.normal(size=(40, 5, 5))
        kwargs["summary_network"] = CNNSummary((5, 5), channels=(2,))
    else:
        X = theta[:, None] + rng.normal(size=(40, 9))
        kwargs["summary_network"] = "rnn"
    both = WithCovariates(X, rng.normal(size=(40, 2)))
    est = NeuralBayesEstimator(**kwargs).fit(both, theta)
    assert est.network_.n_covariates == 2
    assert np.isfinite(est.predict(both[:5])).all()


def test_missing_values_and_covariates_together(scaled):
    X, theta = scaled
    values = X.X.copy()
    values[::3, 0] = np.nan
    both = WithCovariates(values, X.covariates)
    est = NeuralBayesEstimator(missing="mask", **TINY).fit(both, theta)
    assert np.isfinite(est.predict(both[:6])).all()


# ----------------------------------------------------------------- refusals
def test_inference_needs_the_covariates_of_fit(scaled):
    X, theta = scaled
    est = NeuralBayesEstimator(**TINY).fit(X, theta)
    with pytest.raises(ValueError, match="fitted with 2 set-level covariate"):
        est.predict(X.X[:3])
    with pytest.raises(ValueError, match="X has 1"):
        est.predict(WithCovariates(X.X[:3], np.zeros(3)))
    plain = NeuralBayesEstimator(**TINY).fit(X.X, theta)
    with pytest.raises(ValueError, match="fitted with 0 set-level"):
        plain.predict(X[:3])


def test_non_finite_covariates_are_refused(scaled):
    X, theta = scaled
    c = X.covariates.copy()
    c[5, 1] = np.nan
    with pytest.raises(ValueError, match="covariates"):
        NeuralBayesEstimator(**TINY).fit(WithCovariates(X.X, c), theta)


def test_warm_start_needs_the_same_covariates(scaled):
    X, theta = scaled
    est = NeuralBayesEstimator(warm_start=True, **TINY).fit(X, theta)
    with pytest.raises(ValueError, match="covariate"):
        est.fit(WithCovariates(X.X, X.covariates[:, 0]), theta)


# ------------------------------------------------------------- sklearn tooling
def test_cross_validation_and_grid_search(scaled):
    X, theta = scaled
    scores = cross_val_score(NeuralBayesEstimator(**TINY), X, theta[:, 0], cv=3)
    assert np.isfinite(scores).all()
    search = GridSearchCV(
        NeuralBayesEstimator(**TINY), {"learning_rate": [1e-3, 1e-2]}, cv=2
    ).fit(X, theta[:, 0])
    assert search.best_estimator_.n_covariates_ == 2


def test_pickle_and_save_load_round_trip(scaled, tmp_path):
    X, theta = scaled
    est = NeuralQuantileEstimator(**TINY).fit(X, theta)
    expected = est.predict_quantiles(X[:5])
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(est)).predict_quantiles(X[:5]), expected
    )
    est.save(tmp_path / "q.skm")
    loaded = load(tmp_path / "q.skm")
    assert loaded.n_covariates_ == 2
    np.testing.assert_array_equal(loaded.predict_quantiles(X[:5]), expected)


# --------------------------------------------------------- expert statistics
def test_expert_statistics_are_the_summaries_next_to_the_data(scaled):
    X, _ = scaled
    out = ExpertStatistics().fit_transform(X.X)
    assert out.X is X.X
    np.testing.assert_array_equal(
        out.covariates, ReplicateSummaries().fit_transform(X.X)
    )
    appended = ExpertStatistics().fit_transform(X)
    np.testing.assert_array_equal(appended.covariates[:, :2], X.covariates)
    np.testing.assert_array_equal(appended.covariates[:, 2:], out.covariates)


def test_expert_statistics_in_a_pipeline_survive_saving(scaled, tmp_path):
    X, theta = scaled
    pipe = make_pipeline(
        ExpertStatistics(ReplicateSummaries(statistics=("mean", "max"))),
        NeuralBayesEstimator(**TINY),
    ).fit(X.X, theta)
    assert pipe[-1].n_covariates_ == 3
    save(pipe, tmp_path / "p.skm")
    loaded = load(tmp_path / "p.skm")
    np.testing.assert_array_equal(loaded.predict(X.X[:5]), pipe.predict(X.X[:5]))
    scores = cross_val_score(pipe, X.X, theta[:, 0], cv=2)
    assert np.isfinite(scores).all()


def test_an_ensemble_passes_covariates_and_missing_values_to_its_members(scaled):
    X, theta = scaled
    values = X.X.copy()
    values[::4, 1] = np.nan
    both = WithCovariates(values, X.covariates)
    member = NeuralBayesEstimator(missing="mask", **TINY)
    ensemble = NeuralEnsemble(member, n_estimators=2, random_state=0).fit(both, theta)
    assert all(m.n_covariates_ == 2 for m in ensemble.estimators_)
    assert np.isfinite(ensemble.predict(both[:4])).all()


def test_a_simulator_returning_covariates_is_told_the_way(gaussian_model):
    def simulator(theta, rng, n_replicates):
        X = gaussian_model.simulator(theta, rng, n_replicates)
        return WithCovariates(X, np.zeros(len(X)))

    with pytest.raises(ValueError, match="fit on WithCovariates"):
        NeuralBayesEstimator(**TINY).fit_simulator(
            gaussian_model.prior, simulator, 50, n_replicates=4
        )
