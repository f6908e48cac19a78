"""Tests of skamortise.diagnostics on a conjugate model with a known posterior.

Model: x_j ~ N(mu, 1) for j = 1..m, mu ~ N(0, 1). The posterior is
N(m * xbar / (m + 1), 1 / (m + 1)), so the Bayes risk of the posterior mean under
squared loss is 1 / (m + 1). Hand-made posterior objects stand in for estimators:
the diagnostics only use their methods. The tests with two parameters use the exact
posterior of skamortise.models.GaussianReplicates (tests/_posteriors.py).
"""

import numpy as np
import pandas as pd
import pytest
from _posteriors import (
    ExactIntervals,
    ExactPosterior,
    ExactQuantiles,
    posterior_variance,
)
from scipy import stats

from skamortise.diagnostics import (
    Assessment,
    SBCResult,
    assess,
    c2st,
    c2st_per_dataset,
    coverage,
    sbc,
    sbc_ranks,
)
from skamortise.models import GaussianReplicates

M = 4  # replicates per data set


def prior(n, rng):
    return rng.standard_normal((n, 1))


def simulator(theta, rng, n_replicates=M):
    return theta[:, None, :] + rng.standard_normal((len(theta), n_replicates, 1))


def _posterior(X):
    """Exact posterior mean and variance, each (n, 1), for 3-D or ragged data."""
    sums = np.array([np.sum(x) for x in X], dtype=float)[:, None]
    counts = np.array([len(x) for x in X], dtype=float)[:, None]
    return sums / (counts + 1), 1 / (counts + 1)


