"""Missing values: ``missing="mask"``, its data layout, network input and helpers."""

import numpy as np
import pytest
import torch
from conftest import ROUNDING
from sklearn.base import clone

from skamortise import (
    NeuralBayesEstimator,
    NeuralModelComparison,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
    load,
    simulate,
)
from skamortise._data import as_data, as_series
from skamortise._scaling import RunningMoments, data_moments
from skamortise.nn import MLP, DeepSet
from skamortise.nn._masked import standardise_sets
from skamortise.nn.cnn import CNNSummary
from skamortise.nn.observed import ObservedInput
from skamortise.simulation import MissingCompletelyAtRandom
from skamortise.sources import ArraySource

TINY = dict(hidden_layer_sizes=(8,), max_epochs=3, random_state=0, missing="mask")


def holed(X, rate, seed):
    X = np.array(X, dtype=np.float64)
    X[np.random.default_rng(seed).random(X.shape) < rate] = np.nan
    return X


# ----------------------------------------------------------------- data layout
def test_nan_is_an_error_unless_masked():
    X = np.ones((3, 4, 1))
    X[0, 1] = np.nan
    with pytest.raises(ValueError, match="missing='mask'"):
        as_data(X)
    assert np.isnan(as_data(X, missing="mask").values).sum() == 0  # absent: padding
    X[0, 1] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        as_data(X, missing="mask")


def test_absent_replicates_move_behind_the_observed_and_are_masked():
    X = np.arange(12.0).reshape(2, 3, 2)
    X[0, 0] = np.nan  # absent: every entry missing
    X[1, 2, 0] = np.nan  # one entry missing: the replicate stays
    data = as_data(X, missing="mask")
    assert data.mask.tolist() == [[True, True, False], [True, True, True]]
    np.testing.assert_array_equal(data.values[0, :2], X[0, 1:])
    assert data.values[0, 2].tolist() == [0.0, 0.0]
    assert np.isnan(data.values[1, 2, 0])
    assert data.n_replicates.tolist() == [2, 3]


def test_ragged_absent_replicates_keep_the_mask_a_prefix():
    X = [np.array([[np.nan], [1.0], [2.0]]), np.array([[3.0]])]
    data = as_data(X, missing="mask")
    assert data.mask.tolist() == [[True, True], [True, False]]
    assert data.values[:, :, 0].tolist() == [[1.0, 2.0], [3.0, 0.0]]


def test_a_data_set_with_nothing_observed_is_refused():
    X = np.ones((2, 3, 1))
    X[1] = np.nan
    with pytest.raises(ValueError, match="Data set 1 of X has no observed replicate"):
        as_data(X, missing="mask")


def test_series_keep_missing_steps_in_place():
    X = np.arange(6.0).reshape(1, 6)
    X[0, 2] = np.nan
    data = as_series(X, missing="mask")
    assert data.mask is None and np.isnan(data.values[0, 2, 0])


# ------------------------------------------------------------- standardisation
def test_moments_ignore_missing_entries():
    X = holed(np.random.default_rng(0).normal(3.0, 2.0, size=(50, 4, 3)), 0.3, 1)
    loc, scale = data_moments(as_data(X, missing="mask"))
    flat = X.reshape(-1, 3)
    for j in range(3):
        seen = flat[~np.isnan(flat[:, j]), j]
        np.testing.assert_allclose(loc[j], seen.mean(), rtol=1e-12)
        np.testing.assert_allclose(scale[j], seen.std(), rtol=1e-12)


def test_running_moments_with_missing_entries_match_the_whole_set():
    X = holed(np.random.default_rng(0).normal(size=(60, 5, 2)), 0.4, 2)
    X[:20, :, 1] = np.nan  # a whole chunk without feature 1
    whole = data_moments(as_data(X, missing="mask"))
    running = RunningMoments()
    for start in range(0, 60, 20):
        running.add_data(as_data(X[start : start + 20], missing="mask"))
    for a, b in zip(whole, running.result(), strict=True):
        np.testing.assert_allclose(a, b, **ROUNDING)


