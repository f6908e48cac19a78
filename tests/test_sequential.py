"""Sequential, truncated inference for one observed data set (``fit_sequential``)."""

import pickle
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone

import skamortise
from skamortise import NeuralPosteriorEstimator, NeuralRatioEstimator
from skamortise.diagnostics import sbc, truncated_sbc
from skamortise.sequential import FocusWarning, TruncatedPrior, TruncationWarning
from skamortise.sequential._rounds import MIN_PATIENCE

# Model: theta ~ N(0, PRIOR_SD^2 I_2), x = theta + NOISE_SD * noise; the posterior is
# N(x * w, w * NOISE_SD^2 I) with w = PRIOR_SD^2 / (PRIOR_SD^2 + NOISE_SD^2).
PRIOR_SD, NOISE_SD = 3.0, 0.1
SHRINK = PRIOR_SD**2 / (PRIOR_SD**2 + NOISE_SD**2)
POST_SD = np.sqrt(SHRINK) * NOISE_SD
PRIOR = stats.multivariate_normal(np.zeros(2), PRIOR_SD**2 * np.eye(2))
X_OBS = np.array([[2.0, -1.0]])


def simulator(theta, rng):
    return theta + NOISE_SD * rng.standard_normal(theta.shape)


def prior_without_density(n, rng):
    return PRIOR_SD * rng.standard_normal((n, 2))


def small_npe(**kwargs):
    options = dict(
        hidden_layer_sizes=(16,), max_epochs=30, n_iter_no_change=5, random_state=0
    )
    options.update(kwargs)
    return NeuralPosteriorEstimator("gaussian", **options)


@pytest.fixture(scope="module")
def focused():
    est = small_npe(max_epochs=60)
    return est.fit_sequential(
        PRIOR, simulator, X_OBS, n_simulations=600, n_rounds=3, random_state=1
    )


# -- the truncated prior ------------------------------------------------------------
class BoxUniform:
    """Uniform on [0, 1]^2, with a density."""

    def __call__(self, n, rng):
        return rng.random((n, 2))

    def log_prob(self, theta):
        inside = ((theta >= 0) & (theta <= 1)).all(axis=1)
        return np.where(inside, 0.0, -np.inf)


def centre_distance(theta):
    """Region ``-max|theta - 0.5| >= -0.2``: the box [0.3, 0.7]^2."""
    return -np.abs(np.asarray(theta) - 0.5).max(axis=1)


@pytest.mark.parametrize("method", ["rejection", "importance"])
def test_truncated_uniform_is_uniform_on_the_box(method):
    rng = np.random.default_rng(0)
    inner = 0.3 + 0.4 * rng.random((5000, 2))  # posterior draws filling the box
    truncated = TruncatedPrior(
        BoxUniform(), centre_distance, -0.2, inner, 0.16, method=method
    )
    draws = truncated(20_000, np.random.default_rng(1))
    assert draws.shape == (20_000, 2)
    assert (draws >= 0.3).all() and (draws <= 0.7).all()
    # Uniform on [0.3, 0.7]: quarter-width cells hold 1/4 each, marginally.
    cells = np.floor((draws - 0.3) / 0.1).clip(0, 3).astype(int)
    share = np.stack([np.bincount(cells[:, j], minlength=4) for j in range(2)]) / len(
        draws
    )
    se = np.sqrt(0.25 * 0.75 / len(draws))
    # Rejection is exact (5 standard errors); importance resampling from a Gaussian
    # with 32 candidates per draw is approximate.
    tolerance = 5 * se if method == "rejection" else 0.03
    np.testing.assert_allclose(share, 0.25, atol=tolerance)


class Triangular(BoxUniform):
    """Density 2 * theta_0 on [0, 1]^2."""

    def __call__(self, n, rng):
        return np.column_stack([np.sqrt(rng.random(n)), rng.random(n)])

    def log_prob(self, theta):
        with np.errstate(divide="ignore"):
            return super().log_prob(theta) + np.log(2 * np.asarray(theta)[:, 0])


@pytest.mark.parametrize("method", ["rejection", "importance"])
def test_truncated_prior_keeps_the_prior_shape_inside(method):
    # theta_0 on [0.3, 0.7] with density proportional to theta_0: mean 0.5267.
    inner = 0.3 + 0.4 * np.random.default_rng(0).random((5000, 2))
    truncated = TruncatedPrior(
        Triangular(), centre_distance, -0.2, inner, 0.32, method=method
    )
    draws = truncated(20_000, np.random.default_rng(1))
    exact = (0.7**3 - 0.3**3) / 3 / ((0.7**2 - 0.3**2) / 2)
    # 5 standard errors (0.0008) for rejection; importance resampling is
    # approximate, yet far closer than the uniform's 0.5.
    tolerance = 0.004 if method == "rejection" else 0.01
    assert abs(draws[:, 0].mean() - exact) < tolerance


