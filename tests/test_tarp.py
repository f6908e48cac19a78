"""Tests of skamortise.diagnostics.tarp on the exact GaussianReplicates posterior."""

import matplotlib
import numpy as np
import pytest
from _posteriors import ExactPosterior

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skamortise.diagnostics import TARPResult, tarp  # noqa: E402
from skamortise.models import GaussianReplicates  # noqa: E402

MODEL = GaussianReplicates()


@pytest.fixture(scope="module")
def test_set():
    rng = np.random.default_rng(11)
    theta = MODEL.prior(1000, rng)
    return MODEL.simulator(theta, rng, 10), theta


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def test_counts_draws_inside_the_ball_around_the_reference():
    # Truth (0, 0), reference (1, 0): the ball has radius 1 about the reference.
    # Draws at distances 0.5, 0.9, 1.5 and 2 from it: two inside.
    class Fixed:
        def sample(self, X, n_samples, random_state=None):
            draws = np.array([[0.5, 0.0], [1.0, 0.9], [2.5, 0.0], [1.0, -2.0]])
            return draws[None].repeat(len(X), axis=0)

    theta = np.array([[0.0, 0.0], [4.0, 10.0]])
    refs = np.array([[1.0, 0.0], [1.0, 0.0]])
    result = tarp(
        Fixed(),
        np.zeros((2, 1)),
        theta,
        4,
        references=refs,
        normalize=False,
        random_state=0,
    )
    # The second truth is farther than every draw: all four inside.
    np.testing.assert_array_equal(result.counts, [2, 4])
    assert isinstance(result, TARPResult) and result.n_samples == 4


def test_normalize_measures_distances_on_the_unit_box():
    # Parameter 1 spans 100 times the range of parameter 0; unnormalised, the
    # draw offset along parameter 1 dominates, normalised the two count alike.
    class Fixed:
        def sample(self, X, n_samples, random_state=None):
            return np.array([[[0.0, 30.0]]]).repeat(len(X), axis=0)

    theta = np.array([[0.5, 0.0], [0.0, 0.0], [1.0, 100.0]])
    refs = np.zeros((3, 2))
    raw = tarp(
        Fixed(),
        np.zeros((3, 1)),
        theta,
        1,
        references=refs,
        normalize=False,
        random_state=0,
    )
    unit = tarp(Fixed(), np.zeros((3, 1)), theta, 1, references=refs, random_state=0)
    # Truth 0 is at distance 0.5 (raw) or 0.5 (unit); the draw at 30 or 0.3.
    assert raw.counts[0] == 0 and unit.counts[0] == 1


def test_accepts_the_exact_posterior(test_set):
    X, theta = test_set
    result = tarp(ExactPosterior(MODEL), X, theta, 200, random_state=0)
    test = result.uniformity_test()
    assert test["ks_pvalue"] > 0.01
    table = result.expected_coverage([0.25, 0.5, 0.75, 0.9])
    assert (np.abs(table["coverage"] - table["level"]) < 3 * table["se"]).all()


@pytest.mark.parametrize(
    "scale, sign", [(0.5, -1), (2.0, 1)], ids=["overconfident", "underconfident"]
)
def test_rejects_over_and_under_dispersed_posteriors(test_set, scale, sign):
    X, theta = test_set
    test = tarp(ExactPosterior(MODEL, scale), X, theta, 200, random_state=0)
    result = test.uniformity_test()
    assert result["ks_pvalue"] < 1e-6
    # The area to the curve says which way: negative for too narrow posteriors,
    # positive for too wide ones. Under calibration its sd is about 0.005 here.
    assert sign * result["atc"] > 0.03


def test_false_rejection_rate_of_the_exact_posterior():
    # Under calibration the jittered credibility is exactly uniform even with
    # few draws (here 5: six possible counts), so the KS test rejects at its
    # level: 100 runs at level 0.05, margin 3 binomial sd.
    rng = np.random.default_rng(12)
    p_values = []
    for i in range(100):
        theta = MODEL.prior(200, rng)
        X = MODEL.simulator(theta, rng, 5)
        result = tarp(ExactPosterior(MODEL), X, theta, 5, random_state=i)
        p_values.append(result.uniformity_test()["ks_pvalue"])
    rate = np.mean(np.array(p_values) < 0.05)
    assert abs(rate - 0.05) < 3 * np.sqrt(0.05 * 0.95 / 100)


def test_atc_is_the_area_between_curve_and_diagonal():
    rng = np.random.default_rng(13)
    result = TARPResult(
        rng.integers(0, 51, 400), 50, rng.random(400), np.zeros((400, 1))
    )
    levels = np.linspace(0.5, 1, 20001)
    ecp = result.expected_coverage(levels)["coverage"].to_numpy()
    area = np.trapezoid(ecp - levels, levels)
    assert result.uniformity_test()["atc"] == pytest.approx(area, abs=1e-4)


def test_bad_inputs():
    with pytest.raises(ValueError, match="data sets"):
        tarp(ExactPosterior(MODEL), np.zeros((3, 4, 1)), np.zeros((2, 2)))
    with pytest.raises(ValueError, match="parameters"):
        tarp(ExactPosterior(MODEL), np.ones((3, 4, 1)), np.zeros((3, 3)))
    with pytest.raises(ValueError, match="n_samples"):
        tarp(ExactPosterior(MODEL), np.ones((3, 4, 1)), np.zeros((3, 2)), 0)


def test_plot(test_set):
    X, theta = test_set
    result = tarp(ExactPosterior(MODEL, 0.5), X[:300], theta[:300], 100, random_state=0)
    fig = result.plot()
    ax = fig.axes[0]
    curve = ax.get_lines()[-1]
    np.testing.assert_allclose(
        curve.get_ydata(), result.expected_coverage()["coverage"]
    )
    assert ax.get_title().startswith("KS p = ")
