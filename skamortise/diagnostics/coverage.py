"""Empirical coverage of credible intervals against their nominal level."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from ._readers import (
    DEFAULT_LEVELS,
    as_parameters,
    draw_seed,
    intervals,
    n_datasets,
    posterior_samples,
)

__all__ = ["coverage"]


def coverage(
    estimator,
    X,
    y,
    levels: Sequence[float] = DEFAULT_LEVELS,
    *,
    n_samples: int = 1000,
    parameter_names: Sequence[str] | None = None,
    random_state=None,
) -> pd.DataFrame:
    """Empirical coverage of central credible intervals against their nominal level.

    For each level ``c`` and parameter, the share of data sets whose true parameter
    lies in the estimator's central ``c`` interval. Intervals come from
    ``estimator.predict_interval(X, alpha=1 - c)`` when the estimator has it, else
    from equal-tailed quantiles of ``n_samples`` draws of ``estimator.sample``, else
    from a matching pair of ``predict_quantiles`` levels.

    Parameters
    ----------
    estimator : object
        Fitted estimator with ``predict_interval``, ``sample`` or
        ``predict_quantiles`` (with a ``quantiles_`` attribute).
    X : array-like or list of array-like
        Test data: ``(n_datasets, n_features)``, ``(n_datasets, n_replicates,
        n_features)`` or a list of ``(n_replicates_i, n_features)`` arrays.
    y : array-like of shape (n_datasets, n_parameters) or (n_datasets,)
        True parameters of the test data; a DataFrame names the parameters.
    levels : sequence of float, default=(0.5, 0.8, 0.9, 0.95)
        Nominal credibility levels, each in (0, 1).
    n_samples : int, default=1000
        Posterior draws per data set when intervals come from ``sample``.
    parameter_names : sequence of str, default=None
        Names of the parameters; overrides the columns of a DataFrame ``y``.
    random_state : int, RandomState instance or None, default=None
        Seeds the posterior draws.

    Returns
    -------
    pandas.DataFrame
        One row per parameter and level with columns ``parameter``, ``level``
        (nominal), ``coverage`` (empirical), ``se`` (binomial Monte Carlo standard
        error under nominal coverage, ``sqrt(level * (1 - level) / n)``), ``width``
        (mean interval width) and ``n`` (number of data sets).

    See Also
    --------
    assess : Risk, bias and interval summaries on a test set.
    sbc : Simulation-based calibration, which checks every level at once.

    Notes
    -----
    Coverage at a handful of levels is a coarse check: a posterior can be calibrated
    marginally on average and still be wrong for particular data. Differences larger
    than about three standard errors are unlikely to be Monte Carlo noise.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import coverage
    >>> class ExactPosterior:  # x ~ N(mu, 1), mu ~ N(0, 1): mu | x ~ N(x/2, 1/2)
    ...     def sample(self, X, n_samples, random_state=None):
    ...         rng = np.random.default_rng(random_state)
    ...         z = rng.standard_normal((len(X), n_samples, 1))
    ...         return X[:, None, :] / 2 + np.sqrt(0.5) * z
    >>> rng = np.random.default_rng(0)
    >>> mu = rng.standard_normal((2000, 1))
    >>> x = mu + rng.standard_normal((2000, 1))
    >>> table = coverage(ExactPosterior(), x, mu, levels=[0.9], random_state=0)
    >>> bool(abs(table["coverage"].iloc[0] - 0.9) < 3 * table["se"].iloc[0])
    True
    """
    theta, names = as_parameters(y, parameter_names)
    n, p = theta.shape
    if n_datasets(X) != n:
        raise ValueError(f"X holds {n_datasets(X)} data sets but y holds {n}.")
    levels = np.asarray(levels, dtype=np.float64).ravel()
    if np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"levels must lie in (0, 1); got {levels.tolist()}.")
    rng = check_random_state(random_state)

    samples = None
    if not hasattr(estimator, "predict_interval") and hasattr(estimator, "sample"):
        samples = posterior_samples(
            estimator, X, n_samples, draw_seed(rng), n_parameters=p
        )
    rows = []
    for level in levels:
        interval = intervals(estimator, X, p, 1 - level, samples)
        if interval is None:
            raise TypeError(
                f"{type(estimator).__name__} has none of predict_interval, sample "
                "or predict_quantiles, so it gives no credible intervals."
            )
        inside = (interval[..., 0] <= theta) & (theta <= interval[..., 1])
        width = interval[..., 1] - interval[..., 0]
        for j, name in enumerate(names):
            rows.append(
                {
                    "parameter": name,
                    "level": float(level),
                    "coverage": float(inside[:, j].mean()),
                    "se": float(np.sqrt(level * (1 - level) / n)),
                    "width": float(width[:, j].mean()),
                    "n": n,
                }
            )
    return pd.DataFrame(rows)