def test_a_feature_never_observed_is_refused():
    X = np.ones((5, 2))
    X[:, 1] = np.nan
    with pytest.raises(ValueError, match="Feature 1 of X is missing"):
        NeuralBayesEstimator(**TINY).fit(X, np.arange(5.0))


# ---------------------------------------------------------------- network input
def test_observed_input_puts_the_indicator_next_to_the_values():
    x = torch.tensor([[[1.0, np.nan], [np.nan, 4.0]]])  # (1, 2 replicates, 2)
    out = ObservedInput(torch.nn.Flatten(2), event_ndim=1, new_axis=False)(x)
    assert out.tolist() == [[[1.0, 0.0, 1.0, 0.0], [0.0, 4.0, 0.0, 1.0]]]
    grid = torch.full((3, 4, 5), np.nan)
    out = ObservedInput(torch.nn.Identity(), event_ndim=2, new_axis=True)(grid)
    assert out.shape == (3, 2, 4, 5) and out.abs().sum() == 0


def test_set_standardisation_reads_each_feature_where_observed():
    x = torch.tensor([[[1.0, 5.0], [3.0, 0.0], [2.0, 7.0]]])
    seen = torch.tensor([[[1.0, 1.0], [1.0, 0.0], [1.0, 1.0]]])
    _, moments = standardise_sets(x, seen)
    np.testing.assert_allclose(moments[0, :2], [2.0, 6.0])
    np.testing.assert_allclose(
        moments[0, 2:].exp(), [np.sqrt(2 / 3 + 1e-6), np.sqrt(1 + 1e-6)], rtol=1e-6
    )


def test_deepset_reads_no_value_where_the_indicator_is_zero():
    torch.manual_seed(0)
    net = ObservedInput(
        DeepSet(
            MLP(4, (8,)),
            MLP(8 + 1 + 4, (8,)),
            standardise_sets=True,
            observed_indicators=True,
        ),
        event_ndim=1,
        new_axis=False,
    )
    x = torch.randn(5, 6, 2)
    x[:, 1, 0] = np.nan
    summary = net(x)
    seen = torch.ones_like(x)
    seen[:, 1, 0] = 0
    for value in (0.0, 100.0):  # neither the per-set moments nor phi read it
        filled = torch.nan_to_num(x, nan=value)
        inside = net.network(torch.cat([filled, seen], dim=-1))
        np.testing.assert_allclose(inside.detach(), summary.detach(), rtol=1e-6)
    observed = torch.nan_to_num(x, nan=100.0)
    assert not torch.allclose(net(observed), summary)


# ------------------------------------------------------------------ estimators
FAMILIES = [
    NeuralBayesEstimator(**TINY),
    NeuralQuantileEstimator(**TINY),
    NeuralPosteriorEstimator("gaussian", **TINY),
    NeuralRatioEstimator(**TINY),
]


@pytest.fixture(scope="module")
def missing_replicated(gaussian_model):
    rng = np.random.default_rng(4)
    theta = gaussian_model.prior(200, rng)
    simulator = MissingCompletelyAtRandom(gaussian_model.simulator, rate=(0, 0.5))
    return simulator(theta, rng, n_replicates=6), theta


@pytest.mark.parametrize("est", FAMILIES, ids=lambda e: type(e).__name__)
def test_every_family_trains_and_infers_with_missing_values(est, missing_replicated):
    X, y = missing_replicated
    est = clone(est).fit(X, y)
    assert isinstance(est.network_.summary, ObservedInput)
    if isinstance(est, NeuralQuantileEstimator):
        out = est.predict_quantiles(X[:5])
    elif isinstance(est, NeuralRatioEstimator):
        out = est.log_ratio(X[:5], y[:5])
    elif isinstance(est, NeuralPosteriorEstimator):
        out = est.sample(X[:5], n_samples=4, random_state=0)
        assert np.isfinite(est.log_prob(X[:5], y[:5])).all()
    else:
        out = est.predict(X[:5])
    assert np.isfinite(out).all()
    assert np.isfinite(est.summarize(X)).all()
    assert np.isfinite(est.score(X[:20], y[:20]))


