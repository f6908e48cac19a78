"""Tests of skamortise.plotting: figures render and hold the expected artists."""

import io
import sys

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from skamortise.diagnostics import SBCResult, assess, coverage  # noqa: E402
from skamortise.plotting import (  # noqa: E402
    plot_contraction,
    plot_coverage,
    plot_history,
    plot_pairs,
    plot_recovery,
    plot_risk,
    plot_sbc_ecdf,
    plot_sbc_ranks,
)


class Posterior:
    """Exact posterior of x_j ~ N(mu, 1), mu ~ N(0, 1), for 3-D or ragged data."""

    def _moments(self, X):
        sums = np.array([np.sum(x) for x in X], dtype=float)[:, None]
        counts = np.array([len(x) for x in X], dtype=float)[:, None]
        return sums / (counts + 1), 1 / (counts + 1)

    def predict(self, X):
        return self._moments(X)[0]

    def sample(self, X, n_samples, random_state=None):
        rng = np.random.default_rng(random_state)
        mean, var = self._moments(X)
        z = rng.standard_normal((len(mean), n_samples, 1))
        return mean[:, None, :] + np.sqrt(var)[:, None, :] * z


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    theta = rng.standard_normal((200, 1))
    return theta[:, None, :] + rng.standard_normal((200, 3, 1)), theta


@pytest.fixture(scope="module")
def sbc_result():
    rng = np.random.default_rng(1)
    ranks = rng.integers(0, 100, size=(500, 2))
    return SBCResult(ranks, n_posterior_samples=99, parameter_names=["a", "b"])


def _renders(fig):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    assert buffer.getvalue()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_recovery_from_assessment(data):
    X, theta = data
    result = assess(
        {"exact": Posterior(), "again": Posterior()},
        X,
        theta,
        parameter_names=["mu"],
        random_state=0,
    )
    fig = plot_recovery(result)
    _renders(fig)
    assert len(fig.axes) == 2
    ax = fig.axes[0]
    assert len(ax.containers) == 1  # one errorbar container
    assert ax.get_xlabel() == "true mu" and ax.get_ylabel() == "estimated mu"
    assert ax.get_title() == "exact"
    identity = ax.get_lines()[-1]
    np.testing.assert_allclose(identity.get_xdata(), identity.get_ydata())


def test_plot_recovery_from_estimator_without_intervals(data):
    X, theta = data

    class PointOnly:
        def predict(self, X):
            return Posterior().predict(X)

    fig = plot_recovery(PointOnly(), X, theta, estimator="PointOnly")
    _renders(fig)
    ax = fig.axes[0]
    assert len(ax.containers) == 0
    assert len(ax.get_lines()) == 2  # points and identity line


def test_plot_recovery_needs_data_for_an_estimator():
    with pytest.raises(ValueError, match="X and y"):
        plot_recovery(Posterior())


def test_plot_risk_against_replicates():
    rng = np.random.default_rng(2)
    theta = rng.standard_normal((300, 1))
    X = [
        theta[i] + rng.standard_normal((m, 1))
        for i, m in enumerate(np.repeat([2, 5, 20], 100))
    ]
    fig = plot_risk(assess(Posterior(), X, theta, random_state=0))
    _renders(fig)
    line = fig.axes[0].get_lines()[0]
    np.testing.assert_array_equal(line.get_xdata(), [2, 5, 20])
    assert fig.axes[0].get_xlabel() == "number of replicates"


def test_plot_sbc_ranks(sbc_result):
    fig = plot_sbc_ranks(sbc_result, n_bins=20)
    _renders(fig)
    assert len(fig.axes) == 2
    ax = fig.axes[1]
    assert len(ax.patches) == 20
    assert sum(isinstance(c, PolyCollection) for c in ax.collections) == 1
    assert len(ax.get_lines()) == 1  # expected count
    assert ax.get_xlabel() == "rank of b" and ax.get_ylabel() == "count"
    heights = [patch.get_height() for patch in ax.patches]
    assert sum(heights) == pytest.approx(500)


def test_plot_sbc_ranks_rejects_quantile_results():
    result = SBCResult(
        None,
        None,
        ["a"],
        quantile_levels=np.array([0.5]),
        exceedances=np.zeros((10, 1, 1), dtype=bool),
    )
    with pytest.raises(ValueError, match="quantile"):
        plot_sbc_ranks(result)