class GaussianPosterior:
    """The exact posterior with its variance multiplied by ``scale``."""

    def __init__(self, scale=1.0):
        self.scale = scale

    def predict(self, X):
        return _posterior(X)[0]

    def sample(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        mean, var = _posterior(X)
        z = rng.standard_normal((len(mean), n_samples, 1))
        return mean[:, None, :] + np.sqrt(self.scale * var)[:, None, :] * z


class IntervalPosterior(GaussianPosterior):
    """Adds exact central intervals from the normal quantile function."""

    def predict_interval(self, X, alpha=0.05):
        mean, var = _posterior(X)
        half = stats.norm.ppf(1 - alpha / 2) * np.sqrt(self.scale * var)
        return np.stack([mean - half, mean + half], axis=-1)


class QuantilePosterior:
    """A quantile estimator: ``predict_quantiles`` and ``quantiles_``, no ``sample``."""

    quantiles_ = np.array([0.05, 0.25, 0.5, 0.75, 0.95])

    def __init__(self, scale=1.0):
        self.scale = scale

    def predict_quantiles(self, X):
        mean, var = _posterior(X)
        z = stats.norm.ppf(self.quantiles_)
        return mean[:, :, None] + np.sqrt(self.scale * var)[:, :, None] * z


class SampleOnly:
    def __init__(self):
        self._posterior = GaussianPosterior()

    def sample(self, X, n_samples, random_state=None):
        return self._posterior.sample(X, n_samples, random_state)


@pytest.fixture(scope="module")
def test_set():
    rng = np.random.default_rng(2024)
    theta = prior(4000, rng)
    return simulator(theta, rng), theta


# --- SBC ---------------------------------------------------------------------


def _sbc(scale, seed=0):
    return sbc(
        GaussianPosterior(scale),
        prior,
        simulator,
        n_simulations=1000,
        n_posterior_samples=100,
        random_state=seed,
    )


def test_sbc_accepts_exact_posterior():
    table = _sbc(1.0).uniformity_test()
    assert table["ks_pvalue"].iloc[0] > 0.01
    assert table["chi2_pvalue"].iloc[0] > 0.01


@pytest.mark.parametrize("scale", [0.5, 2.0], ids=["overconfident", "underconfident"])
def test_sbc_rejects_miscalibrated_posterior(scale):
    table = _sbc(scale).uniformity_test()
    assert table["ks_pvalue"].iloc[0] < 0.01
    assert table["chi2_pvalue"].iloc[0] < 0.01


def test_sbc_ranks_layout():
    result = _sbc(1.0)
    assert result.ranks.shape == (1000, 1)
    assert result.ranks.dtype == np.int64
    assert result.ranks.min() >= 0 and result.ranks.max() <= 100
    u = result.fractional_ranks()
    assert ((u > 0) & (u < 1)).all()


def test_sbc_is_reproducible():
    np.testing.assert_array_equal(_sbc(1.0, seed=3).ranks, _sbc(1.0, seed=3).ranks)


def test_sbc_accepts_scipy_prior_and_ragged_data():
    result = sbc(
        GaussianPosterior(),
        stats.norm(),
        simulator,
        n_simulations=300,
        n_posterior_samples=50,
        n_replicates=[2, 5, 9],
        random_state=1,
    )
    assert result.ranks.shape == (300, 1)
    assert result.uniformity_test()["ks_pvalue"].iloc[0] > 0.01


def test_sbc_ranks_breaks_ties_at_random():
    # Uninformative data: the posterior equals the discrete uniform prior on 0..4, so
    # truths tie with many draws; ranks must stay uniform all the same.
    class DiscretePosterior:
        def sample(self, X, n_samples, random_state=None):
            rng = np.random.default_rng(random_state)
            return rng.integers(0, 5, size=(len(X), n_samples, 1)).astype(float)

    rng = np.random.default_rng(5)
    theta = rng.integers(0, 5, size=(1000, 1)).astype(float)
    result = sbc_ranks(
        DiscretePosterior(), np.zeros((1000, 1)), theta, 20, random_state=0
    )
    assert result.uniformity_test()["ks_pvalue"].iloc[0] > 0.01


def test_sbc_expected_coverage_nominal_for_exact_posterior():
    table = _sbc(1.0).expected_coverage([0.5, 0.8, 0.9, 0.95])
    assert list(table.columns) == ["parameter", "level", "coverage", "se", "n"]
    assert (np.abs(table["coverage"] - table["level"]) < 3 * table["se"]).all()


def test_sbc_expected_coverage_low_for_overconfident_posterior():
    table = _sbc(0.5).expected_coverage([0.5, 0.9])
    assert (table["coverage"] < table["level"] - 3 * table["se"]).all()


def test_rank_counts_partition_the_ranks():
    result = _sbc(1.0)
    counts, edges = result.rank_counts(n_bins=7)
    assert counts.shape == (7, 1) and counts.sum() == 1000
    assert edges[0] == 0 and edges[-1] == 101
    assert np.ptp(np.diff(edges)) <= 1


def test_sbc_quantile_estimator_calibrated(test_set):
    X, theta = test_set
    result = sbc_ranks(QuantilePosterior(), X[:2000], theta[:2000], random_state=0)
    assert result.is_quantile and result.ranks is None
    assert result.uniformity_test()["chi2_pvalue"].iloc[0] > 0.01
    table = result.quantile_calibration()
    assert np.allclose(table["level"], QuantilePosterior.quantiles_)
    assert (np.abs(table["coverage"] - table["level"]) < 3 * table["se"]).all()
    levels = result.expected_coverage()["level"]
    np.testing.assert_allclose(sorted(levels), [0.5, 0.9])


def test_sbc_quantile_estimator_overconfident_rejected(test_set):
    X, theta = test_set
    result = sbc_ranks(QuantilePosterior(0.5), X[:2000], theta[:2000])
    assert result.uniformity_test()["chi2_pvalue"].iloc[0] < 0.01


def test_sbc_needs_draws_or_quantiles():
    with pytest.raises(TypeError, match="sample"):
        sbc_ranks(object(), np.zeros((3, 1)), np.zeros((3, 1)))


def test_sbc_result_from_ranks():
    ranks = np.random.default_rng(0).integers(0, 100, size=(500, 2))
    result = SBCResult(ranks, n_posterior_samples=99, parameter_names=["a", "b"])
    table = result.uniformity_test(n_bins=10)
    assert list(table["parameter"]) == ["a", "b"]
    assert (table["n_bins"] == 10).all()


# --- coverage -----------------------------------------------------------------


@pytest.mark.parametrize(
    "estimator", [IntervalPosterior(), SampleOnly()], ids=["predict_interval", "sample"]
)
def test_coverage_nominal_for_exact_intervals(test_set, estimator):
    X, theta = test_set
    table = coverage(estimator, X, theta, n_samples=400, random_state=1)
    assert list(table["level"]) == [0.5, 0.8, 0.9, 0.95]
    assert (np.abs(table["coverage"] - table["level"]) < 3 * table["se"]).all()
    level = table["level"]
    np.testing.assert_allclose(table["se"], np.sqrt(level * (1 - level) / 4000))


def test_coverage_from_quantile_levels(test_set):
    X, theta = test_set
    table = coverage(QuantilePosterior(), X, theta, levels=[0.5, 0.9])
    assert (np.abs(table["coverage"] - table["level"]) < 3 * table["se"]).all()


def test_coverage_low_for_overconfident_intervals(test_set):
    X, theta = test_set
    table = coverage(IntervalPosterior(0.5), X, theta)
    assert (table["coverage"] < table["level"] - 3 * table["se"]).all()


def test_coverage_rejects_bad_levels(test_set):
    X, theta = test_set
    with pytest.raises(ValueError, match="levels"):
        coverage(IntervalPosterior(), X, theta, levels=[0.5, 1.0])


# --- assess -------------------------------------------------------------------


def test_assess_risk_matches_bayes_risk(test_set):
    X, theta = test_set
    result = assess(IntervalPosterior(), X, theta, parameter_names=["mu"])
    risk = result.risk()
    assert abs(risk["risk"].iloc[0] - 1 / (M + 1)) < 3 * risk["risk_se"].iloc[0]
    # Absolute loss of the posterior mean: E|N(0, v)| = sqrt(2 v / pi).
    absolute = result.risk(loss="absolute")
    expected = np.sqrt(2 / (np.pi * (M + 1)))
    assert abs(absolute["risk"].iloc[0] - expected) < 3 * absolute["risk_se"].iloc[0]


def test_assess_table_layout(test_set):
    X, theta = test_set
    result = assess(IntervalPosterior(), X[:10], theta[:10])
    table = result.estimates
    assert list(table.columns) == [
        "estimator",
        "dataset",
        "parameter",
        "truth",
        "estimate",
        "lower",
        "upper",
        "n_replicates",
        "posterior_mean",
        "posterior_sd",
    ]
    assert len(table) == 10
    assert (table["estimator"] == "IntervalPosterior").all()
    assert (table["parameter"] == "theta_0").all()
    assert (table["n_replicates"] == M).all()
    assert (table["lower"] < table["estimate"]).all()


def test_assess_without_replicates_and_with_one_dimensional_y():
    class Shrink:
        def predict(self, X):
            return np.asarray(X)[:, 0] / 2

    rng = np.random.default_rng(0)
    mu = rng.standard_normal(500)
    result = assess(Shrink(), mu[:, None] + rng.standard_normal((500, 1)), mu)
    table = result.estimates
    assert table["n_replicates"].isna().all()
    assert table["lower"].isna().all()
    assert np.isnan(result.coverage()["coverage"].iloc[0])
    assert abs(result.risk()["risk"].iloc[0] - 0.5) < 0.1


def test_assess_sample_only_uses_posterior_mean(test_set):
    X, theta = test_set
    result = assess(SampleOnly(), X[:200], theta[:200], n_samples=2000, random_state=0)
    exact = _posterior(X[:200])[0].ravel()
    np.testing.assert_allclose(result.estimates["estimate"], exact, atol=0.05)
    assert result.estimates["upper"].gt(result.estimates["lower"]).all()


def test_assess_side_by_side_and_by_replicates():
    rng = np.random.default_rng(3)
    theta = prior(600, rng)
    counts = np.repeat([2, 8], 300)
    X = [
        simulator(theta[i : i + 1], rng, n_replicates=m)[0]
        for i, m in enumerate(counts)
    ]
    estimators = {"exact": IntervalPosterior(), "wide": IntervalPosterior(4.0)}
    result = assess(estimators, X, pd.DataFrame(theta, columns=["mu"]), random_state=0)
    assert set(result.estimates["n_replicates"]) == {2.0, 8.0}
    cov = result.coverage()
    assert list(cov["estimator"]) == ["exact", "wide"]
    assert cov.set_index("estimator").loc["wide", "coverage"] > 0.99
    by = result.rmse(by_replicates=True)
    assert list(by["n_replicates"]) == [2.0, 8.0, 2.0, 8.0]
    exact = by[by["estimator"] == "exact"]["rmse"].to_numpy()
    assert exact[1] < exact[0]  # more replicates, smaller error
    summary = result.summary()
    assert {"risk", "bias", "rmse", "coverage", "width", "interval_score"} <= set(
        summary.columns
    )


def test_interval_score_and_width_on_hand_table():
    table = pd.DataFrame(
        {
            "estimator": "e",
            "dataset": [0, 1, 2],
            "parameter": "p",
            "truth": [0.0, 3.0, -2.0],
            "estimate": 0.0,
            "lower": [-1.0, -1.0, -1.0],
            "upper": [1.0, 1.0, 1.0],
            "n_replicates": np.nan,
        }
    )
    result = Assessment(table, alpha=0.1)
    # widths 2; misses by 2 (above) and 1 (below) cost 2 / 0.1 per unit.
    expected = np.mean([2, 2 + 20 * 2, 2 + 20 * 1])
    assert result.interval_score()["interval_score"].iloc[0] == pytest.approx(expected)
    assert result.width()["width"].iloc[0] == pytest.approx(2.0)
    assert result.coverage()["coverage"].iloc[0] == pytest.approx(1 / 3)


def test_risk_with_callable_losses(test_set):
    X, theta = test_set
    result = assess(GaussianPosterior(), X[:100], theta[:100], random_state=0)
    squared = result.risk()["risk"].iloc[0]
    elementwise = result.risk(loss=lambda t, e: (t - e) ** 2)
    assert elementwise["risk"].iloc[0] == pytest.approx(squared)
    scalar = result.risk(loss=lambda t, e: float(np.mean((t - e) ** 2)))
    assert scalar["risk"].iloc[0] == pytest.approx(squared)
    assert np.isnan(scalar["risk_se"].iloc[0])
    with pytest.raises(ValueError, match="loss"):
        result.risk(loss="pinball")


def test_assess_checks_lengths(test_set):
    X, theta = test_set
    with pytest.raises(ValueError, match="data sets"):
        assess(GaussianPosterior(), X[:5], theta[:6])


# --- C2ST ---------------------------------------------------------------------


def test_c2st_same_distribution_near_chance():
    rng = np.random.default_rng(0)
    accuracy = c2st(
        rng.standard_normal((1000, 2)), rng.standard_normal((1000, 2)), random_state=0
    )
    assert abs(accuracy - 0.5) < 0.05


def test_c2st_shifted_distributions_detected():
    rng = np.random.default_rng(1)
    accuracy = c2st(
        rng.standard_normal((1000, 2)),
        rng.standard_normal((1000, 2)) + 1.0,
        random_state=0,
    )
    assert accuracy > 0.6


def test_c2st_per_dataset_shape_and_seeding():
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 200, 1))
    b = rng.standard_normal((3, 200, 1)) + np.array([0.0, 0.0, 5.0])[:, None, None]
    first = c2st_per_dataset(a, b, classifier="rf", random_state=0)
    second = c2st_per_dataset(a, b, classifier="rf", random_state=0)
    assert first.shape == (3,)
    np.testing.assert_array_equal(first, second)
    assert first[2] > 0.95