def test_model_comparison_with_missing_values(missing_replicated):
    X, _ = missing_replicated
    labels = np.arange(len(X)) % 2
    est = NeuralModelComparison(**TINY).fit(X, labels)
    np.testing.assert_allclose(est.predict_proba(X[:5]).sum(axis=1), 1.0)


def test_an_absent_replicate_counts_as_no_replicate(missing_replicated):
    X, y = missing_replicated
    est = NeuralBayesEstimator(**TINY).fit(X, y)
    full = np.random.default_rng(5).normal(size=(4, 5, 1))
    extra = np.concatenate([full[:, :2], np.full((4, 1, 1), np.nan), full[:, 2:]], 1)
    np.testing.assert_allclose(est.predict(extra), est.predict(full), **ROUNDING)


def test_tabular_mlp_sees_the_indicator(tabular):
    X, y = tabular
    X = holed(X, 0.3, 3)
    est = NeuralBayesEstimator(**TINY).fit(X, y)
    assert est.network_.summary.network.layers[0].in_features == 2 * X.shape[1]
    z = np.array([[est.x_loc_[0], 0.0]])  # standardises to 0, as NaN is replaced by
    assert not np.allclose(est.predict(z), est.predict(np.array([[np.nan, 0.0]])))


def test_unmasked_estimator_names_the_option(tabular):
    X, y = tabular
    est = NeuralBayesEstimator(max_epochs=1)
    with pytest.raises(ValueError, match="Pass missing='mask'"):
        est.fit(holed(X, 0.3, 3), y)
    est.fit(X, y)
    with pytest.raises(ValueError, match="Pass missing='mask'"):
        est.predict(holed(X, 0.3, 3))


def test_cnn_gets_indicator_channels():
    rng = np.random.default_rng(0)
    theta = rng.uniform(size=(40, 1))
    fields = holed(theta[:, :, None] * rng.normal(size=(40, 6, 6)), 0.2, 4)
    est = NeuralBayesEstimator(
        summary_network=CNNSummary((6, 6), channels=(3,), hidden_layer_sizes=(8,)),
        **TINY,
    ).fit(fields, theta)
    assert est.network_.summary.network.features[0].in_channels == 2
    assert np.isfinite(est.predict(fields[:3])).all()


def test_series_network_gets_indicator_channels():
    rng = np.random.default_rng(0)
    theta = rng.uniform(size=(40, 1))
    series = holed(theta + rng.normal(size=(40, 12)), 0.2, 5)
    est = NeuralBayesEstimator(summary_network="rnn", **TINY).fit(series, theta)
    assert est.network_.summary.network.n_channels == 2
    assert np.isfinite(est.predict(series[:3])).all()


def test_save_load_round_trips_missing(missing_replicated, tmp_path):
    X, y = missing_replicated
    est = NeuralQuantileEstimator(**TINY).fit(X, y)
    est.save(tmp_path / "m.skm")
    loaded = load(tmp_path / "m.skm")
    assert loaded.missing == "mask"
    np.testing.assert_array_equal(loaded.predict(X[:10]), est.predict(X[:10]))


def test_streamed_training_with_missing_values_standardises_as_in_memory(
    missing_replicated, tmp_path
):
    X, y = missing_replicated
    np.save(tmp_path / "X.npy", X)
    mapped = np.load(tmp_path / "X.npy", mmap_mode="r")
    streamed = NeuralBayesEstimator(**TINY).fit_source(
        ArraySource(mapped, y, chunk_size=30)
    )
    in_memory = NeuralBayesEstimator(**TINY).fit(X, y)
    for name in ("x_loc_", "x_scale_"):
        np.testing.assert_allclose(
            getattr(streamed, name), getattr(in_memory, name), **ROUNDING
        )
    assert np.isfinite(streamed.predict(X[:5])).all()


# --------------------------------------------------------------------- helpers
def test_each_data_set_draws_its_own_rate(gaussian_model):
    rng = np.random.default_rng(0)
    simulator = MissingCompletelyAtRandom(gaussian_model.simulator, rate=(0.0, 0.5))
    X = simulator(gaussian_model.prior(2000, rng), rng, n_replicates=200)
    rates = np.isnan(X).mean(axis=(1, 2))
    # Uniform on (0, 0.5), seen through 200 Bernoulli draws per data set.
    assert 0.23 < rates.mean() < 0.27
    assert rates.min() < 0.03 and rates.max() > 0.47
    assert np.corrcoef(rates[:1000], rates[1000:])[0, 1] < 0.1