def test_plot_sbc_ecdf(sbc_result):
    fig = plot_sbc_ecdf(sbc_result)
    _renders(fig)
    ax = fig.axes[0]
    assert len(ax.collections) == 1 and len(ax.get_lines()) == 1
    assert ax.get_ylabel() == "ECDF difference"
    # Uniform ranks: the curve lies inside the simultaneous band.
    band = ax.collections[0].get_paths()[0].vertices
    curve = ax.get_lines()[0].get_ydata()
    assert np.abs(curve).max() < np.abs(band[:, 1]).max()
    fig = plot_sbc_ecdf(sbc_result, difference=False)
    assert fig.axes[0].get_ylabel() == "ECDF"


def test_plot_coverage_from_coverage_table(data):
    X, theta = data
    table = coverage(Posterior(), X, theta, random_state=0)
    fig, ax = plt.subplots()
    assert plot_coverage(table, ax=ax) is fig
    _renders(fig)
    assert len(ax.containers) == 1  # one parameter
    assert ax.get_xlabel() == "nominal coverage"
    assert ax.get_ylabel() == "empirical coverage"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["theta_0"]


def test_plot_coverage_from_assessment_coverage(data):
    X, theta = data
    result = assess({"a": Posterior(), "b": Posterior()}, X, theta, random_state=0)
    fig = plot_coverage(result.coverage())
    _renders(fig)
    assert len(fig.axes[0].containers) == 2


def test_plot_pairs_marks_truth():
    draws = np.random.default_rng(3).standard_normal((3000, 3))
    fig = plot_pairs(draws, truth=[0.0, 0.5, 1.0], names=["a", "b", "c"], bins=15)
    _renders(fig)
    axes = np.array(fig.axes).reshape(3, 3)
    assert sum(not ax.get_visible() for ax in axes.ravel()) == 3
    assert len(axes[0, 0].patches) == 15
    assert axes[0, 0].get_lines()[0].get_xdata()[0] == 0.0
    lower = axes[2, 0]
    scatters = [c for c in lower.collections if isinstance(c, PathCollection)]
    assert len(scatters) == 2  # draws and truth
    assert len(scatters[0].get_offsets()) == 2000  # subsampled
    assert lower.get_xlabel() == "a" and lower.get_ylabel() == "c"


def test_plot_pairs_single_parameter():
    fig = plot_pairs(np.random.default_rng(4).standard_normal(100))
    _renders(fig)
    assert fig.axes[0].get_xlabel() == "theta_0"


def test_plot_history():
    history = {"train_loss": [3.0, 2.0, 1.5, 1.4], "valid_loss": [3.1, 2.2, 2.0, 2.3]}
    fig = plot_history(history)
    _renders(fig)
    ax = fig.axes[0]
    labels = [line.get_label() for line in ax.get_lines()]
    assert labels == ["train", "validation", "best epoch (3)"]
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss"


def test_plot_history_reads_estimator_attribute():
    class Fitted:
        history_ = {"train_loss": [2.0, 1.0], "valid_loss": []}

    fig = plot_history(Fitted(), log_scale=True)
    ax = fig.axes[0]
    assert [line.get_label() for line in ax.get_lines()] == ["train", "best epoch (2)"]
    assert ax.get_yscale() == "log"


def test_missing_matplotlib_gives_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_history({"train_loss": [1.0]})


def test_plot_coverage_checks_columns():
    with pytest.raises(ValueError, match="columns"):
        plot_coverage(pd.DataFrame({"level": [0.5]}))


def test_plot_contraction(data):
    X, theta = data
    result = assess(
        {"exact": Posterior(), "again": Posterior()},
        X,
        theta,
        parameter_names=["mu"],
        random_state=0,
    )
    fig = plot_contraction(result)
    ax = fig.axes[0]
    scores = result.posterior_scores()
    points = ax.collections[0].get_offsets()
    exact = scores[scores["estimator"] == "exact"]
    np.testing.assert_allclose(points[:, 0], exact["contraction"])
    np.testing.assert_allclose(points[:, 1], exact["z_score"])
    assert len(ax.collections) == 2
    rms = np.sqrt(np.mean(scores["z_score"] ** 2))
    assert ax.get_title() == f"mu: rms z = {rms:.2f}"
    _renders(fig)


def test_plot_contraction_needs_posterior_moments(data):
    X, theta = data
    result = assess(Posterior(), X, theta, posterior_moments=False)
    with pytest.raises(ValueError, match="posterior moments"):
        plot_contraction(result)
