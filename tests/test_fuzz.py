"""Property-based fuzzing of the public entry points.

Every input either works (finite output of the documented shape) or raises a clear
ValueError/TypeError; nothing crashes, hangs or returns NaN silently.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays

from skamortise import (
    NeuralBayesEstimator,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
)
from skamortise.preprocessing import ReplicateSummaries

TINY = dict(hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
SETTINGS = settings(
    max_examples=40,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

special = st.sampled_from(
    [0.0, 1.0, -1.0, np.nan, np.inf, -np.inf, 1e300, -1e300, 1e-300, 3e38]
)
values = st.one_of(st.floats(-1e6, 1e6), special)
dtypes = st.sampled_from([np.float64, np.float32, np.int64, np.int32, bool])


def shaped(dtype):
    return arrays(
        dtype,
        array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
        elements=values if dtype in (np.float64, np.float32) else None,
    )


def _acceptable(call):
    """Run ``call``; a result must be finite, an error must be Value/TypeError."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            out = call()
        except (ValueError, TypeError):
            return None
    if isinstance(out, np.ndarray) and out.dtype.kind == "f":
        assert not np.isnan(out).any(), "NaN returned silently"
    return out


FAMILIES = [
    NeuralBayesEstimator(**TINY),
    NeuralQuantileEstimator(**TINY),
    NeuralPosteriorEstimator("gaussian", **TINY),
    NeuralRatioEstimator(**TINY),
]


@pytest.mark.parametrize("est", FAMILIES, ids=lambda e: type(e).__name__)
@SETTINGS
@given(data=st.data())
def test_fit_on_arbitrary_input(est, data):
    X = data.draw(dtypes.flatmap(shaped))
    y = data.draw(dtypes.flatmap(shaped))
    fitted = _acceptable(lambda: est.fit(X, y))
    if fitted is not None:
        assert fitted.history_["train_loss"]
        _acceptable(lambda: fitted.predict(X))


@pytest.fixture(scope="module")
def fitted_models():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X[:, :2] + rng.normal(size=(60, 2))
    return [type(e)(**e.get_params()).fit(X, y) for e in FAMILIES]


@SETTINGS
@given(
    X=arrays(
        np.float64, st.tuples(st.integers(0, 4), st.integers(0, 4)), elements=values
    )
)
def test_inference_methods_on_arbitrary_input(fitted_models, X):
    for est in fitted_models:
        for method in ("predict", "predict_interval", "predict_quantiles"):
            if hasattr(est, method) and not (
                method != "predict" and isinstance(est, NeuralRatioEstimator)
            ):
                if isinstance(est, NeuralQuantileEstimator) and method != "predict":
                    continue
                _acceptable(lambda est=est, method=method: getattr(est, method)(X))
        if hasattr(est, "sample"):
            out = _acceptable(lambda est=est: est.sample(X, 3, random_state=0))
            if out is not None:
                assert out.shape == (len(X), 3, 2)
        if hasattr(est, "log_prob"):
            _acceptable(lambda est=est: est.log_prob(X, np.zeros((len(X), 2))))


@SETTINGS
@given(
    n_samples=st.one_of(
        st.integers(-3, 3), st.floats(-1, 3), st.none(), st.text(max_size=2)
    )
)
def test_bad_sample_counts(fitted_models, n_samples):
    X = np.zeros((2, 3))
    for est in fitted_models:
        if hasattr(est, "sample"):
            _acceptable(lambda est=est: est.sample(X, n_samples, random_state=0))


@SETTINGS
@given(
    X=st.one_of(
        arrays(
            np.float64,
            array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4),
            elements=values,
        ),
        st.lists(
            arrays(
                np.float64,
                st.tuples(st.integers(0, 3), st.integers(1, 2)),
                elements=values,
            ),
            min_size=0,
            max_size=3,
        ),
    )
)
def test_transformer_on_arbitrary_input(X):
    _acceptable(lambda: ReplicateSummaries().fit_transform(X))


@SETTINGS
@given(
    X=arrays(
        np.float64,
        array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=4),
        elements=values,
    ),
    method=st.sampled_from(["parametric", "nonparametric", "jackknife"]),
    n_boot=st.one_of(st.integers(-2, 5), st.floats(0, 5), st.none()),
)
def test_bootstrap_on_arbitrary_input(fitted_models, X, method, n_boot):
    from skamortise import bootstrap

    def simulator(theta, rng, **kwargs):
        return theta[:, [0, 1, 0]] + rng.normal(size=(len(theta), 3))

    out = _acceptable(
        lambda: bootstrap(
            fitted_models[0],
            X,
            method=method,
            n_boot=n_boot,
            simulator=simulator,
            random_state=0,
        )
    )
    if out is not None:
        assert np.isfinite(out.samples).all()
        assert out.samples.shape[:2] == (len(X), n_boot)