def test_c2st_rejects_mismatched_dimensions():
    with pytest.raises(ValueError, match="dimensions"):
        c2st(np.zeros((10, 2)), np.zeros((10, 3)))


# --- two parameters whose posteriors differ -------------------------------------
# GaussianReplicates: (mu, sigma) with exact posteriors of different location and
# scale, so a diagnostic that swaps or mixes the parameters fails these checks.


@pytest.fixture(scope="module")
def nig():
    model = GaussianReplicates()
    rng = np.random.default_rng(7)
    theta = model.prior(2000, rng)
    return model, model.simulator(theta, rng, n_replicates=10), theta


def test_sbc_ranks_count_each_parameters_own_draws():
    # Hand-made draws: parameter 0 has 3 of 4 draws below its truth, parameter 1
    # has 1 of 4; swapping the parameters of the draws swaps the ranks.
    class Fixed:
        def sample(self, X, n_samples, random_state=None):
            mu = np.array([-3.0, -2.0, -1.0, 5.0])
            sigma = np.array([0.5, 2.0, 3.0, 4.0])
            return np.stack([mu, sigma], axis=-1)[None].repeat(len(X), axis=0)

    theta = np.array([[0.0, 1.0], [0.0, 1.0]])
    result = sbc_ranks(Fixed(), np.zeros((2, 1)), theta, 4, random_state=0)
    np.testing.assert_array_equal(result.ranks, [[3, 1], [3, 1]])


