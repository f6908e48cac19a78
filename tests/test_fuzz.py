"""Property-based tests of the public entry points.

Valid input must work: a fit, then finite outputs of the documented shapes. Invalid
input (NaN, infinity, wrong shapes, wrong types) must fail with a ValueError that says
what is wrong. The two kinds are generated separately and each is asserted, so neither
can pass by landing in the other.
"""

import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from skamortise import (
    NeuralBayesEstimator,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
    bootstrap,
)
from skamortise.preprocessing import ReplicateSummaries

TINY = dict(hidden_layer_sizes=(4,), max_epochs=2, random_state=0)
FAMILIES = [
    NeuralBayesEstimator(**TINY),
    NeuralQuantileEstimator(**TINY),
    NeuralPosteriorEstimator("gaussian", n_point_samples=100, **TINY),
    NeuralRatioEstimator(**TINY),
]
IDS = [type(e).__name__ for e in FAMILIES]


def fuzz(max_examples):
    return settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=True,
        suppress_health_check=[
            HealthCheck.function_scoped_fixture,
            HealthCheck.too_slow,
        ],
    )


def finite(bound):
    return st.floats(-bound, bound, allow_nan=False, allow_subnormal=False)


# -- what a valid training set looks like ----------------------------------------------
def counts(n):
    return st.lists(st.integers(1, 4), min_size=n, max_size=n)