def test_truncated_prior_draws_are_reproducible_and_chunk_free():
    truncated = TruncatedPrior(
        BoxUniform(), centre_distance, -0.2, np.full((10, 2), 0.5), 0.16
    )
    a = truncated(500, np.random.default_rng(3))
    b = truncated(500, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)


def test_truncated_log_prob_is_prior_over_region_mass():
    truncated = TruncatedPrior(
        BoxUniform(), centre_distance, -0.2, np.full((10, 2), 0.5), 0.16
    )
    values = truncated.log_prob(np.array([[0.5, 0.5], [0.1, 0.5], [0.65, 0.31]]))
    np.testing.assert_allclose(values[[0, 2]], -np.log(0.16), rtol=1e-12)
    assert values[1] == -np.inf


def test_tiny_region_switches_to_importance_with_a_warning(focused):
    # Prior 100x wider than the focused posterior's region: acceptance ~1e-4.
    wide = stats.multivariate_normal(np.zeros(2), 300.0**2 * np.eye(2))
    with pytest.warns(TruncationWarning, match="importance resampling"):
        truncated = TruncatedPrior.from_estimator(focused, wide, X_OBS, random_state=0)
    assert truncated.method == "importance"
    draws = truncated(2000, np.random.default_rng(0))
    assert truncated.contains(draws).all()


def test_tiny_region_without_prior_density_is_an_error(focused):
    def wide(n, rng):
        return 300.0 * rng.standard_normal((n, 2))

    with pytest.raises(ValueError, match="log_prob or logpdf"):
        TruncatedPrior.from_estimator(focused, wide, X_OBS, random_state=0)


# -- fit_sequential -----------------------------------------------------------------
def test_focused_posterior_matches_the_exact_posterior(focused):
    draws = focused.sample(X_OBS, 4000, random_state=0)[0]
    # The tiny network's error, not Monte Carlo error, dominates: a mean off by up
    # to 0.55 posterior standard deviations and a spread off by 10% were measured
    # over training settings (amortised training on the same budget gives a
    # spread 3 to 8 times too wide).
    np.testing.assert_allclose(
        draws.mean(axis=0), SHRINK * X_OBS[0], atol=0.75 * POST_SD
    )
    np.testing.assert_allclose(draws.std(axis=0), POST_SD, rtol=0.25)
    np.testing.assert_array_equal(focused.round_sizes_, [200, 200, 200])
    assert focused.acceptance_rates_[0] == 1.0
    # The posterior's region is a small part of the prior.
    assert 0 < focused.acceptance_rates_[-1] < 0.05


def test_sequential_beats_amortised_training_at_the_same_budget(focused):
    X, y = skamortise.simulate(PRIOR, simulator, 600, random_state=1)
    amortised = small_npe(max_epochs=60).fit(X, y)

    def error(est):
        draws = est.sample(X_OBS, 4000, random_state=0)[0]
        return (
            np.abs(draws.mean(axis=0) - SHRINK * X_OBS[0]).max()
            + np.abs(np.log(draws.std(axis=0) / POST_SD)).max() * POST_SD
        )

    assert error(focused) < error(amortised)


def test_later_rounds_simulate_inside_the_region():
    seen = []

    def recording(theta, rng):
        seen.append(theta.copy())
        return simulator(theta, rng)

    est = small_npe(max_epochs=60).fit_sequential(
        PRIOR, recording, X_OBS, n_simulations=600, n_rounds=3, random_state=1
    )
    assert [len(t) for t in seen] == [200, 200, 200]
    # The last round's draws lie in its region, a small part of the prior, near
    # the posterior; the first round's are spread over the prior.
    assert est.acceptance_rates_[2] < 0.05
    distance = [np.median(np.abs(t - SHRINK * X_OBS).max(axis=1)) for t in seen]
    assert distance[2] < 0.2 * distance[0]


def auto_npe(**kwargs):
    """The default flow ("auto"), small."""
    options = dict(
        hidden_layer_sizes=(16,),
        distribution_kwargs={"hidden_features": 16},
        max_epochs=60,
        learning_rate=3e-3,
        random_state=0,
    )
    options.update(kwargs)
    return NeuralPosteriorEstimator(**options)


