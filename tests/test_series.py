"""Summary networks for time series, the series layout, and the AR(1) model."""

import numpy as np
import pytest
import torch
from scipy import integrate, linalg, stats
from sklearn.utils._param_validation import InvalidParameterError

import skamortise
from skamortise import (
    NeuralBayesEstimator,
    NeuralPosteriorEstimator,
    NeuralQuantileEstimator,
    NeuralRatioEstimator,
)
from skamortise._data import as_series
from skamortise.bootstrap import bootstrap
from skamortise.models import AR1
from skamortise.nn import (
    RNN,
    SERIES_NETWORKS,
    TCN,
    SeriesTransformer,
    build_summary_network,
    is_series_network,
)
from skamortise.nn._masked import EPS

# Tiny encoders per name: tests check behaviour, benchmarks check accuracy.
TINY = {
    "rnn": {"hidden_size": 6},
    "tcn": {"channels": (6, 6)},
    "transformer": {"d_model": 8, "nhead": 2, "num_layers": 1, "dim_feedforward": 8},
}
SMALL = dict(hidden_layer_sizes=(8,), max_epochs=3, random_state=0)


def network(name, n_channels=1, **kwargs):
    """A float64 series network built as an estimator builds it."""
    torch.manual_seed(0)
    module, _ = build_summary_network(
        name,
        {**TINY[name], **kwargs},
        event_shape=(n_channels,),
        replicated=True,
        hidden_layer_sizes=(5,),
        activation="relu",
        max_count=40,
    )
    return module.to(torch.float64).eval()


def series(n, lengths, n_channels=1, seed=0):
    """Random-walk-like series of the given lengths, each ``(T_i, n_channels)``."""
    rng = np.random.default_rng(seed)
    lengths = np.broadcast_to(lengths, (n,))
    return [rng.normal(size=(t, n_channels)).cumsum(axis=0) for t in lengths]


def padded(arrays):
    data = as_series(arrays)
    mask = None if data.mask is None else torch.tensor(data.mask)
    return torch.tensor(data.values), mask


@pytest.fixture(scope="module")
def ar1_data():
    model = AR1()
    rng = np.random.default_rng(3)
    theta = model.prior(200, rng)
    return model, model.simulator(theta, rng, n_times=range(10, 31)), theta


# -- the registry and the layout it declares -------------------------------------------
def test_registry_names_and_series_declaration():
    assert set(SERIES_NETWORKS) == {"rnn", "tcn", "transformer"}
    assert SERIES_NETWORKS["rnn"] is RNN and SERIES_NETWORKS["tcn"] is TCN
    assert SERIES_NETWORKS["transformer"] is SeriesTransformer
    for name, cls in SERIES_NETWORKS.items():
        assert is_series_network(name) and is_series_network(cls) and cls.ordered

    class Custom(torch.nn.Module):
        ordered = True

    assert is_series_network(Custom)
    assert not any(map(is_series_network, ["auto", "lstm", torch.nn.Linear, None]))


@pytest.mark.parametrize("name", ["lstm", "cnn", "RNN", ""])
def test_unknown_name_is_refused_naming_the_parameter(name):
    X, y = np.zeros((20, 10)), np.zeros(20)
    with pytest.raises(InvalidParameterError, match="summary_network"):
        NeuralBayesEstimator(summary_network=name).fit(X, y)


def test_unknown_keyword_names_the_kwargs_and_what_is_accepted():
    with pytest.raises(TypeError, match=r"summary_network_kwargs.*\['nope'\].*hidden"):
        NeuralBayesEstimator(
            summary_network="rnn", summary_network_kwargs={"nope": 1}, **SMALL
        ).fit(np.zeros((20, 10)), np.zeros(20))


def test_kwargs_override_what_the_estimator_passes():
    net = network("tcn", hidden_layer_sizes=(3,), standardise=False)
    assert net.out_features == 3 and not net.standardise
    assert float(net.length_scale) == 40


# -- shapes ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(SERIES_NETWORKS))
@pytest.mark.parametrize("n_channels", [1, 3])
def test_network_shapes_equal_and_ragged(name, n_channels):
    net = network(name, n_channels)
    x, mask = padded(series(4, 12, n_channels))
    assert mask is None and net(x).shape == (4, 5)
    x, mask = padded(series(4, [12, 3, 1, 7], n_channels))
    assert x.shape == (4, 12, n_channels) and net(x, mask).shape == (4, 5)
    assert torch.isfinite(net(x, mask)).all()


