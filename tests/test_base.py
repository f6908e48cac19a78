"""The shared base: data layouts, pandas labels, reproducibility, bad input."""

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import SMALL
from sklearn.exceptions import NotFittedError

from skamortise import NeuralBayesEstimator, NeuralQuantileEstimator


@pytest.mark.parametrize("layout", ["tabular", "replicated", "ragged"])
def test_fit_predict_shapes_every_layout(layout, request):
    X, y = request.getfixturevalue(layout)
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    pred = est.predict(X[:5])
    assert pred.shape == (5, 2) and pred.dtype == np.float64
    assert est.n_features_in_ == (2 if layout == "tabular" else 1)
    assert est.replicated_ is (layout != "tabular")


def test_one_d_y_gives_one_d_predictions(tabular):
    X, y = tabular
    assert NeuralBayesEstimator(**SMALL).fit(X, y[:, 0]).predict(X).shape == (len(X),)


def test_replicate_count_may_change_after_training(replicated, gaussian_model):
    X, y = replicated
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    rng = np.random.default_rng(5)
    for m in (1, 3, 40):
        Z = gaussian_model.simulator(y[:4], rng, n_replicates=m)
        assert est.predict(Z).shape == (4, 2)


def test_ragged_matches_one_data_set_at_a_time(ragged):
    X, y = ragged
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    together = est.predict(X[:6])
    alone = np.vstack([est.predict(x[None]) for x in X[:6]])
    np.testing.assert_allclose(together, alone, rtol=1e-10, atol=1e-12)


def test_deepset_is_permutation_invariant(replicated):
    X, y = replicated
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    shuffled = X[:, np.random.default_rng(0).permutation(X.shape[1])]
    np.testing.assert_allclose(est.predict(X), est.predict(shuffled), rtol=1e-10)


def test_same_seed_is_bit_identical_and_other_seed_differs(tabular):
    X, y = tabular
    a = NeuralBayesEstimator(**SMALL).fit(X, y).predict(X)
    b = NeuralBayesEstimator(**SMALL).fit(X, y).predict(X)
    c = NeuralBayesEstimator(**{**SMALL, "random_state": 1}).fit(X, y).predict(X)
    assert np.array_equal(a, b)  # the same computation twice: bit for bit
    assert not np.allclose(a, c)


def test_fit_leaves_global_torch_rng_alone(tabular):
    X, y = tabular
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    NeuralBayesEstimator(**SMALL).fit(X, y)
    assert torch.equal(torch.rand(3), expected)


def test_pandas_names_label_outputs(tabular):
    X, y = tabular
    Xdf = pd.DataFrame(
        X, columns=["mean", "log_sd"], index=[f"d{i}" for i in range(len(X))]
    )
    ydf = pd.DataFrame(y, columns=["mu", "sigma"])
    est = NeuralQuantileEstimator(**SMALL).fit(Xdf, ydf)
    assert est.parameter_names_ == ["mu", "sigma"]
    assert list(est.feature_names_in_) == ["mean", "log_sd"]
    assert isinstance(est.predict(Xdf), np.ndarray)  # arrays unless asked
    est.set_output(transform="pandas")
    pred = est.predict(Xdf.iloc[:3])
    assert list(pred.columns) == ["mu", "sigma"] and list(pred.index) == [
        "d0",
        "d1",
        "d2",
    ]
    q = est.predict_quantiles(Xdf.iloc[:3])
    assert q.columns.names == ["parameter", "quantile"] and q.shape == (3, 6)
    iv = est.predict_interval(Xdf.iloc[:3])
    assert ("sigma", "upper") in iv.columns
    np.testing.assert_array_equal(  # the same numbers, only labelled
        iv.to_numpy().reshape(3, 2, 2),
        est.set_output(transform="default").predict_interval(Xdf.iloc[:3]),
    )


def test_pandas_series_for_one_d_y(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(**SMALL).fit(X, pd.Series(y[:, 0], name="mu"))
    out = est.set_output(transform="pandas").predict(X[:2])
    assert isinstance(out, pd.Series) and out.name == "mu"


def test_thread_policy_applies_during_fit_and_is_restored(tabular):
    X, y = tabular
    seen = []

    def loss(estimate, truth):
        seen.append(torch.get_num_threads())
        return (estimate - truth) ** 2

    before = torch.get_num_threads()
    NeuralBayesEstimator(loss=loss, n_threads=1, **{**SMALL, "max_epochs": 1}).fit(X, y)
    assert set(seen) == {1}
    assert torch.get_num_threads() == before


def test_user_summary_network_class(replicated):
    X, y = replicated

    class MeanAndSpread(torch.nn.Module):
        def __init__(self, width=8):
            super().__init__()
            self.out = torch.nn.Linear(2, width)

        def forward(self, x):
            return self.out(torch.cat([x.mean(1), x.std(1)], dim=1))

    est = NeuralBayesEstimator(
        summary_network=MeanAndSpread, summary_network_kwargs={"width": 4}, **SMALL
    ).fit(X, y)
    assert est.predict(X[:3]).shape == (3, 2)


def test_summary_network_must_be_a_module(tabular):
    X, y = tabular
    with pytest.raises(TypeError, match="torch.nn.Module"):
        NeuralBayesEstimator(summary_network=lambda: "nope", **SMALL).fit(X, y)


BAD_X = {
    "nan_2d": (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.nan, X)),
    "inf_2d": (lambda X: np.where(np.arange(X.size).reshape(X.shape) == 3, np.inf, X)),
}


