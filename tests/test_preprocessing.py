"""The summary transformers: sklearn compliance and the statistics they compute."""

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.estimator_checks import (
    check_param_validation,
    parametrize_with_checks,
)

from skamortise.preprocessing import (
    ReplicateSummaries,
    ReshapeReplicates,
    TimeSeriesSummaries,
    autocorrelation,
)

TRANSFORMERS = [
    ReplicateSummaries(),
    ReplicateSummaries(statistics=("mean", "min", "max"), quantiles=(0.1, 0.9)),
    TimeSeriesSummaries(lags=(1,)),
    ReshapeReplicates(),
]


@parametrize_with_checks(TRANSFORMERS)
def test_sklearn_compatible(estimator, check):
    check(estimator)


@pytest.mark.parametrize("estimator", TRANSFORMERS, ids=lambda e: type(e).__name__)
def test_param_validation(estimator):
    check_param_validation(type(estimator).__name__, estimator)


def test_three_d_array_tag():
    for transformer in TRANSFORMERS:
        assert transformer.__sklearn_tags__().input_tags.three_d_array


# ------------------------------------------------------------- ReplicateSummaries
def test_replicate_summaries_match_numpy():
    X = np.random.default_rng(0).normal(size=(4, 7, 3))
    out = ReplicateSummaries(statistics=("mean", "std", "var"), quantiles=(0.25, 0.5))
    Z = out.fit_transform(X)
    expected = np.hstack(
        [
            X.mean(1),
            X.std(1),
            X.var(1),
            np.quantile(X, 0.25, axis=1),
            np.quantile(X, 0.5, axis=1),
            np.full((4, 1), np.log(7)),
        ]
    )
    np.testing.assert_allclose(Z, expected)


def test_replicate_summaries_ragged_equals_per_dataset():
    rng = np.random.default_rng(1)
    ragged = [rng.normal(size=(m, 2)) for m in (3, 8, 5)]
    summaries = ReplicateSummaries(
        statistics=("mean", "std", "min", "max"), quantiles=(0.5,)
    )
    Z = summaries.fit(np.stack([ragged[0]] * 2)).transform(ragged)
    for row, x in zip(Z, ragged, strict=True):
        single = summaries.transform(x[None])[0]
        np.testing.assert_allclose(row, single)
    np.testing.assert_allclose(Z[:, -1], np.log([3, 8, 5]))


def test_replicate_count_may_change_after_fit():
    summaries = ReplicateSummaries().fit(np.zeros((2, 5, 3)))
    assert summaries.transform(np.ones((4, 9, 3))).shape == (4, 7)
    with pytest.raises(ValueError, match="expecting 3 features"):
        summaries.transform(np.ones((4, 9, 2)))


def test_replicate_summaries_pandas_output_names():
    X = pd.DataFrame({"a": [1.0, 2.0], "b": [3.0, 5.0]}, index=["s1", "s2"])
    Z = (
        ReplicateSummaries(quantiles=(0.5,))
        .set_output(transform="pandas")
        .fit_transform(X)
    )
    assert list(Z.columns) == [
        "a_mean",
        "b_mean",
        "a_std",
        "b_std",
        "a_q0.5",
        "b_q0.5",
        "log_n_replicates",
    ]
    assert list(Z.index) == ["s1", "s2"]


def test_replicate_summaries_pandas_output_for_3d():
    X = np.zeros((3, 4, 2))
    summaries = ReplicateSummaries().set_output(transform="pandas").fit(X)
    Z = summaries.transform(X)
    assert isinstance(Z, pd.DataFrame) and Z.shape == (3, 5)
    names = summaries.get_feature_names_out(["u", "v"]).tolist()
    assert names == ["u_mean", "v_mean", "u_std", "v_std", "log_n_replicates"]