@pytest.mark.parametrize("name", sorted(SERIES_NETWORKS))
def test_network_rejects_wrong_channel_count(name):
    with pytest.raises(ValueError, match=r"expects series \(batch, n_times, 2\)"):
        network(name, 2)(torch.zeros(3, 10, 1, dtype=torch.float64))


@pytest.mark.parametrize("name", sorted(SERIES_NETWORKS))
def test_padding_changes_nothing(name):
    # A ragged batch gives, to float64 rounding, what each series gives on its own:
    # the padding after each series' end never reaches its summary.
    arrays = series(5, [17, 4, 1, 11, 17], n_channels=2, seed=1)
    net = network(name, 2)
    x, mask = padded(arrays)
    with torch.no_grad():
        batch = net(x, mask)
        alone = torch.cat([net(torch.tensor(a)[None]) for a in arrays])
    torch.testing.assert_close(batch, alone, rtol=1e-10, atol=1e-12)


def encoder_input(net, x, mask=None):
    """What ``net``'s encoder reads for series ``x``."""
    seen = {}

    def spy(x, mask, weights):
        seen["x"] = x
        return type(net).encode(net, x, mask, weights)

    net.encode = spy
    with torch.no_grad():
        net(x, mask)
    return seen["x"]


def mlp_input(net, x, mask=None):
    """The features ``net`` passes to its MLP: encoded series, moments, length."""
    seen = []
    hook = net.mlp.register_forward_pre_hook(lambda _, args: seen.append(args[0]))
    net(x, mask)
    hook.remove()
    return seen[0]