def test_runs_have_the_asked_rate_and_length(gaussian_model):
    rng = np.random.default_rng(1)
    simulator = MissingCompletelyAtRandom(
        gaussian_model.simulator, rate=0.3, pattern="runs", mean_run=4
    )
    X = simulator(gaussian_model.prior(400, rng), rng, n_replicates=100)
    missing = np.isnan(X[..., 0])
    assert abs(missing.mean() - 0.3) < 0.02
    starts = (missing[:, 1:] & ~missing[:, :-1]).sum() + missing[:, 0].sum()
    assert 3.5 < missing.sum() / starts < 4.5  # mean run length (edge runs cut)


def test_every_data_set_keeps_data(gaussian_model):
    rng = np.random.default_rng(2)
    simulator = MissingCompletelyAtRandom(gaussian_model.simulator, rate=0.95)
    X = simulator(gaussian_model.prior(300, rng), rng, n_replicates=2)
    assert (~np.isnan(X[..., 0])).sum(axis=1).min() == 1


def test_simulate_accepts_the_wrappers_nan_only(gaussian_model):
    wrapped = MissingCompletelyAtRandom(gaussian_model.simulator, rate=0.3)
    X, _ = simulate(gaussian_model.prior, wrapped, 20, n_replicates=5, random_state=0)
    assert np.isnan(X).any()

    def nan_simulator(theta, rng, n_replicates):
        out = gaussian_model.simulator(theta, rng, n_replicates)
        out[0, 0] = np.nan
        return out

    with pytest.raises(ValueError, match="NaN"):
        simulate(gaussian_model.prior, nan_simulator, 5, n_replicates=3, random_state=0)


def test_fit_simulator_with_the_wrapper(gaussian_model):
    est = NeuralPosteriorEstimator("gaussian", **TINY).fit_simulator(
        gaussian_model.prior,
        MissingCompletelyAtRandom(gaussian_model.simulator, pattern="runs"),
        200,
        n_replicates=range(2, 8),
    )
    assert est.n_epochs_ == 3


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"rate": 1.0}, "rate"),
        ({"rate": (0.4, 0.2)}, "rate"),
        ({"pattern": "blocks"}, "pattern"),
        ({"mean_run": 0.5}, "mean_run"),
    ],
)
def test_wrapper_rejects_bad_arguments(gaussian_model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MissingCompletelyAtRandom(gaussian_model.simulator, **kwargs)


# ------------------------------------------------- against the exact posterior
def _observed(X) -> list:
    return [x[~np.isnan(x).all(axis=1)] for x in X]


@pytest.fixture(scope="module")
def masked_test_sets(gaussian_model):
    sets = {}
    for k, rate in enumerate((0.0, 0.25, 0.5)):
        rng = np.random.default_rng(100 + k)
        theta = gaussian_model.prior(3000, rng)
        simulator = MissingCompletelyAtRandom(gaussian_model.simulator, rate=rate)
        sets[rate] = simulator(theta, rng, n_replicates=20), theta
    return sets


def _training(gaussian_model, est):
    return est.fit_simulator(
        gaussian_model.prior,
        MissingCompletelyAtRandom(gaussian_model.simulator, rate=(0.0, 0.5)),
        10_000,
        n_replicates=20,
    )


@pytest.mark.slow
def test_one_masked_network_matches_the_exact_posterior_mean_at_every_rate(
    gaussian_model, masked_test_sets
):
    est = _training(
        gaussian_model, NeuralBayesEstimator(missing="mask", random_state=0)
    )
    for rate, (X, theta) in masked_test_sets.items():
        exact = gaussian_model.posterior_mean(_observed(X))
        gap = ((est.predict(X) - theta) ** 2).mean(0)
        best = ((exact - theta) ** 2).mean(0)
        # The ratio's MC error at 3,000 data sets is about 0.01.
        assert (gap / best < 1.10).all(), (rate, gap / best)