def test_sbc_two_parameters_calibrated_and_swap_detected(nig):
    model, _, _ = nig
    result = sbc(
        ExactPosterior(model),
        model.prior,
        model.simulator,
        n_simulations=1000,
        n_posterior_samples=100,
        n_replicates=10,
        parameter_names=["mu", "sigma"],
        random_state=0,
    )
    assert list(result.uniformity_test()["parameter"]) == ["mu", "sigma"]
    table = result.expected_coverage([0.5, 0.8, 0.95])
    assert (np.abs(table["coverage"] - table["level"]) < 3 * table["se"]).all()
    # Ranked among the other parameter's draws, the truths would pile up at one end.
    assert (result.uniformity_test()["ks_pvalue"] > 0.001).all()


@pytest.mark.parametrize("scale", [0.5, 2.0], ids=["overconfident", "underconfident"])
def test_sbc_two_parameters_rejects_miscalibration(nig, scale):
    model, X, theta = nig
    result = sbc_ranks(ExactPosterior(model, scale), X[:1000], theta[:1000], 100)
    assert (result.uniformity_test()["ks_pvalue"] < 0.001).all()


@pytest.mark.parametrize(
    "make", [ExactPosterior, ExactIntervals, ExactQuantiles], ids=lambda c: c.__name__
)
def test_coverage_two_parameters_matches_exact_intervals(nig, make):
    model, X, theta = nig
    levels = [0.5, 0.9]
    table = coverage(make(model), X, theta, levels, n_samples=1000, random_state=0)
    assert list(table["parameter"]) == ["theta_0", "theta_1"] * 2
    assert (np.abs(table["coverage"] - table["level"]) < 3 * table["se"]).all()
    # Mean widths per parameter against the exact equal-tailed intervals; from
    # 1000 draws an interval end is off by a few percent of the width at most.
    for level in levels:
        exact = model.posterior_quantile(X, [(1 - level) / 2, (1 + level) / 2])
        width = np.diff(exact, axis=-1)[..., 0].mean(axis=0)
        got = table[table["level"] == level]["width"].to_numpy()
        np.testing.assert_allclose(got, width, rtol=0.03)
    assert width[0] > 1.5 * width[1]  # the two posteriors really differ


