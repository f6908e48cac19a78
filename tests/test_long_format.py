"""Long-format tables to replicated data and back; tidy estimator outputs."""

import numpy as np
import pandas as pd
import pytest

from skamortise import NeuralBayesEstimator
from skamortise._output import levels_frame, samples_frame
from skamortise.long_format import from_long, tidy, to_long
from skamortise.pipeline import make_pipeline
from skamortise.preprocessing import ReplicateSummaries


def _long(counts, seed=0):
    rng = np.random.default_rng(seed)
    ids = np.repeat([f"site{i}" for i in range(len(counts))], counts)
    return pd.DataFrame(
        {
            "site": ids,
            "height": rng.normal(size=len(ids)),
            "weight": rng.normal(size=len(ids)),
        }
    )


def test_round_trip_equal_counts():
    frame = _long([4, 4, 4])
    X, ids = from_long(frame, "site")
    assert isinstance(X, np.ndarray) and X.shape == (3, 4, 2)
    back = to_long(X, ids, id_column="site", value_columns=["height", "weight"])
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)


def test_round_trip_ragged():
    frame = _long([2, 5, 1])
    X, ids = from_long(frame, "site", ["weight", "height"])
    assert [x.shape for x in X] == [(2, 2), (5, 2), (1, 2)]
    np.testing.assert_array_equal(X[1][:, 0], frame["weight"][2:7])
    back = to_long(X, ids, id_column="site", value_columns=["weight", "height"])
    pd.testing.assert_frame_equal(
        back, frame[["site", "weight", "height"]], check_dtype=False
    )


def test_interleaved_rows_group_by_first_appearance():
    frame = pd.DataFrame({"id": [7, 3, 7, 3, 3], "x": [1.0, 2.0, 3.0, 4.0, 5.0]})
    X, ids = from_long(frame, "id")
    assert list(ids) == [7, 3]
    np.testing.assert_array_equal(X[0][:, 0], [1.0, 3.0])
    np.testing.assert_array_equal(X[1][:, 0], [2.0, 4.0, 5.0])


def test_replicate_column_and_default_names():
    out = to_long(np.arange(8.0).reshape(2, 2, 2), replicate_column="replicate")
    assert list(out.columns) == ["dataset", "replicate", "x0", "x1"]
    assert out["dataset"].tolist() == [0, 0, 1, 1]
    assert out["replicate"].tolist() == [0, 1, 0, 1]


def test_errors():
    frame = _long([2, 2])
    with pytest.raises(KeyError, match="id_column"):
        from_long(frame, "plot")
    with pytest.raises(ValueError, match="2 ids for 3 data sets"):
        to_long(np.zeros((3, 2, 1)), ["a", "b"])
    with pytest.raises(ValueError, match="value columns"):
        to_long(np.zeros((3, 2, 1)), value_columns=["a", "b"])
    frame.loc[0, "height"] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        from_long(frame, "site")


def test_long_data_through_pipeline_with_parameter_names():
    rng = np.random.default_rng(1)
    params = pd.DataFrame(
        {"mu": rng.normal(size=60)},
        index=pd.Index([f"s{i}" for i in range(60)], name="site"),
    )
    counts = rng.integers(3, 9, size=60)
    frame = pd.DataFrame(
        {
            "site": np.repeat(params.index, counts),
            "value": np.repeat(params["mu"].to_numpy(), counts)
            + rng.normal(size=counts.sum()),
        }
    )
    X, ids = from_long(frame, "site")
    y = params.loc[ids]
    pipe = make_pipeline(
        ReplicateSummaries(),
        NeuralBayesEstimator(hidden_layer_sizes=(16,), max_epochs=3, random_state=0),
    ).set_output(transform="pandas")
    estimates = pipe.fit(X, y).predict(X)
    assert list(estimates.columns) == ["mu"]
    table = tidy(estimates)
    assert list(table.columns) == ["dataset", "parameter", "value"]
    assert len(table) == 60 and set(table["parameter"]) == {"mu"}


def test_tidy_levels_and_samples():
    values = np.arange(12.0).reshape(2, 2, 3)
    quantiles = levels_frame(
        values, ["a", "b"], [0.1, 0.5, 0.9], ["x", "y"], "quantile"
    )
    table = tidy(quantiles)
    assert list(table.columns) == ["dataset", "parameter", "quantile", "value"]
    assert len(table) == 12
    row = table.query("dataset == 'y' and parameter == 'b' and quantile == 0.9")
    assert row["value"].item() == values[1, 1, 2]

    draws = np.arange(12.0).reshape(2, 3, 2)
    table = tidy(samples_frame(draws, ["a", "b"], [10, 11]), value_name="draw_value")
    assert list(table.columns) == ["dataset", "draw", "parameter", "draw_value"]
    row = table.query("dataset == 11 and draw == 2 and parameter == 'a'")
    assert row["draw_value"].item() == draws[1, 2, 0]


def test_tidy_series_and_bad_input():
    table = tidy(pd.Series([1.0, 2.0], name="mu"))
    assert table["parameter"].tolist() == ["mu", "mu"]
    with pytest.raises(TypeError, match="DataFrame or Series"):
        tidy(np.zeros(3))