@pytest.mark.parametrize(
    "params, match",
    [
        ({"statistics": ("median",)}, "Unknown statistics"),
        ({"quantiles": (0.5, 1.5)}, r"\[0, 1\]"),
        ({"statistics": (), "log_count": False}, "at least one output"),
    ],
)
def test_replicate_summaries_bad_params(params, match):
    with pytest.raises(ValueError, match=match):
        ReplicateSummaries(**params).fit(np.zeros((2, 3, 1)))


# ------------------------------------------------------------ TimeSeriesSummaries
def test_autocorrelation_matches_definition():
    x = np.random.default_rng(2).normal(size=30)
    c = x - x.mean()
    for lag in (1, 3):
        expected = np.sum(c[:-lag] * c[lag:]) / np.sum(c**2)
        np.testing.assert_allclose(autocorrelation(x, lag), expected)
    assert autocorrelation(np.ones(5), 1) == 0.0


def test_time_series_moments():
    X = np.random.default_rng(3).gamma(2.0, size=(5, 40))
    Z = TimeSeriesSummaries(
        moments=("mean", "var", "std", "skew", "kurtosis"), lags=()
    ).fit_transform(X)
    c = X - X.mean(1, keepdims=True)
    m2 = (c**2).mean(1)
    expected = np.column_stack(
        [
            X.mean(1),
            X.var(1),
            X.std(1),
            (c**3).mean(1) / m2**1.5,
            (c**4).mean(1) / m2**2 - 3,
        ]
    )
    np.testing.assert_allclose(Z, expected)


def test_time_series_keeps_replicates():
    rng = np.random.default_rng(4)
    X = rng.normal(size=(3, 4, 10))
    summaries = TimeSeriesSummaries().fit(X)
    Z = summaries.transform(X)
    assert Z.shape == (3, 4, 4)
    np.testing.assert_allclose(Z[1, 2], summaries.transform(X[1, 2][None])[0])
    ragged = [rng.normal(size=(m, 10)) for m in (2, 5)]
    out = summaries.transform(ragged)
    assert [z.shape for z in out] == [(2, 4), (5, 4)]
    np.testing.assert_allclose(out[1], summaries.transform(ragged[1]))


def test_time_series_lag_too_long():
    with pytest.raises(ValueError, match="lag 5 needs series of at least 6"):
        TimeSeriesSummaries(lags=(5,)).fit(np.zeros((3, 5)))


def test_time_series_then_replicate_summaries():
    X = np.random.default_rng(5).normal(size=(6, 3, 12))
    series = TimeSeriesSummaries(lags=(1,)).fit(X)
    Z = ReplicateSummaries().fit_transform(series.transform(X))
    assert Z.shape == (6, 7)


# --------------------------------------------------------------- ReshapeReplicates
def test_reshape_flatten_and_back():
    X = np.arange(24.0).reshape(2, 4, 3)
    flat = ReshapeReplicates().fit(X)
    wide = flat.transform(X)
    np.testing.assert_array_equal(wide, X.reshape(2, 12))
    assert flat.get_feature_names_out()[:4].tolist() == [
        "x0_r0",
        "x1_r0",
        "x2_r0",
        "x0_r1",
    ]
    back = ReshapeReplicates("replicates", n_features=3).fit_transform(wide)
    np.testing.assert_array_equal(back, X)


def test_reshape_flatten_needs_fixed_count():
    flat = ReshapeReplicates().fit(np.zeros((2, 4, 3)))
    with pytest.raises(ValueError, match="fixed count"):
        flat.transform(np.zeros((2, 5, 3)))
    with pytest.raises(ValueError, match="ragged"):
        flat.transform([np.zeros((2, 3)), np.zeros((4, 3))])


def test_reshape_replicates_passes_ragged_through():
    ragged = [np.zeros((2, 3)), np.ones((4, 3))]
    out = ReshapeReplicates("replicates").fit(ragged).transform(ragged)
    assert [x.shape for x in out] == [(2, 3), (4, 3)]


def test_reshape_replicates_indivisible():
    with pytest.raises(ValueError, match="cannot be split"):
        ReshapeReplicates("replicates", n_features=2).fit(np.zeros((3, 5)))