@pytest.mark.parametrize(
    "make", [ExactPosterior, ExactIntervals], ids=lambda c: c.__name__
)
def test_assess_two_parameters_estimates_and_bayes_risk(nig, make):
    model, X, theta = nig
    result = assess(
        make(model),
        X,
        theta,
        n_samples=1000,
        parameter_names=["mu", "sigma"],
        random_state=0,
    )
    table = result.estimates
    exact = model.posterior_mean(X)
    for j, name in enumerate(["mu", "sigma"]):
        rows = table[table["parameter"] == name]
        np.testing.assert_array_equal(rows["truth"], theta[:, j])
        # Exact means, or means of 1000 draws: within 5 Monte Carlo errors.
        tolerance = 5 * np.sqrt(posterior_variance(model, X)[:, j] / 1000)
        assert (np.abs(rows["estimate"].to_numpy() - exact[:, j]) <= tolerance).all()
    # Bayes risk of the posterior mean is the mean posterior variance.
    risk = result.risk()
    expected = posterior_variance(model, X).mean(axis=0)
    assert (np.abs(risk["risk"] - expected) < 3 * risk["risk_se"]).all()
    assert expected[0] > 2 * expected[1]
    cov = result.coverage()
    assert (np.abs(cov["coverage"] - 0.95) < 3 * cov["coverage_se"]).all()


