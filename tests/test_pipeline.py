"""The Pipeline passes inference methods through its preprocessing steps."""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import Pipeline as SklearnPipeline
from sklearn.utils.validation import check_is_fitted, validate_data

import skamortise
from skamortise import NeuralBayesEstimator
from skamortise.pipeline import Pipeline, make_pipeline
from skamortise.preprocessing import (
    ReplicateSummaries,
    ReshapeReplicates,
)

SMALL = dict(hidden_layer_sizes=(16,), max_epochs=5, random_state=0)
METHODS = ("sample", "log_prob", "log_ratio", "predict_interval", "predict_quantiles")


class FakeInference(RegressorMixin, BaseEstimator):
    """Deterministic stand-in with every inference method, computed from X."""

    def __init__(self, n_components=1):
        self.n_components = n_components

    def fit(self, X, y):
        X, y = validate_data(self, X, y, multi_output=True)
        self.n_parameters_ = 1 if y.ndim == 1 else y.shape[1]
        return self

    def _centre(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        return X[:, : self.n_parameters_] * self.n_components

    def predict(self, X):
        return self._centre(X)

    def sample(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        centre = self._centre(X)
        return centre[:, None, :] + rng.normal(
            size=(len(centre), n_samples, centre.shape[1])
        )

    def log_prob(self, X, y):
        return -0.5 * np.sum((self._centre(X) - np.reshape(y, (len(y), -1))) ** 2, 1)

    def log_ratio(self, X, y):
        return 2.0 * self.log_prob(X, y)

    def predict_quantiles(self, X, quantiles=(0.1, 0.5, 0.9)):
        return self._centre(X)[..., None] + np.asarray(quantiles)

    def predict_interval(self, X, alpha=0.05):
        return self.predict_quantiles(X, (alpha / 2, 1 - alpha / 2))


@pytest.fixture(scope="module")
def replicated():
    rng = np.random.default_rng(0)
    theta = rng.normal(size=(120, 2))
    X = theta[:, None, :] + rng.normal(size=(120, 6, 2))
    return X, theta


def test_make_pipeline_returns_our_pipeline():
    pipe = make_pipeline(ReplicateSummaries(), ReplicateSummaries(), FakeInference())
    assert isinstance(pipe, Pipeline) and isinstance(pipe, SklearnPipeline)
    assert [name for name, _ in pipe.steps] == [
        "replicatesummaries-1",
        "replicatesummaries-2",
        "fakeinference",
    ]


@pytest.mark.parametrize(
    "method, args",
    [
        ("sample", (4,)),
        ("log_prob", ("y",)),
        ("log_ratio", ("y",)),
        ("predict_interval", ()),
        ("predict_quantiles", ()),
    ],
)
def test_pass_through_equals_manual(replicated, method, args):
    X, theta = replicated
    pipe = make_pipeline(ReplicateSummaries(quantiles=(0.5,)), FakeInference(2))
    pipe.fit(X, theta)
    args = tuple(theta if a == "y" else a for a in args)
    kwargs = {"random_state": 3} if method == "sample" else {}
    got = getattr(pipe, method)(X, *args, **kwargs)
    Xt = pipe[0].transform(X)
    expected = getattr(pipe[-1], method)(Xt, *args, **kwargs)
    np.testing.assert_array_equal(got, expected)  # the same computation


def test_keyword_arguments_reach_the_final_step(replicated):
    X, theta = replicated
    pipe = make_pipeline(ReplicateSummaries(), FakeInference()).fit(X, theta)
    out = pipe.predict_interval(X, alpha=0.5)
    np.testing.assert_allclose(out[..., 1] - out[..., 0], 0.5)
    assert pipe.predict_quantiles(X, quantiles=(0.2,)).shape == (120, 2, 1)


def test_methods_follow_the_final_estimator(replicated):
    pipe = make_pipeline(ReplicateSummaries(), NeuralBayesEstimator(**SMALL))
    for method in METHODS:
        assert not hasattr(pipe, method)
    assert all(hasattr(make_pipeline(FakeInference()), m) for m in METHODS)


def test_unfitted_pipeline_raises(replicated):
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        make_pipeline(ReplicateSummaries(), FakeInference()).sample(replicated[0], 2)


def test_point_estimator_predict_and_score_equal_manual(replicated):
    X, theta = replicated
    pipe = make_pipeline(ReplicateSummaries(), NeuralBayesEstimator(**SMALL))
    pipe.fit(X, theta)
    manual = NeuralBayesEstimator(**SMALL).fit(
        ReplicateSummaries().fit_transform(X), theta
    )
    Xt = pipe[0].transform(X)
    # Same seed, data, batch and threads: the same computation, bit for bit.
    np.testing.assert_array_equal(pipe.predict(X), manual.predict(Xt))
    assert pipe.score(X, theta) == manual.score(Xt, theta)


def test_set_output_labels_estimates(replicated):
    X, theta = replicated
    y = pd.DataFrame(theta, columns=["mu", "sigma"])
    pipe = make_pipeline(ReplicateSummaries(), NeuralBayesEstimator(**SMALL))
    pipe.set_output(transform="pandas").fit(X, y)
    assert isinstance(pipe[0].transform(X), pd.DataFrame)
    estimates = pipe.predict(X[:3])
    assert isinstance(estimates, pd.DataFrame)
    assert list(estimates.columns) == ["mu", "sigma"]


def test_grid_search_reaches_every_step_of_a_dataframe_pipeline():
    # Each row holds 8 scalar replicates in wide format; the grid spans a
    # preprocessing and an estimator hyperparameter.
    rng = np.random.default_rng(1)
    theta = rng.normal(size=100)
    wide = theta[:, None] + rng.normal(size=(100, 8))
    X = pd.DataFrame(wide, columns=[f"rep{j}" for j in range(8)])
    y = pd.Series(theta, name="mu")
    pipe = Pipeline(
        [
            ("replicates", ReshapeReplicates("replicates")),
            ("summaries", ReplicateSummaries()),
            ("est", FakeInference()),
        ]
    )
    grid = GridSearchCV(
        pipe,
        {"summaries__quantiles": [None, (0.25, 0.75)], "est__n_components": [1, 3]},
        cv=2,
    ).fit(X, y)
    # FakeInference predicts n_components x the first summary, the replicate mean:
    # only n_components=1 estimates mu without inflating it.
    scores = grid.cv_results_["mean_test_score"]
    n_components = np.array(grid.cv_results_["param_est__n_components"], dtype=int)
    assert scores[n_components == 1].min() > scores[n_components == 3].max()
    assert grid.best_params_["est__n_components"] == 1
    # The chosen quantiles reached the transformer: mean, sd, quantiles, log count.
    quantiles = grid.best_params_["summaries__quantiles"]
    best = grid.best_estimator_
    assert best["summaries"].quantiles == quantiles
    assert best["est"].n_features_in_ == 3 + (0 if quantiles is None else 2)
    assert best.sample(X.iloc[:2], 3).shape == (2, 3, 1)


def test_quantile_estimator_through_pipeline(replicated):
    X, theta = replicated
    est = skamortise.NeuralQuantileEstimator(quantiles=(0.1, 0.9), **SMALL)
    pipe = make_pipeline(ReplicateSummaries(), est).fit(X, theta)
    Xt = pipe[0].transform(X[:4])
    np.testing.assert_array_equal(
        pipe.predict_quantiles(X[:4]), pipe[-1].predict_quantiles(Xt)
    )