@pytest.mark.parametrize("case", sorted(BAD_X))
def test_non_finite_X_rejected(case, tabular):
    X, y = tabular
    with pytest.raises(ValueError, match="NaN|infinity"):
        NeuralBayesEstimator(**SMALL).fit(BAD_X[case](X), y)


def test_non_finite_replicated_and_ragged_rejected(replicated, ragged):
    X, y = replicated
    X = X.copy()
    X[2, 1, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinity"):
        NeuralBayesEstimator(**SMALL).fit(X, y)
    Xr, yr = ragged
    Xr = list(Xr)
    Xr[4] = np.full_like(Xr[4], np.inf)
    with pytest.raises(ValueError, match=r"X\[4\] contains NaN or infinity"):
        NeuralBayesEstimator(**SMALL).fit(Xr, yr)


def test_non_finite_y_rejected(tabular):
    X, y = tabular
    y = y.copy()
    y[0, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        NeuralBayesEstimator(**SMALL).fit(X, y)


def test_wrong_ndim_and_lengths(tabular, replicated):
    X, y = tabular
    with pytest.raises(ValueError, match="axes"):
        NeuralBayesEstimator(**SMALL).fit(np.zeros((4, 3, 2, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        NeuralBayesEstimator(**SMALL).fit(X, y[:-1])
    Xr, yr = replicated
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        NeuralBayesEstimator(**SMALL).fit(Xr, yr[:-1])
    with pytest.raises(ValueError, match="event shape"):
        NeuralBayesEstimator(**SMALL).fit([np.zeros((3, 1)), np.zeros((2, 2))], [0, 1])
    with pytest.raises(ValueError, match="1-D or 2-D"):
        NeuralBayesEstimator(**SMALL).fit(X, np.zeros((len(X), 2, 2)))


def test_wrong_features_at_predict(tabular, replicated):
    X, y = tabular
    est = NeuralBayesEstimator(**SMALL).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        est.predict(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="fitted on one vector per data set"):
        est.predict(np.zeros((2, 4, 2)))
    Xr, yr = replicated
    est = NeuralBayesEstimator(**SMALL).fit(Xr, yr)
    with pytest.raises(ValueError, match=r"X has \(2,\) features per replicate"):
        est.predict(np.zeros((2, 4, 2)))
    with pytest.raises(ValueError, match="fitted on replicated data"):
        est.predict(np.zeros((2, 1)))


@pytest.mark.parametrize("method", ["predict", "score"])
def test_unfitted_use_raises(method, tabular):
    X, y = tabular
    args = (X,) if method == "predict" else (X, y)
    with pytest.raises(NotFittedError):
        getattr(NeuralBayesEstimator(), method)(*args)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"learning_rate": -1.0}, "learning_rate"),
        ({"batch_size": 0}, "batch_size"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"loss": "hinge"}, "loss"),
        ({"device": 3}, "device"),
        ({"n_threads": 0}, "n_threads"),
        ({"hidden_layer_sizes": (0, 4)}, "hidden_layer_sizes"),
        ({"activation": "swish"}, "activation"),
    ],
)
def test_invalid_hyperparameters_name_the_argument(params, match, tabular):
    X, y = tabular
    with pytest.raises(ValueError, match=match):
        NeuralBayesEstimator(**{**SMALL, **params}).fit(X, y)


def test_unavailable_cuda_is_a_clear_error(tabular):
    if torch.cuda.is_available():
        pytest.skip("CUDA present: the error path cannot be reached")
    X, y = tabular
    with pytest.raises(ValueError, match="CUDA is not available"):
        NeuralBayesEstimator(device="cuda", **SMALL).fit(X, y)


def test_one_sample_cannot_be_split(tabular):
    X, y = tabular
    with pytest.raises(ValueError, match="n_samples=1"):
        NeuralBayesEstimator(**SMALL).fit(X[:1], y[:1])
    NeuralBayesEstimator(validation_fraction=0, **SMALL).fit(X[:1], y[:1])


def test_pandas_output_for_ragged_list(ragged):
    X, y = ragged
    est = NeuralBayesEstimator(**SMALL).fit(X, y).set_output(transform="pandas")
    assert list(est.predict(X[:3]).index) == [0, 1, 2]
