"""What the example scripts share: key numbers checked against known answers.

Every example ends by checking its key numbers (a C2ST against exact posterior
draws, a risk ratio against the exact posterior mean, an interval coverage against
its nominal level) with :func:`check_known_answers`. Each number is printed as a
line ``KEY <name> <value> <low> <high>``, which ``tests/test_examples.py`` and
``docs/make_gallery.py`` read, and the script exits with an error when a number
lies outside the range that its simulation budget reaches. The figures carry the
same numbers in a caption (:func:`caption`), and pair plots that compare draws
with exact ones get the same axis limits (:func:`share_limits`).
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np


def check_known_answers(**numbers: tuple[float, float, float]) -> None:
    """Print ``KEY`` lines; exit with an error if a value leaves its range.

    Parameters
    ----------
    **numbers : (value, low, high)
        Each key number with the range, around its known answer, that the run's
        simulation budget should reach.
    """
    outside = []
    for name, (value, low, high) in numbers.items():
        value = float(value)
        print(f"KEY {name} {value:.4f} {low:g} {high:g}")
        if not low <= value <= high:  # NaN is outside too
            outside.append(f"{name} = {value:.4f} is outside [{low:g}, {high:g}]")
    if outside:
        sys.exit("Known-answer check failed: " + "; ".join(outside))


def risk_ratio_range(
    estimate, exact_mean, exact_variance, excess: float
) -> list[tuple[float, float, float]]:
    """``(ratio, low, high)`` per parameter for :func:`check_known_answers`.

    The risk ratio is the Bayes risk (mean squared error) of ``estimate`` over
    that of the exact posterior mean, the smallest possible: 1 at best. Given the
    data, the squared error of an estimate ``e`` has expectation ``(e - exact
    mean)^2 + posterior variance``, so the ratio is estimated as ``mean((e - exact
    mean)^2 + variance) / mean(variance)`` over the test data sets: the same
    quantity as the ratio of squared errors against the true parameters, without
    the noise of one parameter draw per data set. The arrays have shape ``(n,)``
    or ``(n, n_parameters)``. The range runs from 1 to ``1 + excess``, what the
    network may add at the run's budget, plus three standard errors (delta method)
    of the estimated ratio.
    """
    variance = np.asarray(exact_variance, dtype=np.float64)
    variance = variance.reshape(len(variance), -1)
    gap = (np.asarray(estimate) - np.asarray(exact_mean)).reshape(variance.shape) ** 2
    ratio = 1 + gap.mean(axis=0) / variance.mean(axis=0)
    spread = (gap - (ratio - 1) * variance).std(axis=0, ddof=1)
    se = spread / np.sqrt(len(gap)) / variance.mean(axis=0)
    return [
        (r, 1.0, round(1 + excess + 3 * s, 3)) for r, s in zip(ratio, se, strict=True)
    ]


def gaussian_replicates_variance(model, X) -> np.ndarray:
    """Exact posterior variances of ``(mu, sigma)`` under
    :class:`skamortise.models.GaussianReplicates`, shape ``(n, 2)``."""
    q = model.posterior_params(X)
    mean_sigma = model.posterior_mean(X)[:, 1]
    # sigma^2 is inverse-gamma(alpha, beta); mu | sigma^2 is normal with variance
    # sigma^2 / kappa.
    mean_sigma2 = q["beta"] / (q["alpha"] - 1)
    return np.column_stack([mean_sigma2 / q["kappa"], mean_sigma2 - mean_sigma**2])


def coverage_range(
    coverage: float, nominal: float, n: int, slack: float
) -> tuple[float, float, float]:
    """``(coverage, low, high)`` for :func:`check_known_answers`.

    The range is ``nominal`` plus or minus three binomial standard deviations of a
    coverage estimated from ``n`` data sets, widened by ``slack`` for what the
    network's approximation may add.
    """
    half = 3 * np.sqrt(nominal * (1 - nominal) / n) + slack
    return coverage, round(nominal - half, 3), round(min(nominal + half, 1.0), 3)


def coverage_error(table, slack: float) -> tuple[float, float, float]:
    """``(error, 0, high)`` for :func:`check_known_answers` from a coverage table.

    ``error`` is the largest ``|coverage - level|`` over the rows of a table with
    columns ``level``, ``coverage`` and ``se`` (as :func:`skamortise.diagnostics.
    coverage` returns it); ``high`` is three of the largest standard errors plus
    ``slack``.
    """
    error = float((table["coverage"] - table["level"]).abs().max())
    return error, 0.0, round(3 * float(table["se"].max()) + slack, 3)


def grid_draws(grids, density, n: int, rng) -> np.ndarray:
    """Draws from a density tabulated on a regular grid, shape ``(n, len(grids))``.

    ``density`` holds the (unnormalised) density at ``meshgrid(*grids,
    indexing="ij")``; each draw picks a grid point with probability proportional
    to it and spreads uniformly over that point's cell.
    """
    weights = np.asarray(density, dtype=np.float64).ravel()
    cells = rng.choice(weights.size, size=n, p=weights / weights.sum())
    index = np.unravel_index(cells, np.shape(density))
    columns = []
    for grid, i in zip(grids, index, strict=True):
        half = (grid[1] - grid[0]) / 2
        columns.append(
            np.clip(grid[i] + rng.uniform(-half, half, n), grid[0], grid[-1])
        )
    return np.column_stack(columns)


def caption(fig, text: str) -> None:
    """Write ``text`` under the figure (saved with ``bbox_inches="tight"``)."""
    fig.text(0.5, 0.0, text, ha="center", va="top", fontsize=9, wrap=True)


def share_limits(*figures) -> None:
    """Give corresponding panels of several pair plots the same axis limits.

    The limits are the union of the panels' own limits, so no draw is hidden.
    """
    for panels in zip(*(fig.axes for fig in figures), strict=True):
        shown = [ax for ax in panels if ax.get_visible()]
        for get, set_ in (("get_xlim", "set_xlim"), ("get_ylim", "set_ylim")):
            limits = np.array([getattr(ax, get)() for ax in shown])
            for ax in shown:
                getattr(ax, set_)(limits[:, 0].min(), limits[:, 1].max())


def save_or_show(figures: dict, out: Path | None) -> None:
    """Save each figure as ``out/<name>.png``, or show them when ``out`` is None."""
    if out is None:
        import matplotlib.pyplot as plt

        plt.show()
        return
    out.mkdir(parents=True, exist_ok=True)
    for name, figure in figures.items():
        figure.savefig(out / f"{name}.png", dpi=100, bbox_inches="tight")