@pytest.mark.slow  # two rounds and a region of 100,000 posterior draws (about 10 s)
def test_auto_flow_of_a_sequential_fit_focuses_the_region():
    # Posterior sd 0.1 under a prior of sd 3: after one round of 200 simulations
    # the region of the masked autoregressive flow held 2-14% of the prior (three
    # seeds); the spline flow's, which keeps a floor of mass over the whole
    # prior range, 64-75%.
    est = auto_npe().fit_sequential(
        PRIOR, simulator, X_OBS, n_simulations=400, n_rounds=2, random_state=1
    )
    assert est.acceptance_rates_[1] < 0.4
    assert (est.distribution, est.distribution_) == ("auto", "maf")


def test_auto_flow_is_kept_on_load_and_dropped_by_an_ordinary_fit(tmp_path):
    est = auto_npe(max_epochs=2).fit_sequential(
        PRIOR, simulator, X_OBS, n_simulations=40, n_rounds=2, random_state=1
    )
    assert est.distribution_ == "maf"
    loaded = _saved_and_loaded(est, tmp_path / "auto.skm")
    assert loaded.distribution_ == "maf"
    np.testing.assert_array_equal(
        loaded.sample(X_OBS, 30, random_state=0),
        est.sample(X_OBS, 30, random_state=0),
    )
    X, y = skamortise.simulate(PRIOR, simulator, 40, random_state=0)
    assert est.fit(X, y).distribution_ == "spline"  # amortised again: the usual flow


def test_rounds_train_with_at_least_the_sequential_patience():
    est = small_npe(max_epochs=500, n_iter_no_change=2, learning_rate=3e-3)
    est.fit_sequential(
        PRIOR, simulator, X_OBS, n_simulations=80, n_rounds=2, random_state=1
    )
    # The last round stopped when MIN_PATIENCE epochs had passed its best, not 2.
    assert est.n_epochs_ - est.best_epoch_ == MIN_PATIENCE + 1
    assert est.n_iter_no_change == 2
    assert not est.warm_start


@pytest.mark.slow  # starts worker processes
def test_same_result_for_any_n_jobs():
    def run(n_jobs):
        est = small_npe(max_epochs=3)
        est.fit_sequential(
            PRIOR,
            simulator,
            X_OBS,
            n_simulations=120,
            n_rounds=2,
            random_state=0,
            n_jobs=n_jobs,
        )
        return est.sample(X_OBS, 50, random_state=0)

    # The same float64 operations in one process or in two: bit-identical.
    np.testing.assert_array_equal(run(1), run(2))


def test_random_state_of_fit_sequential_seeds_the_simulations():
    def run(random_state):
        est = small_npe(max_epochs=3)
        est.fit_sequential(
            PRIOR, simulator, X_OBS, n_simulations=80, n_rounds=2,
            random_state=random_state,
        )  # fmt: skip
        return est.sample(X_OBS, 20, random_state=0)

    np.testing.assert_array_equal(run(5), run(5))
    assert not np.array_equal(run(5), run(6))


def test_focus_warning_on_other_data_only(focused):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        focused.sample(X_OBS, 5, random_state=0)
        focused.log_prob(X_OBS, X_OBS)
    with pytest.warns(FocusWarning, match="fitted sequentially"):
        focused.predict(X_OBS + 0.5)
    with pytest.warns(FocusWarning):
        focused.sample(np.vstack([X_OBS, X_OBS + 1]), 5)


def test_an_ordinary_fit_drops_the_focus(focused):
    est = pickle.loads(pickle.dumps(focused))
    X, y = skamortise.simulate(PRIOR, simulator, 100, random_state=0)
    est.set_params(max_epochs=2).fit(X, y)
    assert not hasattr(est, "focus_")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        est.predict(X_OBS + 0.5)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"n_rounds": 0}, "n_rounds must be a positive int"),
        ({"n_rounds": 2.5}, "n_rounds must be a positive int"),
        ({"n_simulations": -1}, "n_simulations must be a positive int"),
        ({"n_simulations": 5, "n_rounds": 3}, "at least 2 per round"),
        ({"X_observed": np.zeros((2, 2))}, "X_observed must be one data set"),
        ({"X_observed": np.zeros(3)}, "X_observed must be one data set"),
        ({"X_observed": [[np.nan, 0.0]]}, "NaN"),
        ({"X_observed": None}, "X_observed must be one observed data set"),
    ],
)
def test_bad_arguments(kwargs, match):
    arguments = {
        "prior": PRIOR,
        "simulator": simulator,
        "X_observed": X_OBS,
        "n_simulations": 40,
        "n_rounds": 2,
    }
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=match):
        small_npe(max_epochs=1).fit_sequential(**arguments)


