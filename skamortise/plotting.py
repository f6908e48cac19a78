"""Matplotlib figures of the diagnostics.

matplotlib is an optional dependency: it is imported when a figure is drawn, so the
rest of the package works without it. Every function returns the
:class:`~matplotlib.figure.Figure` it drew on and never calls ``plt.show``; pass
``ax`` (single-panel plots) or ``fig`` (multi-panel plots) to draw into your own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from ._matplotlib import panels, single_axes
from .diagnostics.assess import assess
from .diagnostics.assessment import Assessment
from .diagnostics.sbc_result import SBCResult

__all__ = [
    "plot_contraction",
    "plot_reliability",
    "plot_coverage",
    "plot_history",
    "plot_pairs",
    "plot_recovery",
    "plot_risk",
    "plot_sbc_ecdf",
    "plot_sbc_ranks",
]


def plot_recovery(
    assessment,
    X=None,
    y=None,
    *,
    estimator: str | Sequence[str] | None = None,
    alpha: float = 0.05,
    n_samples: int = 500,
    parameter_names: Sequence[str] | None = None,
    random_state=None,
    fig=None,
):
    """Estimates against true parameters, with credible intervals as error bars.

    One panel per estimator (rows) and parameter (columns); the dashed identity
    line marks perfect recovery.

    Parameters
    ----------
    assessment : Assessment or estimator or dict of estimators
        The result of :func:`~skamortise.diagnostics.assess`; or estimators, which
        are then assessed on ``X`` and ``y``.
    X, y : array-like, default=None
        Test data and true parameters, needed when ``assessment`` is an estimator.
    estimator : str or sequence of str, default=None
        The estimators of an assessment to draw; all by default.
    alpha, n_samples, parameter_names, random_state
        Passed to :func:`~skamortise.diagnostics.assess` for an estimator.
    fig : matplotlib Figure, default=None
        Figure to draw in; a new one by default.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skamortise.plotting import plot_recovery
    >>> class Shrink:
    ...     def predict(self, X):
    ...         return X / 2
    >>> rng = np.random.default_rng(0)
    >>> mu = rng.standard_normal((50, 1))
    >>> fig = plot_recovery(Shrink(), mu + rng.standard_normal((50, 1)), mu)
    >>> fig.axes[0].get_xlabel()
    'true theta_0'
    """
    if not isinstance(assessment, Assessment):
        if X is None or y is None:
            raise ValueError("pass X and y to plot the recovery of an estimator.")
        assessment = assess(
            assessment,
            X,
            y,
            alpha=alpha,
            n_samples=n_samples,
            parameter_names=parameter_names,
            random_state=random_state,
        )
    table = assessment.estimates
    names = list(pd.unique(table["estimator"]))
    if estimator is not None:
        wanted = [estimator] if isinstance(estimator, str) else list(estimator)
        missing = sorted(set(wanted) - set(names))
        if missing:
            raise ValueError(f"no estimator named {missing} in the assessment.")
        names = wanted
    parameters = list(pd.unique(table["parameter"]))
    fig, axes = panels(fig, len(names), len(parameters))
    for row, name in enumerate(names):
        for col, parameter in enumerate(parameters):
            ax = axes[row, col]
            part = table[
                (table["estimator"] == name) & (table["parameter"] == parameter)
            ]
            truth, estimate = part["truth"].to_numpy(), part["estimate"].to_numpy()
            if part["lower"].notna().all():
                # An estimate outside its own interval (e.g. a mean with a bootstrap
                # interval) must not give a negative bar length.
                below = np.clip(estimate - part["lower"].to_numpy(), 0, None)
                above = np.clip(part["upper"].to_numpy() - estimate, 0, None)
                ax.errorbar(
                    truth,
                    estimate,
                    yerr=np.stack([below, above]),
                    fmt="o",
                    markersize=3,
                    elinewidth=0.8,
                    alpha=0.6,
                )
            else:
                ax.plot(truth, estimate, "o", markersize=3, alpha=0.6)
            low = np.nanmin([truth.min(), estimate.min()])
            high = np.nanmax([truth.max(), estimate.max()])
            ax.plot([low, high], [low, high], "k--", linewidth=1)
            ax.set_xlabel(f"true {parameter}")
            ax.set_ylabel(f"estimated {parameter}")
            if len(names) > 1:
                ax.set_title(str(name))
    return fig


def plot_risk(
    assessment: Assessment,
    *,
    metric: str = "rmse",
    fig=None,
):
    """A summary of an assessment against the replicate count, per parameter.

    Parameters
    ----------
    assessment : Assessment
        Built on replicated test data (so ``n_replicates`` is known).
    metric : {"rmse", "risk", "bias", "coverage", "width", "interval_score", \
            "contraction"}, default="rmse"
        The :class:`~skamortise.diagnostics.Assessment` summary to draw.
    fig : matplotlib Figure, default=None
        Figure to draw in; a new one by default.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per parameter, one line per estimator.
    """
    allowed = (
        "rmse",
        "risk",
        "bias",
        "coverage",
        "width",
        "interval_score",
        "contraction",
    )
    if metric not in allowed:
        raise ValueError(f"metric must be one of {allowed}; got {metric!r}.")
    table = getattr(assessment, metric)(by_replicates=True)
    if table["n_replicates"].isna().all():
        raise ValueError("the test data carry no replicate counts to plot against.")
    parameters = list(pd.unique(table["parameter"]))
    fig, axes = panels(fig, 1, len(parameters))
    for col, parameter in enumerate(parameters):
        ax = axes[0, col]
        for name, part in table[table["parameter"] == parameter].groupby(
            "estimator", sort=False
        ):
            ax.plot(part["n_replicates"], part[metric], "o-", label=str(name))
        ax.set_xlabel("number of replicates")
        ax.set_ylabel(f"{metric} of {parameter}")
        ax.legend()
    return fig


def plot_contraction(assessment: Assessment, *, fig=None):
    """Posterior z-score against posterior contraction, per data set and parameter.

    One panel per parameter, one colour per estimator (those with posterior
    draws). Points far up or down mean overconfident posteriors (the truth many
    posterior standard deviations from the mean); contraction near 0 means the
    data teach little about the parameter (Schad et al., 2021). The title gives
    the root mean square z-score, 1 for a calibrated posterior.

    Parameters
    ----------
    assessment : Assessment
        From :func:`~skamortise.diagnostics.assess` with ``posterior_moments=True``.
    fig : matplotlib Figure, default=None
        Figure to draw in; a new one by default.

    Returns
    -------
    matplotlib.figure.Figure

    References
    ----------
    .. [1] Schad, D. J., Betancourt, M. and Vasishth, S. (2021). Toward a
       principled Bayesian workflow in cognitive science. Psychological Methods
       26(1), 103-126.
    """
    scores = assessment.posterior_scores().dropna(subset=["z_score", "contraction"])
    if scores.empty:
        raise ValueError(
            "the assessment holds no posterior moments; assess estimators with "
            "sample and posterior_moments=True."
        )
    parameters = list(pd.unique(scores["parameter"]))
    fig, axes = panels(fig, 1, len(parameters))
    for col, parameter in enumerate(parameters):
        ax = axes[0, col]
        part = scores[scores["parameter"] == parameter]
        for name, group in part.groupby("estimator", sort=False):
            ax.scatter(
                group["contraction"], group["z_score"], s=6, alpha=0.6, label=str(name)
            )
        for z in (-2, 0, 2):
            ax.axhline(z, color="0.5", ls="--" if z else "-", lw=0.8)
        rms = float(np.sqrt(np.mean(part["z_score"] ** 2)))
        ax.set_title(f"{parameter}: rms z = {rms:.2f}")
        ax.set_xlabel("posterior contraction")
        ax.set_ylabel("posterior z-score")
        ax.legend(frameon=False)
    return fig


def _require_ranks(result: SBCResult) -> None:
    if result.is_quantile:
        raise ValueError(
            "a quantile estimator's SBC result has no ranks; plot "
            "plot_coverage(result.quantile_calibration()) instead."
        )


def plot_sbc_ranks(
    result: SBCResult, *, n_bins: int | None = None, band: float = 0.99, fig=None
):
    """Histograms of SBC ranks with the band expected under calibration.

    The shaded band holds each bin's count with probability ``band`` when the
    posterior is calibrated (binomial quantiles, bin by bin). Bars dipping in the
    middle and rising at the edges (a U) mean overconfidence; a hump means
    underconfidence; a slope means bias.

    Parameters
    ----------
    result : SBCResult
        From :func:`~skamortise.diagnostics.sbc` or
        :func:`~skamortise.diagnostics.sbc_ranks`, with ranks.
    n_bins : int, default=None
        Number of bins; see :meth:`SBCResult.rank_counts`. Where bins differ in
        size by one rank, counts are scaled to the mean bin size so a calibrated
        histogram is flat.
    band : float, default=0.99
        Probability of the pointwise band.
    fig : matplotlib Figure, default=None
        Figure to draw in; a new one by default.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per parameter.

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skamortise.diagnostics import SBCResult
    >>> from skamortise.plotting import plot_sbc_ranks
    >>> ranks = np.random.default_rng(0).integers(0, 100, size=(400, 2))
    >>> result = SBCResult(ranks, n_posterior_samples=99,
    ...                    parameter_names=["a", "b"])
    >>> fig = plot_sbc_ranks(result, n_bins=20)
    >>> len(fig.axes[0].patches)
    20
    """
    _require_ranks(result)
    counts, edges = result.rank_counts(n_bins)
    sizes = np.diff(edges)
    scale = sizes.mean() / sizes
    share = sizes / (result.n_posterior_samples + 1)
    tail = (1 - band) / 2
    low = stats.binom.ppf(tail, result.n_sims, share) * scale
    high = stats.binom.ppf(1 - tail, result.n_sims, share) * scale
    fig, axes = panels(fig, 1, result.n_params)
    # Rank cells are drawn from -0.5 so that integer ranks sit in their cell's middle.
    left = edges[:-1] - 0.5
    for j, name in enumerate(result.parameter_names):
        ax = axes[0, j]
        ax.bar(left, counts[:, j] * scale, width=sizes, align="edge", color="C0")
        # The band goes over the bars, translucent, so both of its edges stay visible.
        ax.fill_between(
            edges - 0.5,
            np.append(low, low[-1]),
            np.append(high, high[-1]),
            step="post",
            color="0.5",
            alpha=0.35,
            linewidth=0,
        )
        ax.axhline(result.n_sims * sizes.mean() / sizes.sum(), color="0.2", lw=1)
        ax.set_xlim(-0.5, result.n_posterior_samples + 0.5)
        ax.set_xlabel(f"rank of {name}")
        ax.set_ylabel("count")
    return fig


def _ecdf_band(
    n_sims: int, n_ranks: int, band: float, n_band_sims: int, random_state
) -> np.ndarray:
    """Half-width of a simultaneous ECDF band on the grid ``k / n_ranks``.

    Calibrated rank counts are multinomial with equal shares; the band is the
    pointwise standard deviation scaled by the ``band`` quantile of the largest
    standardised deviation over the grid in ``n_band_sims`` simulated histograms.
    """
    rng = np.random.default_rng(random_state)
    grid = np.arange(1, n_ranks) / n_ranks
    sd = np.sqrt(grid * (1 - grid) / n_sims)
    counts = rng.multinomial(n_sims, np.full(n_ranks, 1 / n_ranks), size=n_band_sims)
    ecdf = np.cumsum(counts, axis=1)[:, :-1] / n_sims
    largest = np.max(np.abs(ecdf - grid) / sd, axis=1)
    return np.quantile(largest, band) * sd


def plot_sbc_ecdf(
    result: SBCResult,
    *,
    band: float = 0.95,
    difference: bool = True,
    n_band_sims: int = 1000,
    random_state=0,
    fig=None,
):
    """Empirical CDF of the SBC ranks minus the uniform CDF, with a simultaneous band.

    Under calibration the whole curve stays inside the band with probability
    ``band``. Reading the difference curve: above zero in the first half and below
    in the second means an overconfident (too narrow) posterior, the mirror image an
    underconfident one; an arc entirely above zero means the posterior sits too
    high, entirely below too low. Unlike rank histograms, ECDF plots need no choice
    of bins (Saeilynoja et al., 2022).

    Parameters
    ----------
    result : SBCResult
        From :func:`~skamortise.diagnostics.sbc` or
        :func:`~skamortise.diagnostics.sbc_ranks`, with ranks.
    band : float, default=0.95
        Simultaneous coverage of the band, per parameter.
    difference : bool, default=True
        Plot ``ECDF - uniform CDF``; False plots the ECDF itself.
    n_band_sims : int, default=1000
        Simulated calibrated histograms used to set the band.
    random_state : int or None, default=0
        Seeds the band's simulations.
    fig : matplotlib Figure, default=None
        Figure to draw in; a new one by default.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per parameter.

    References
    ----------
    .. [1] Saeilynoja, T., Buerkner, P.-C. and Vehtari, A. (2022). Graphical test
       for discrete uniformity and its applications in goodness-of-fit evaluation
       and multiple sample comparison. Statistics and Computing 32, 32.
    """
    _require_ranks(result)
    n_ranks = result.n_posterior_samples + 1
    grid = np.arange(1, n_ranks) / n_ranks
    half_width = _ecdf_band(result.n_sims, n_ranks, band, n_band_sims, random_state)
    reference = 0.0 if difference else grid
    fig, axes = panels(fig, 1, result.n_params)
    for j, name in enumerate(result.parameter_names):
        ax = axes[0, j]
        # ECDF at rank k: share of ranks <= k, for k = 0 .. L - 1 (it is 1 at L).
        ecdf = np.cumsum(np.bincount(result.ranks[:, j], minlength=n_ranks))[:-1]
        ecdf = ecdf / result.n_sims
        ax.fill_between(
            grid,
            reference - half_width,
            reference + half_width,
            color="0.85",
            linewidth=0,
        )
        ax.plot(grid, ecdf - grid if difference else ecdf, drawstyle="steps-post")
        ax.set_xlabel(f"fractional rank of {name}")
        ax.set_ylabel("ECDF difference" if difference else "ECDF")
    return fig


def plot_coverage(coverage_table: pd.DataFrame, *, n_se: float = 2.0, ax=None):
    """Empirical against nominal coverage, with Monte Carlo error bars.

    Parameters
    ----------
    coverage_table : pandas.DataFrame
        Columns ``parameter``, ``level``, ``coverage`` and optionally ``se`` and
        ``estimator``: the output of :func:`~skamortise.diagnostics.coverage`,
        :meth:`SBCResult.expected_coverage` or
        :meth:`SBCResult.quantile_calibration`. The output of
        :meth:`Assessment.coverage` (``nominal``, ``coverage_se``) works too.
    n_se : float, default=2.0
        Error bars span ``n_se`` standard errors each side.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        One line per parameter (and estimator), the identity line dashed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import pandas as pd
    >>> from skamortise.plotting import plot_coverage
    >>> table = pd.DataFrame({"parameter": "mu", "level": [0.5, 0.9],
    ...                       "coverage": [0.48, 0.91], "se": [0.02, 0.01]})
    >>> fig = plot_coverage(table)
    >>> fig.axes[0].get_ylabel()
    'empirical coverage'
    """
    table = coverage_table.rename(columns={"nominal": "level", "coverage_se": "se"})
    missing = {"parameter", "level", "coverage"} - set(table.columns)
    if missing:
        raise ValueError(f"coverage_table lacks the columns {sorted(missing)}.")
    fig, ax = single_axes(ax)
    keys = ["estimator", "parameter"] if "estimator" in table else ["parameter"]
    for key, part in table.groupby(keys, sort=False):
        label = ": ".join(str(k) for k in key)
        part = part.sort_values("level")
        error = n_se * part["se"] if "se" in part else None
        ax.errorbar(
            part["level"],
            part["coverage"],
            yerr=error,
            marker="o",
            capsize=3,
            label=label,
        )
    low = float(min(table["level"].min(), table["coverage"].min()))
    ax.plot([low, 1], [low, 1], "k--", linewidth=1)
    ax.set_xlabel("nominal coverage")
    ax.set_ylabel("empirical coverage")
    ax.legend()
    return fig


def plot_pairs(
    samples,
    truth=None,
    names: Sequence[str] | None = None,
    *,
    bins: int = 30,
    max_points: int = 2000,
    random_state=0,
    fig=None,
):
    """Corner plot of posterior samples, with the true parameters marked.

    Histograms on the diagonal, scatter plots of each pair below it.

    Parameters
    ----------
    samples : array-like of shape (n_samples, n_parameters) or (n_samples,)
        Posterior draws for one data set, e.g. ``estimator.sample(X[:1], S)[0]``.
    truth : array-like of shape (n_parameters,), default=None
        True parameters, drawn as red lines and points.
    names : sequence of str, default=None
        Parameter names; ``theta_0, theta_1, ...`` by default.
    bins : int, default=30
        Bins of the diagonal histograms.
    max_points : int, default=2000
        Scatter plots show a random subset of at most this many draws.
    random_state : int or None, default=0
        Seeds that subset.
    fig : matplotlib Figure, default=None
        Figure to draw in; a new one by default.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skamortise.plotting import plot_pairs
    >>> draws = np.random.default_rng(0).standard_normal((500, 3))
    >>> fig = plot_pairs(draws, truth=[0, 0, 0], names=["a", "b", "c"])
    >>> fig.axes[-1].get_xlabel()
    'c'
    """
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2:
        raise ValueError(
            f"samples must have shape (n_samples, n_parameters); got {samples.shape}."
        )
    p = samples.shape[1]
    names = [f"theta_{j}" for j in range(p)] if names is None else list(names)
    if len(names) != p:
        raise ValueError(f"{len(names)} names given for {p} parameters.")
    if truth is not None:
        truth = np.asarray(truth, dtype=np.float64).reshape(p)
    shown = samples
    if len(samples) > max_points:
        rng = np.random.default_rng(random_state)
        shown = samples[rng.choice(len(samples), max_points, replace=False)]

    fig, axes = panels(fig, p, p)
    for row in range(p):
        for col in range(p):
            ax = axes[row, col]
            if col > row:
                ax.set_visible(False)
                continue
            if row == col:
                ax.hist(samples[:, col], bins=bins, color="C0", alpha=0.8)
                if truth is not None:
                    ax.axvline(truth[col], color="C3")
                ax.set_yticks([])
            else:
                ax.scatter(shown[:, col], shown[:, row], s=2, alpha=0.3, color="C0")
                if truth is not None:
                    ax.axvline(truth[col], color="C3", linewidth=0.8)
                    ax.axhline(truth[row], color="C3", linewidth=0.8)
                    ax.scatter([truth[col]], [truth[row]], color="C3", marker="x")
                if col == 0:
                    ax.set_ylabel(names[row])
            if row == p - 1:
                ax.set_xlabel(names[col])
    return fig


def plot_history(history, *, log_scale: bool = False, ax=None):
    """Training and validation loss per epoch.

    Parameters
    ----------
    history : dict-like or estimator
        Lists ``train_loss`` and optionally ``valid_loss``, one entry per epoch; an
        object with a ``history_`` attribute (a fitted estimator) is read through
        it.
    log_scale : bool, default=False
        Logarithmic loss axis (only sensible for positive losses).
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        A line per loss, and a dotted vertical line at the epoch of lowest
        validation loss (training loss without validation).

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from skamortise.plotting import plot_history
    >>> fig = plot_history({"train_loss": [3, 2, 1.5], "valid_loss": [3.2, 2.1, 2.2]})
    >>> [line.get_label() for line in fig.axes[0].get_lines()][:2]
    ['train', 'validation']
    """
    if not isinstance(history, Mapping) and hasattr(history, "history_"):
        history = history.history_
    if "train_loss" not in history:
        raise ValueError("history needs a 'train_loss' list (one entry per epoch).")
    fig, ax = single_axes(ax)
    train = np.asarray(history["train_loss"], dtype=np.float64)
    ax.plot(np.arange(1, len(train) + 1), train, label="train")
    valid = np.asarray(history.get("valid_loss") or [], dtype=np.float64)
    if valid.size:
        ax.plot(np.arange(1, len(valid) + 1), valid, label="validation")
    watched = valid if valid.size else train
    if watched.size and np.isfinite(watched).any():
        best = int(np.nanargmin(watched)) + 1
        ax.axvline(best, color="0.5", linestyle=":", label=f"best epoch ({best})")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.legend()
    return fig


def plot_reliability(result, *, classes=None, n_se: float = 2.0, ax=None):
    """Reliability diagram: empirical frequency against predicted probability.

    Parameters
    ----------
    result : ReliabilityResult or pandas.DataFrame
        The output of :func:`~skamortise.diagnostics.reliability.reliability` (or
        its ``table``: columns ``class``, ``mean_predicted``, ``frequency`` and
        optionally ``se``).
    classes : sequence, default=None
        Classes to draw, one curve each. None draws every class, except for two
        classes, whose curves mirror each other: then only the second.
    n_se : float, default=2.0
        Error bars span ``n_se`` standard errors of the frequency under perfect
        calibration.
    ax : matplotlib Axes, default=None
        Axes to draw on; a new figure by default.

    Returns
    -------
    matplotlib.figure.Figure
        One line per class (labelled with its ECE when known), the identity line
        dashed.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import numpy as np
    >>> from skamortise.diagnostics.reliability import reliability_from_proba
    >>> from skamortise.plotting import plot_reliability
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=500)
    >>> y = (rng.uniform(size=500) < p).astype(int)
    >>> fig = plot_reliability(reliability_from_proba(y, p, n_bins=5))
    >>> fig.axes[0].get_xlabel()
    'predicted probability'
    """
    table = result if isinstance(result, pd.DataFrame) else result.table
    ece = None if isinstance(result, pd.DataFrame) else result.ece
    missing = {"class", "mean_predicted", "frequency"} - set(table.columns)
    if missing:
        raise ValueError(f"the reliability table lacks the columns {sorted(missing)}.")
    labels = list(pd.unique(table["class"]))
    if classes is None:
        classes = labels[1:] if len(labels) == 2 else labels
    fig, ax = single_axes(ax)
    for label in classes:
        part = table[table["class"] == label].sort_values("mean_predicted")
        if part.empty:
            raise ValueError(f"class {label!r} is not in the reliability table.")
        name = str(label)
        if ece is not None:
            name = f"{name} (ECE {ece[label]:.3f})"
        error = n_se * part["se"] if "se" in part else None
        ax.errorbar(
            part["mean_predicted"],
            part["frequency"],
            yerr=error,
            marker="o",
            capsize=3,
            label=name,
        )
    ax.plot([0, 1], [0, 1], "k--", linewidth=1)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("predicted probability")
    ax.set_ylabel("empirical frequency")
    ax.legend()
    return fig