@st.composite
def training_sets(draw):
    """Finite data in any layout and on any scale, with parameters that vary."""
    n = draw(st.integers(10, 30))
    n_features = draw(st.integers(1, 3))
    layout = draw(st.sampled_from(["tabular", "replicated", "ragged"]))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.int64]))
    shapes = {
        "tabular": [(n, n_features)],
        "replicated": [(n, draw(st.integers(1, 4)), n_features)],
        "ragged": [(m, n_features) for m in draw(counts(n))],
    }[layout]
    X = [
        draw(arrays(np.float64, s, elements=finite(1e6))).astype(dtype) for s in shapes
    ]
    if layout != "ragged":
        X = X[0]
    n_parameters = draw(st.integers(1, 3))
    loc = draw(finite(1e4))
    scale = draw(st.sampled_from([1e-3, 1.0, 1e3]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    y = loc + scale * rng.normal(size=(n, n_parameters))
    if n_parameters == 1 and draw(st.booleans()):
        y = y[:, 0]
    return X, y


def _check_outputs(est, X, y):
    n = len(X)
    p = 1 if y.ndim == 1 else y.shape[1]
    estimate = est.predict(X)
    assert estimate.shape == y.shape and np.isfinite(estimate).all()
    if isinstance(est, NeuralQuantileEstimator):
        q = est.predict_quantiles(X)
        assert q.shape == (n, p, 3) and np.isfinite(q).all()
        assert (np.diff(q, axis=-1) >= 0).all()
    if isinstance(est, NeuralPosteriorEstimator):
        draws = est.sample(X[:3], 4, random_state=0)
        assert draws.shape == (min(n, 3), 4, p) and np.isfinite(draws).all()
        interval = est.predict_interval(X)
        assert interval.shape == (n, p, 2) and np.isfinite(interval).all()
        log_prob = est.log_prob(X, y)
        assert log_prob.shape == (n,) and np.isfinite(log_prob).all()
    if isinstance(est, NeuralRatioEstimator):
        log_ratio = est.log_ratio(X, y)
        assert log_ratio.shape == (n,) and np.isfinite(log_ratio).all()


@pytest.mark.parametrize("est", FAMILIES, ids=IDS)
@fuzz(8)
@given(data=training_sets())
def test_valid_training_sets_fit_and_predict(est, data):
    X, y = data
    with warnings.catch_warnings():
        # valid input is taken as given: no conversion or data warnings
        warnings.simplefilter("error")
        fitted = type(est)(**est.get_params()).fit(X, y)
    assert len(fitted.history_["train_loss"]) == fitted.n_epochs_ > 0
    _check_outputs(fitted, X, y)


# -- what invalid training sets look like -------------------------------------------
def _with_value(array, index, value):
    out = np.array(array, dtype=np.float64)
    out.flat[index % out.size] = value
    return out


NON_FINITE = st.sampled_from([np.nan, np.inf, -np.inf])
NON_FINITE_MESSAGE = "NaN|infinity"


def _one_defect(defect, X, y, index, value):
    """A training set with ``defect``, and the words its error must use."""
    ragged = [x[:, None] for x in X]
    ragged[index % len(X)] = _with_value(ragged[index % len(X)], index, value)
    cases = {
        "X non-finite": (_with_value(X, index, value), y, NON_FINITE_MESSAGE),
        "replicated X non-finite": (
            _with_value(X[:, :, None], index, value),
            y,
            NON_FINITE_MESSAGE,
        ),
        "ragged X non-finite": (ragged, y, NON_FINITE_MESSAGE),
        "y non-finite": (X, _with_value(y, index, value), NON_FINITE_MESSAGE),
        "X 1-D": (X[:, 0], y, "2D array"),
        "X 5-D": (X.reshape(len(X), 3, 1, 1, 1), y, "axes"),
        "y 3-D": (X, y[:, :, None], "1-D or 2-D"),
        "y without columns": (X, y[:, :0], "0 feature|at least one column"),
        "lengths differ": (X, y[: 1 + index % (len(y) - 1)], "inconsistent numbers"),
        "no data sets": (X[:0], y[:0], "0 sample"),
        "X strings": (
            np.char.add(X.astype(str), "a").astype(object),
            y,
            "convert string",
        ),
        "X numpy strings": (np.char.add(X.astype(str), "a"), y, "convert string"),
        "y strings": (X, np.char.add(y.astype(str), "a"), "convert string to float"),
        "X complex": (X + 1j, y, "Complex data"),
        "X None": (None, y, "Expected 2D array"),
        "y None": (X, None, "requires y"),
        "ragged event shapes differ": (
            [np.zeros((3, 1)), np.zeros((2, 2))] * (len(X) // 2),
            y,
            "event shape",
        ),
    }
    return cases[defect]


DEFECTS = [
    "X non-finite",
    "replicated X non-finite",
    "ragged X non-finite",
    "y non-finite",
    "X 1-D",
    "X 5-D",
    "y 3-D",
    "y without columns",
    "lengths differ",
    "no data sets",
    "X strings",
    "X numpy strings",
    "y strings",
    "X complex",
    "X None",
    "y None",
    "ragged event shapes differ",
]


@pytest.mark.parametrize("defect", DEFECTS)
@pytest.mark.parametrize("est", FAMILIES, ids=IDS)
@fuzz(3)
@given(seed=st.integers(0, 2**16), index=st.integers(0, 10**6), value=NON_FINITE)
def test_invalid_training_sets_raise_a_clear_error(est, defect, seed, index, value):
    rng = np.random.default_rng(seed)
    X, y = rng.normal(size=(20, 3)), rng.normal(size=(20, 2))
    X, y, message = _one_defect(defect, X, y, index, value)
    with pytest.raises(ValueError, match=message):
        type(est)(**est.get_params()).fit(X, y)


# -- inference on fitted estimators -------------------------------------------------
@pytest.fixture(scope="module")
def fitted_models():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X[:, :2] + rng.normal(size=(60, 2))
    return [type(e)(**e.get_params()).fit(X, y) for e in FAMILIES]


@fuzz(25)
@given(
    X=arrays(np.float64, st.tuples(st.integers(1, 4), st.just(3)), elements=finite(1e3))
)
def test_inference_on_valid_data_is_finite(fitted_models, X):
    y = np.zeros((len(X), 2))
    for est in fitted_models:
        _check_outputs(est, X, y)


@st.composite
def invalid_test_sets(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    X = rng.normal(size=(draw(st.integers(1, 4)), 3))
    defect = draw(st.sampled_from(["non-finite", "features", "1-D", "replicated"]))
    if defect == "non-finite":
        index = draw(st.integers(0, 100))
        return _with_value(X, index, draw(NON_FINITE)), NON_FINITE_MESSAGE
    if defect == "features":
        return rng.normal(size=(len(X), draw(st.sampled_from([1, 2, 4])))), "features"
    if defect == "1-D":
        return X[:, 0], "2D array"
    return X[:, None, :], "one vector per data set"


INFERENCE_METHODS = {
    "predict": lambda est, X: est.predict(X),
    "sample": lambda est, X: est.sample(X, 3, random_state=0),
    "log_prob": lambda est, X: est.log_prob(X, np.zeros((len(X), 2))),
    "log_ratio": lambda est, X: est.log_ratio(X, np.zeros((len(X), 2))),
    "predict_interval": lambda est, X: est.predict_interval(X, alpha=0.05),
    "predict_quantiles": lambda est, X: est.predict_quantiles(X, [0.025, 0.5]),
}


@fuzz(25)
@given(case=invalid_test_sets())
def test_inference_on_invalid_data_raises_a_clear_error(fitted_models, case):
    X, message = case
    for est in fitted_models:
        for name, call in INFERENCE_METHODS.items():
            if hasattr(est, name):
                with pytest.raises(ValueError, match=message):
                    call(est, X)


@fuzz(20)
@given(n_samples=st.integers(1, 5))
def test_valid_sample_counts(fitted_models, n_samples):
    posterior = fitted_models[2]
    draws = posterior.sample(np.zeros((2, 3)), n_samples, random_state=0)
    assert draws.shape == (2, n_samples, 2) and np.isfinite(draws).all()


@fuzz(20)
@given(
    n_samples=st.one_of(
        st.integers(-3, 0),
        st.floats(-1, 3).filter(lambda v: v != int(v)),
        st.none(),
        st.text(max_size=2),
    )
)
def test_invalid_sample_counts(fitted_models, n_samples):
    with pytest.raises(ValueError, match="n_samples"):
        fitted_models[2].sample(np.zeros((2, 3)), n_samples, random_state=0)


# -- transformers and the bootstrap ----------------------------------------------------
@fuzz(25)
@given(
    X=st.one_of(
        arrays(
            np.float64,
            st.tuples(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3)),
            elements=finite(1e6),
        ),
        st.lists(
            arrays(
                np.float64,
                st.tuples(st.integers(1, 4), st.just(2)),
                elements=finite(1e6),
            ),
            min_size=1,
            max_size=3,
        ),
    )
)
def test_replicate_summaries_of_valid_data(X):
    Z = ReplicateSummaries().fit_transform(X)
    n_features = X[0].shape[-1] if isinstance(X, list) else X.shape[2]
    assert Z.shape == (len(X), 2 * n_features + 1) and np.isfinite(Z).all()


@fuzz(15)
@given(
    X=arrays(np.float64, (3, 4, 2), elements=finite(1e3)),
    index=st.integers(0, 23),
    value=NON_FINITE,
    ragged=st.booleans(),
)
def test_replicate_summaries_reject_non_finite_data(X, index, value, ragged):
    X = _with_value(X, index, value)
    with pytest.raises(ValueError, match=NON_FINITE_MESSAGE):
        ReplicateSummaries().fit_transform(list(X) if ragged else X)


def _simulator(theta, rng, n_replicates=None):
    if n_replicates is None:
        return theta[:, [0, 1, 0]] + rng.normal(size=(len(theta), 3))
    return theta[:, None, :1] + rng.normal(size=(len(theta), n_replicates, 1))


@pytest.fixture(scope="module")
def replicated_model():
    rng = np.random.default_rng(1)
    theta = rng.normal(size=(60, 2))
    X = _simulator(theta, rng, n_replicates=5)
    return NeuralBayesEstimator(**TINY).fit(X, theta)


@fuzz(15)
@given(
    n=st.integers(1, 3),
    n_boot=st.integers(2, 6),
    method=st.sampled_from(["parametric", "nonparametric"]),
    seed=st.integers(0, 2**16),
)
def test_bootstrap_of_valid_data(
    fitted_models, replicated_model, n, n_boot, method, seed
):
    rng = np.random.default_rng(seed)
    if method == "parametric":
        estimator, X = fitted_models[0], rng.normal(size=(n, 3))
    else:
        estimator, X = replicated_model, rng.normal(size=(n, 5, 1))
    result = bootstrap(
        estimator, X, method, n_boot, simulator=_simulator, random_state=0
    )
    assert result.samples.shape == (n, n_boot, 2)
    assert np.isfinite(result.samples).all()
    assert np.isfinite(result.standard_error).all() and np.isfinite(result.bias).all()


@fuzz(25)
@given(
    defect=st.sampled_from(["n_boot", "method", "non-finite", "shape"]),
    n_boot=st.one_of(
        st.integers(-2, 1), st.floats(0, 5).filter(lambda v: v != int(v)), st.none()
    ),
    value=NON_FINITE,
    index=st.integers(0, 5),
)
def test_bootstrap_of_invalid_input_raises_a_clear_error(
    fitted_models, defect, n_boot, value, index
):
    X = np.zeros((2, 3))
    arguments = dict(method="parametric", n_boot=5)
    if defect == "n_boot":
        arguments["n_boot"], message = n_boot, "n_boot"
    elif defect == "method":
        arguments["method"], message = "jackknife", "method"
    elif defect == "non-finite":
        X, message = _with_value(X, index, value), NON_FINITE_MESSAGE
    else:
        X, message = np.zeros((2, 4)), "features"
    with pytest.raises(ValueError, match=message):
        bootstrap(
            fitted_models[0], X, simulator=_simulator, random_state=0, **arguments
        )