def test_clone_pickle_and_save_load(focused, tmp_path):
    fresh = clone(focused)
    assert not hasattr(fresh, "focus_")
    assert fresh.get_params() == focused.get_params()
    expected = focused.sample(X_OBS, 30, random_state=0)
    for copy in (
        pickle.loads(pickle.dumps(focused)),
        _saved_and_loaded(focused, tmp_path / "focused.skm"),
    ):
        np.testing.assert_array_equal(copy.focus_, focused.focus_)
        np.testing.assert_array_equal(copy.round_sizes_, focused.round_sizes_)
        np.testing.assert_array_equal(copy.sample(X_OBS, 30, random_state=0), expected)
        with pytest.warns(FocusWarning):
            copy.predict(X_OBS + 1)


def _saved_and_loaded(est, path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every fitted attribute is plain data
        est.save(path)
    return skamortise.load(path)


# -- ratio estimator ----------------------------------------------------------------
def unit_noise(theta, rng):
    return theta + rng.standard_normal(theta.shape)


@pytest.mark.slow  # the ratio's default training (about 20 s)
def test_ratio_rounds_sample_inside_the_last_region():
    # Unit noise: the ratio learns a posterior 3 times narrower than the prior.
    shrink = PRIOR_SD**2 / (PRIOR_SD**2 + 1)
    est = NeuralRatioEstimator(hidden_layer_sizes=(32, 32), random_state=0)
    est.fit_sequential(PRIOR, unit_noise, X_OBS, n_simulations=600, n_rounds=2)
    assert isinstance(est.proposal_, TruncatedPrior)
    assert est.acceptance_rates_[0] == 1 and 0 < est.acceptance_rates_[1] < 1
    draws = est.sample(X_OBS, 2000, random_state=0, method="importance")[0]
    assert est.proposal_.contains(draws).all()
    # Network error dominates: half a posterior standard deviation, 30% spread.
    np.testing.assert_allclose(
        draws.mean(axis=0), shrink * X_OBS[0], atol=0.5 * np.sqrt(shrink)
    )
    np.testing.assert_allclose(draws.std(axis=0), np.sqrt(shrink), rtol=0.3)
    with pytest.warns(FocusWarning):
        est.log_ratio(X_OBS + 1, X_OBS)


def test_ratio_rounds_need_a_prior_density():
    est = NeuralRatioEstimator(max_epochs=1)
    with pytest.raises(ValueError, match="needs the prior's density"):
        est.fit_sequential(prior_without_density, simulator, X_OBS, n_simulations=40)


# -- truncated SBC ------------------------------------------------------------------
class ExactFocused:
    """The exact posterior of the Gaussian model; ``scale`` narrows or widens it."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def sample(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        z = rng.standard_normal((len(X), n_samples, 2))
        return SHRINK * X[:, None, :] + self.scale * POST_SD * z

    def log_prob(self, X, theta):
        X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        z = (np.asarray(theta) - SHRINK * X) / (self.scale * POST_SD)
        return -0.5 * (z**2).sum(axis=1)


@pytest.mark.parametrize("scale, calibrated", [(1.0, True), (0.6, False), (1.6, False)])
def test_truncated_sbc_accepts_the_exact_posterior_only(scale, calibrated):
    result = truncated_sbc(
        ExactFocused(scale), PRIOR, simulator, X_OBS, n_simulations=1000, random_state=0
    )
    p_values = result.uniformity_test()["ks_pvalue"].to_numpy()
    if calibrated:
        assert (p_values > 1e-3).all()
    else:
        assert (p_values < 1e-6).all()


def test_truncated_sbc_draws_from_the_focus_region(focused):
    # The estimator's own focus is the default observation.
    result = truncated_sbc(focused, PRIOR, simulator, n_simulations=200, random_state=0)
    assert result.ranks.shape == (200, 2)
    with pytest.raises(ValueError, match="no focus_"):
        truncated_sbc(ExactFocused(), PRIOR, simulator, n_simulations=10)


class LocallyExact(ExactFocused):
    """Exact for data near the focus, four times too narrow far from it."""

    def sample(self, X, n_samples, random_state=None):
        X = np.asarray(X, dtype=np.float64).reshape(-1, 2)
        draws = super().sample(X, n_samples, random_state)
        far = np.abs(X - X_OBS).max(axis=1) > 1.5
        mean = SHRINK * X[:, None, :]
        draws[far] = mean[far] + 0.25 * (draws[far] - mean[far])
        return draws


def test_truncated_sbc_tests_only_near_the_focus():
    # Plain SBC sees the far-away miscalibration; the truncated one does not.
    local = LocallyExact()
    plain = sbc(local, PRIOR, simulator, n_simulations=1000, random_state=0)
    assert (plain.uniformity_test()["ks_pvalue"].to_numpy() < 1e-6).all()
    focused = truncated_sbc(
        local, PRIOR, simulator, X_OBS, n_simulations=1000, random_state=0
    )
    assert (focused.uniformity_test()["ks_pvalue"].to_numpy() > 1e-3).all()