# --- posterior contraction and z-scores ------------------------------------------


def test_contraction_and_z_scores_of_the_exact_posterior(nig):
    model, X, theta = nig
    result = assess(
        ExactPosterior(model),
        X,
        theta,
        n_samples=1000,
        parameter_names=["mu", "sigma"],
        random_state=0,
    )
    # Mean contraction: 1 - E[posterior variance] / prior variance, per parameter;
    # from 1000 draws each posterior variance is off by a few percent, and the
    # mean over 2000 data sets by far less than 0.01.
    exact = 1 - posterior_variance(model, X).mean(axis=0) / theta.var(axis=0, ddof=1)
    contraction = result.contraction()
    np.testing.assert_allclose(contraction["contraction"], exact, atol=0.01)
    assert exact[0] - exact[1] > 0.1  # the data teach more about mu than sigma
    # Calibrated: z-scores of mean 0 and mean square 1, within 3 standard errors.
    scores = result.posterior_scores()
    z = result.z_scores()
    assert (np.abs(z["z_mean"]) < 3 * z["z_mean_se"]).all()
    for name, rms in zip(z["parameter"], z["z_rms"], strict=True):
        z2 = scores.loc[scores["parameter"] == name, "z_score"].to_numpy() ** 2
        se = np.std(z2, ddof=1) / np.sqrt(len(z2)) / (2 * rms)
        assert abs(rms - 1) < 3 * se
    summary = result.summary()
    assert {"contraction", "z_mean", "z_rms"} <= set(summary.columns)


@pytest.mark.parametrize("scale", [0.5, 2.0])
def test_z_scores_scale_inversely_with_the_posterior_spread(nig, scale):
    model, X, theta = nig
    result = assess(
        ExactPosterior(model, scale), X, theta, n_samples=1000, random_state=0
    )
    # Spread scaled by s about the exact mean: z-scores scale by 1 / s.
    np.testing.assert_allclose(result.z_scores()["z_rms"], 1 / scale, rtol=0.1)


def test_posterior_moments_only_with_sample(test_set):
    X, theta = test_set
    no_draws = assess(
        ExactIntervals(GaussianReplicates()),
        X[:50],
        np.column_stack([theta[:50, 0], np.ones(50)]),
    )
    assert no_draws.estimates["posterior_sd"].isna().all()
    assert no_draws.z_scores()["z_rms"].isna().all()
    skipped = assess(IntervalPosterior(), X[:50], theta[:50], posterior_moments=False)
    assert skipped.estimates["posterior_mean"].isna().all()
    drawn = assess(IntervalPosterior(), X[:50], theta[:50], random_state=0)
    assert drawn.estimates["posterior_sd"].notna().all()


def test_contraction_of_a_hand_made_table():
    table = pd.DataFrame(
        {
            "estimator": "e",
            "dataset": [0, 1, 2],
            "parameter": "p",
            "truth": [-1.0, 0.0, 1.0],  # prior variance 1
            "estimate": 0.0,
            "lower": np.nan,
            "upper": np.nan,
            "n_replicates": np.nan,
            "posterior_mean": [0.0, 0.5, 1.0],
            "posterior_sd": [0.5, 0.5, 1.0],
        }
    )
    result = Assessment(table)
    scores = result.posterior_scores()
    np.testing.assert_allclose(scores["contraction"], [0.75, 0.75, 0.0])
    np.testing.assert_allclose(scores["z_score"], [2.0, 1.0, 0.0])
    assert result.z_scores()["z_rms"].iloc[0] == pytest.approx(np.sqrt(5 / 3))
    # A table without moments (built by hand, older layout) gives NaN.
    bare = Assessment(table.drop(columns=["posterior_mean", "posterior_sd"]))
    assert bare.contraction()["contraction"].isna().all()