@pytest.mark.parametrize("name", sorted(SERIES_NETWORKS))
def test_length_features_are_the_standardised_log_length_and_the_fraction(name):
    # The last two features: log T standardised by the training lengths' moments,
    # and T over the longest training series (max_count=40).
    x, mask = padded(series(3, [9, 4, 16], seed=2))
    features = mlp_input(network(name, length_moments=(2.0, 0.5)), x, mask)
    lengths = torch.tensor([9.0, 4.0, 16.0], dtype=torch.float64)
    expected = torch.stack([(lengths.log() - 2.0) / 0.5, lengths / 40], dim=1)
    torch.testing.assert_close(features[:, -2:], expected, rtol=1e-12, atol=1e-12)
    # Without moments, log T as it is.
    features = mlp_input(network(name), x, mask)
    torch.testing.assert_close(features[:, -2], lengths.log(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("moments", [(0.0, 0.0), (np.nan, 1.0), (1.0, -1.0)])
def test_invalid_length_moments_are_refused(moments):
    with pytest.raises(ValueError, match="length_moments"):
        network("tcn", length_moments=moments)


@pytest.mark.parametrize("name", sorted(SERIES_NETWORKS))
def test_encoder_sees_the_centred_and_the_rms_scaled_series(name):
    # Two views per channel: centred and scaled by the series' own mean and sd, and
    # scaled by its own root mean square only (a random walk is far from centred, so
    # the views differ); padding zero. EPS is the floor both scales carry.
    arrays = series(3, [9, 4, 9], n_channels=2, seed=3)
    x, mask = padded(arrays)
    seen = encoder_input(network(name, 2), x, mask)
    assert seen.shape == (3, 9, 4)
    for i, a in enumerate(map(torch.tensor, arrays)):
        sd = (a.var(dim=0, unbiased=False) + EPS**2).sqrt()
        rms = (a.pow(2).mean(dim=0) + EPS**2).sqrt()
        expected = torch.cat([(a - a.mean(dim=0)) / sd, a / rms], dim=1)
        torch.testing.assert_close(seen[i, : len(a)], expected, rtol=1e-12, atol=1e-12)
        assert (seen[i, len(a) :] == 0).all()
    raw = encoder_input(network(name, 2, standardise=False), x, mask)
    torch.testing.assert_close(raw, x, rtol=0, atol=0)


@pytest.mark.parametrize("name", sorted(SERIES_NETWORKS))
def test_the_order_of_time_steps_matters(name):
    # Not a set network: shuffling the steps of a series changes what its encoder
    # makes of it (the length, mean and sd, which a set network would also see,
    # stay the same). Read before the MLP, whose ReLU outputs may all be 0 for a
    # series at a random initialisation.
    net = network(name)
    x = torch.tensor(np.stack(series(3, 30, seed=2)))
    shuffled = x[:, torch.randperm(30, generator=torch.Generator().manual_seed(0))]
    with torch.no_grad():
        change = (mlp_input(net, x) - mlp_input(net, shuffled)).abs().amax(dim=1)
    assert (change > 1e-4).all()


def test_tcn_receptive_field_is_causal_and_as_documented():
    net = network("tcn", channels=(4, 4, 4), kernel_size=2, standardise=False)
    assert net.receptive_field == 8
    x = torch.zeros(1, 1, 40, dtype=torch.float64, requires_grad=True)
    out = net.blocks(x)[0, :, 30].sum()
    (grad,) = torch.autograd.grad(out, x)
    seen = torch.nonzero(grad.abs().sum(dim=(0, 1)) > 0).ravel().tolist()
    assert seen == list(range(23, 31))  # steps 23..30: the past 8, no future


# -- the series layout in the estimators -----------------------------------------------
def test_as_series_layouts():
    assert as_series(np.zeros((4, 9))).values.shape == (4, 9, 1)
    assert as_series(np.zeros((4, 9, 2))).values.shape == (4, 9, 2)
    data = as_series([np.zeros((3, 2)), np.ones((5, 2))])
    assert data.values.shape == (2, 5, 2) and data.mask.sum(axis=1).tolist() == [3, 5]
    assert data.replicated and (data.values[0, 3:] == 0).all()


@pytest.mark.parametrize(
    "X, match",
    [
        (np.zeros(5), r"\(n_datasets, n_times\)"),
        (np.zeros((2, 3, 4, 5)), r"\(n_datasets, n_times\)"),
        ([np.zeros((3, 2, 2))], r"X\[0\] has shape \(3, 2, 2\)"),
        ([np.zeros((3, 1)), np.zeros((3, 2))], "same number of channels"),
        ([np.zeros((3, 1)), np.full((4, 1), np.nan)], r"X\[1\] contains NaN"),
        ([np.zeros(3), np.zeros((0,))], "sample"),
    ],
)
def test_as_series_errors(X, match):
    with pytest.raises(ValueError, match=match):
        as_series(X)


def test_choosing_a_series_network_declares_the_layout(ar1_data):
    # The same 3-D array is iid replicates for the default network and series for
    # "rnn": reversing time leaves the DeepSet's estimates unchanged, not the RNN's.
    model, _, theta = ar1_data
    X = model.simulator(theta, np.random.default_rng(0), n_times=12)[..., None]
    reverse = X[:, ::-1]
    deepset = NeuralBayesEstimator(**SMALL).fit(X, theta)
    np.testing.assert_allclose(deepset.predict(X), deepset.predict(reverse), rtol=1e-10)
    rnn = NeuralBayesEstimator(
        summary_network="rnn", summary_network_kwargs=TINY["rnn"], **SMALL
    ).fit(X, theta)
    assert rnn.n_features_in_ == 1 and rnn.replicated_
    assert np.abs(rnn.predict(X) - rnn.predict(reverse)).max() > 1e-4


@pytest.mark.parametrize("name", sorted(SERIES_NETWORKS))
def test_estimator_on_arrays_and_ragged_lists(name, ar1_data):
    model, X, theta = ar1_data
    est = NeuralBayesEstimator(
        summary_network=name, summary_network_kwargs=TINY[name], **SMALL
    ).fit(X, theta)
    assert est.predict(X).shape == (200, 1)
    # A ragged batch gives what each series gives alone (chunking and padding).
    one_by_one = np.concatenate([est.predict([x]) for x in X[:6]])
    np.testing.assert_allclose(est.predict(X[:6]), one_by_one, rtol=1e-10)
    # A 2-D array is single-channel series, equal to the 3-D (n, T, 1) form, and
    # any length is accepted, also longer than in training.
    long = model.simulator(theta[:4], np.random.default_rng(1), n_times=50)
    np.testing.assert_array_equal(est.predict(long), est.predict(long[..., None]))
    with pytest.raises(ValueError, match=r"features per replicate"):
        est.predict(np.zeros((3, 10, 2)))


def test_every_family_takes_ragged_series(ar1_data):
    model, X, theta = ar1_data
    tcn = dict(summary_network="tcn", summary_network_kwargs=TINY["tcn"], **SMALL)
    quantiles = NeuralQuantileEstimator(bounds=model.bounds, **tcn).fit(X, theta)
    q = quantiles.predict_quantiles(X[:5])
    assert q.shape == (5, 1, 3) and (np.diff(q, axis=-1) >= 0).all()
    assert ((q > -0.95) & (q < 0.95)).all()
    posterior = NeuralPosteriorEstimator("gaussian", **tcn).fit(X, theta)
    assert posterior.sample(X[:5], 7, random_state=0).shape == (5, 7, 1)
    ratio = NeuralRatioEstimator(**tcn).fit(X, theta)
    assert ratio.log_ratio(X[:5], theta[:5]).shape == (5,)


def test_fit_simulator_with_lengths_drawn_per_series():
    model = AR1()
    est = NeuralBayesEstimator(
        summary_network="tcn", summary_network_kwargs=TINY["tcn"], **SMALL
    ).fit_simulator(
        model.prior,
        model.simulator,
        200,
        simulator_kwargs={"n_times": range(5, 40)},
    )
    assert float(est.network_.summary.length_scale) <= 39
    assert est.predict([np.zeros(3), np.ones(60)]).shape == (2, 1)


@pytest.mark.parametrize("name", ["rnn", "tcn"])
def test_fit_standardises_the_log_length_by_the_training_lengths(name, ar1_data):
    _, X, theta = ar1_data
    # Every series trains (no validation split), so the moments are of all of X.
    est = NeuralBayesEstimator(
        summary_network=name,
        summary_network_kwargs=TINY[name],
        validation_fraction=0.0,
        **SMALL,
    ).fit(X, theta)
    log_lengths = np.log([len(x) for x in X])
    assert log_lengths.std() > 0.1  # lengths 10 to 30
    summary = est.network_.summary
    # float32 buffers while training, float64 after.
    assert float(summary.log_length_loc) == pytest.approx(log_lengths.mean(), rel=1e-6)
    assert float(summary.log_length_scale) == pytest.approx(log_lengths.std(), rel=1e-6)
    # Series of one length: centred only, the scale stays 1.
    equal = NeuralBayesEstimator(
        summary_network=name, summary_network_kwargs=TINY[name], **SMALL
    ).fit(np.stack([x[:10] for x in X]), theta)
    assert float(equal.network_.summary.log_length_loc) == pytest.approx(np.log(10))
    assert float(equal.network_.summary.log_length_scale) == 1.0


def test_nonparametric_bootstrap_of_series_needs_blocks(ar1_data):
    # Resampling single time steps would silently take them for iid replicates.
    _, X, theta = ar1_data
    est = NeuralBayesEstimator(
        summary_network="tcn", summary_network_kwargs=TINY["tcn"], **SMALL
    ).fit(X, theta)
    with pytest.raises(ValueError, match="block_length"):
        bootstrap(est, X[:2], method="nonparametric", n_boot=5)
    result = bootstrap(
        est, X[:2], method="nonparametric", n_boot=5, block_length=4, random_state=0
    )
    assert result.samples.shape == (2, 5, 1)


def test_save_load_round_trip(tmp_path, ar1_data):
    _, X, theta = ar1_data
    est = NeuralBayesEstimator(
        summary_network="rnn", summary_network_kwargs=TINY["rnn"], **SMALL
    ).fit(X, theta)
    est.save(tmp_path / "rnn.skm")
    loaded = skamortise.load(tmp_path / "rnn.skm")
    assert loaded.summary_network == "rnn"
    # Weights and the length scale (a buffer) are restored exactly.
    np.testing.assert_array_equal(loaded.predict(X), est.predict(X))


# -- the AR(1) model -------------------------------------------------------------------
@pytest.mark.parametrize("n_times", [1, 2, 5, 30])
def test_ar1_likelihood_is_the_stationary_gaussian_density(n_times):
    # Against the joint normal density with covariance phi^|i-j| / (1 - phi^2).
    model = AR1(sigma=0.7)
    phi = np.array([[0.5], [-0.8], [0.93]])
    X = model.simulator(phi, np.random.default_rng(n_times), n_times=n_times)
    reference = [
        stats.multivariate_normal(
            np.zeros(n_times),
            0.49 * linalg.toeplitz(p ** np.arange(n_times)) / (1 - p**2),
        ).logpdf(x)
        for x, p in zip(X, phi[:, 0], strict=True)
    ]
    np.testing.assert_allclose(model.log_likelihood(X, phi), reference, rtol=1e-12)


def test_ar1_simulator_is_stationary():
    # Var(x_t) = sigma^2 / (1 - phi^2) at the first and last step; the sample
    # variance of 20,000 normal draws has a relative s.e. of 1%, so 5% is 5 s.e.
    model = AR1(sigma=2.0)
    phi = np.full((20_000, 1), 0.8)
    X = model.simulator(phi, np.random.default_rng(0), n_times=60)
    target = 4.0 / (1 - 0.64)
    np.testing.assert_allclose(X[:, [0, -1]].var(axis=0), target, rtol=0.05)
    lag1 = np.mean(X[:, -1] * X[:, -2]) / target
    assert abs(lag1 - 0.8) < 0.05


def test_ar1_simulator_lengths():
    model = AR1(n_times=7)
    rng = np.random.default_rng(0)
    assert model.simulator(model.prior(3, rng), rng).shape == (3, 7)
    ragged = model.simulator(model.prior(300, rng), rng, n_times=[5, 9])
    assert {len(x) for x in ragged} == {5, 9}
    for bad in (0, [3, 0], 2.5, []):
        with pytest.raises(ValueError, match="n_times"):
            model.simulator(model.prior(2, rng), rng, n_times=bad)
    with pytest.raises(ValueError, match="phi_range"):
        AR1(phi_range=(-1.0, 0.5))


def test_ar1_grid_posterior_matches_quadrature():
    # An independent computation: adaptive quadrature of the joint normal density,
    # for a short series, where the posterior is wide and skewed by the bounds.
    model = AR1()
    x = model.simulator(np.array([[0.9]]), np.random.default_rng(5), n_times=6)
    _, density = model.posterior_density(x)
    _, width = model.grid()
    assert density.sum() * width == pytest.approx(1.0, rel=1e-12)

    def likelihood(p):
        cov = linalg.toeplitz(p ** np.arange(6)) / (1 - p**2)
        return stats.multivariate_normal(np.zeros(6), cov).pdf(x[0])

    evidence = integrate.quad(likelihood, -0.95, 0.95)[0]
    mean = integrate.quad(lambda p: p * likelihood(p), -0.95, 0.95)[0] / evidence
    assert model.posterior_mean(x)[0, 0] == pytest.approx(mean, abs=1e-6)
    median = model.posterior_quantile(x, 0.5)[0, 0, 0]
    below = integrate.quad(likelihood, -0.95, median)[0] / evidence
    assert below == pytest.approx(0.5, abs=1e-5)


def test_ar1_posterior_of_a_long_series_concentrates_at_least_squares():
    # Asymptotically the posterior is normal around the least-squares estimate with
    # sd sqrt((1 - phi^2) / T); they differ by O(1/T), far below the sd.
    model = AR1()
    n = 20_000
    x = model.simulator(np.array([[0.5]]), np.random.default_rng(0), n_times=n)
    ls = x[0, 1:] @ x[0, :-1] / (x[0, :-1] @ x[0, :-1])
    sd = np.sqrt((1 - ls**2) / n)
    assert abs(model.posterior_mean(x)[0, 0] - ls) < 0.05 * sd
    q = model.posterior_quantile(x, stats.norm.cdf([-1.0, 1.0]))[0, 0]
    assert (q[1] - q[0]) / 2 == pytest.approx(sd, rel=0.02)


def test_ar1_posterior_samples_follow_the_quantiles():
    model = AR1()
    x = model.simulator(np.array([[-0.3], [0.9]]), np.random.default_rng(1), n_times=40)
    draws = model.posterior_sample(x, 4000, np.random.default_rng(2))
    assert draws.shape == (2, 4000, 1)
    levels = np.array([0.1, 0.5, 0.9])
    q = model.posterior_quantile(x, levels)
    # The fraction of draws below a quantile is binomial: s.e. <= 0.008.
    below = (draws[:, :, 0, None] < q[:, 0, None, :]).mean(axis=1)
    np.testing.assert_allclose(below, np.broadcast_to(levels, (2, 3)), atol=0.03)


def test_ar1_posterior_takes_ragged_series():
    model = AR1()
    arrays = model.simulator(model.prior(5, 0), np.random.default_rng(0), [10, 80])
    means = model.posterior_mean(arrays)
    alone = np.concatenate([model.posterior_mean([a]) for a in arrays])
    np.testing.assert_allclose(means, alone, rtol=1e-12)
    with pytest.raises(ValueError, match="one channel"):
        model.posterior_mean(np.zeros((2, 10, 2)))
