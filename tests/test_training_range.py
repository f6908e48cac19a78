"""Tests of the public learned summaries and the out-of-range warnings."""

import warnings

import numpy as np
import pytest
import torch

import skamortise
from skamortise import (
    NeuralBayesEstimator,
    NeuralModelComparison,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
)
from skamortise._training_range import squared_distances
from skamortise.diagnostics import OutOfRangeWarning

SMALL = dict(hidden_layer_sizes=(16,), max_epochs=15, random_state=0)

FAMILIES = [
    NeuralBayesEstimator,
    NeuralQuantileEstimator,
    NeuralPosteriorEstimator,
    NeuralRatioEstimator,
]


def _out_of_range_warnings(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [w for w in caught if issubclass(w.category, OutOfRangeWarning)]


@pytest.fixture(scope="module")
def point(replicated):
    X, theta = replicated
    return NeuralBayesEstimator(warn_out_of_range=True, **SMALL).fit(X, theta)


@pytest.mark.parametrize("family", FAMILIES, ids=lambda c: c.__name__)
def test_summarize_shape_and_batch_invariance(replicated, family):
    X, theta = replicated
    est = family(**SMALL).fit(X, theta)
    summaries = est.summarize(X)
    assert summaries.dtype == np.float64
    assert summaries.shape == (len(X), 16)
    np.testing.assert_allclose(est.summarize(X[:7]), summaries[:7], rtol=1e-12)


def test_summarize_of_a_classifier(replicated):
    X, _ = replicated
    labels = np.repeat(["a", "b"], len(X) // 2)
    clf = NeuralModelComparison(**SMALL).fit(X, labels)
    assert clf.summarize(X[:5]).shape == (5, 16)


def test_summaries_are_what_the_head_reads(point, replicated):
    X, _ = replicated
    summaries = torch.tensor(point.summarize(X[:20]))
    with torch.no_grad():
        z = point.network_.head(summaries).numpy()
    estimate = z * point.y_scale_ + point.y_loc_
    if point.parameter_transform_ is not None:
        estimate = point.parameter_transform_(torch.tensor(estimate)).numpy()
    np.testing.assert_allclose(estimate, point.predict(X[:20]), rtol=1e-10)


def test_training_range_records_counts_and_summaries(point, replicated):
    X, _ = replicated
    record = point.training_range_
    assert record["n_replicates"] == (X.shape[1], X.shape[1])
    assert record["summary_mean"].shape == (16,)
    assert record["summary_precision"].shape == (16, 16)
    assert record["distance_threshold"] > 0


def test_no_warning_unless_asked(replicated, gaussian_model):
    X, theta = replicated
    est = NeuralBayesEstimator(**SMALL).fit(X, theta)
    far = gaussian_model.simulator(theta[:5], np.random.default_rng(0), 200)
    assert not _out_of_range_warnings(lambda: est.predict(far * 50))


def test_replicate_counts_outside_training_warn(point, replicated, gaussian_model):
    X, theta = replicated  # 6 replicates per data set
    more = gaussian_model.simulator(theta[:3], np.random.default_rng(0), 40)
    caught = _out_of_range_warnings(lambda: point.predict(more))
    assert caught and "replicate counts [40] outside the trained range [6, 6]" in str(
        caught[0].message
    )
    ragged = [X[0], X[1][:2]]
    caught = _out_of_range_warnings(lambda: point.predict(ragged))
    assert "data sets 1)" in str(caught[0].message)


def test_far_summaries_warn(point, replicated):
    X, _ = replicated
    caught = _out_of_range_warnings(lambda: point.predict(X[:4] * 30 + 100))
    assert caught and "4 data set(s) have learned summaries farther" in str(
        caught[0].message
    )


def test_data_like_training_rarely_warn(point, gaussian_model):
    # The threshold is the 99.9% quantile of the training distances: fresh data
    # from the training distribution cross it for about 1 in 1000 data sets (a
    # little more from estimating the quantile on 270 training sets). 2000 sets
    # flag a handful; 1% (20) is many Monte Carlo standard deviations away.
    rng = np.random.default_rng(3)
    theta = gaussian_model.prior(2000, rng)
    X = gaussian_model.simulator(theta, rng, 6)
    caught = _out_of_range_warnings(lambda: point.predict(X))
    distances = squared_distances(point.training_range_, point.summarize(X))
    flagged = int((distances > point.training_range_["distance_threshold"]).sum())
    if flagged:
        message = str(caught[0].message)
        assert f"{flagged} data set(s) have learned summaries" in message
    else:
        assert not caught
    assert flagged < 20


def test_every_inference_method_checks(replicated):
    X, theta = replicated
    est = NeuralPosteriorEstimator(warn_out_of_range=True, **SMALL).fit(X, theta)
    far = X[:2] * 30 + 100
    for call in (
        lambda: est.predict(far),
        lambda: est.sample(far, 5, random_state=0),
        lambda: est.log_prob(far, theta[:2]),
        lambda: est.summarize(far),
    ):
        assert _out_of_range_warnings(call)


def test_unreplicated_data_have_no_count_check(tabular):
    X, theta = tabular
    est = NeuralBayesEstimator(warn_out_of_range=True, **SMALL).fit(X, theta)
    assert est.training_range_["n_replicates"] is None
    caught = _out_of_range_warnings(lambda: est.predict(X[:2] + 1e3))
    assert "2 data set(s) have learned summaries" in str(caught[0].message)
    assert "replicate counts" not in str(caught[0].message)


def test_training_range_survives_save_and_load(point, replicated, tmp_path):
    X, _ = replicated
    point.save(tmp_path / "point.skm")
    loaded = skamortise.load(tmp_path / "point.skm")
    for key in ("summary_mean", "summary_precision"):
        np.testing.assert_array_equal(
            loaded.training_range_[key], point.training_range_[key]
        )
    assert loaded.training_range_["n_replicates"] == (6, 6)
    assert _out_of_range_warnings(lambda: loaded.predict(X[:2] * 30 + 100))


def test_missing_record_warns(replicated):
    X, _ = replicated
    est = NeuralBayesEstimator(warn_out_of_range=True, **SMALL).fit(*replicated)
    del est.training_range_
    caught = _out_of_range_warnings(lambda: est.predict(X[:2]))
    assert "no record of its training range" in str(caught[0].message)


def test_warning_points_at_the_callers_line(point, replicated):
    X, theta = replicated
    far = X[:2] * 30 + 100
    for call in (lambda: point.predict(far), lambda: point.summarize(far)):
        caught = _out_of_range_warnings(call)
        assert caught[0].filename == __file__
