"""Empirical coverage of credible intervals, and reading an estimator's outputs.

The diagnostics use estimators only through their methods (``predict``,
``predict_interval``, ``predict_quantiles``, ``sample``), so any object with those
methods can be checked. The private helpers at the top of this module turn those
outputs into the fixed layouts the diagnostics work with; :func:`coverage` below
uses them to compare credible intervals with their nominal level.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._seeds import draw_seed

__all__ = ["coverage"]

DEFAULT_LEVELS = (0.5, 0.8, 0.9, 0.95)


# ---------------------------------------------------------------------------
# Reading data, parameters and estimator outputs (shared by the diagnostics)
# ---------------------------------------------------------------------------


def _as_parameters(y, parameter_names=None) -> tuple[np.ndarray, list[str]]:
    """Return ``y`` as float64 ``(n, p)`` and one name per column.

    Names come from ``parameter_names``, else from a DataFrame's columns or a Series'
    name, else ``theta_0, theta_1, ...``.
    """
    names = None
    if isinstance(y, pd.DataFrame):
        names = [str(c) for c in y.columns]
    elif isinstance(y, pd.Series) and y.name is not None:
        names = [str(y.name)]
    values = np.asarray(y, dtype=np.float64)
    if values.ndim == 1:
        values = values[:, None]
    if values.ndim != 2:
        raise ValueError(
            "y must have shape (n_datasets, n_parameters) or (n_datasets,); "
            f"got shape {values.shape}."
        )
    if parameter_names is not None:
        names = [str(name) for name in parameter_names]
    if names is None:
        names = [f"theta_{j}" for j in range(values.shape[1])]
    if len(names) != values.shape[1]:
        raise ValueError(
            f"{len(names)} parameter names given for {values.shape[1]} parameters."
        )
    return values, names


def _n_datasets(X) -> int:
    return len(X)


def _n_replicates(X, n_replicates=None) -> np.ndarray:
    """Replicate count per data set as float (NaN where the data are not replicated).

    A list of arrays is ragged replicated data (each array's length is its count); a
    3-D array is ``(n_datasets, n_replicates, n_features)``; anything else carries no
    replicate count. ``n_replicates`` overrides the guess, for layouts such as image
    data where the number of axes alone does not tell.
    """
    n = _n_datasets(X)
    if n_replicates is not None:
        counts = np.broadcast_to(np.asarray(n_replicates, dtype=np.float64), (n,))
        return counts.copy()
    if isinstance(X, (list, tuple)) and n > 0 and hasattr(X[0], "shape"):
        return np.array([np.shape(x)[0] for x in X], dtype=np.float64)
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return np.full(n, X.shape[1], dtype=np.float64)
    return np.full(n, np.nan)


def _take(X, index: np.ndarray):
    """The data sets of ``X`` at the integer positions ``index``, layout kept."""
    if isinstance(X, (list, tuple)):
        return [X[i] for i in index]
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[index]
    return np.asarray(X)[index]


def _seed(rng: np.random.RandomState) -> int:
    """A fresh integer seed, so any estimator's ``random_state`` handling accepts it."""
    return draw_seed(rng)


def _point_estimates(estimator, X, n_parameters: int) -> np.ndarray:
    """``estimator.predict(X)`` as float64 ``(n, p)``; 1-D output is one parameter."""
    estimate = np.asarray(estimator.predict(X), dtype=np.float64)
    return estimate.reshape(len(estimate), n_parameters)


def _posterior_samples(
    estimator, X, n_samples: int, seed: int, batch_size: int | None = None
) -> np.ndarray:
    """Posterior draws ``(n, n_samples, p)`` from ``estimator.sample``.

    A 2-D result ``(n, n_samples)`` is read as one parameter. ``batch_size`` bounds
    the number of data sets sampled at once, to cap memory for large ``n_samples``.
    """
    n = _n_datasets(X)
    if batch_size is None or batch_size >= n:
        batches = [np.arange(n)]
    else:
        batches = np.array_split(np.arange(n), int(np.ceil(n / batch_size)))
    rng = check_random_state(seed)
    parts = []
    for index in batches:
        X_batch = X if len(batches) == 1 else _take(X, index)
        draws = np.asarray(
            estimator.sample(X_batch, n_samples, random_state=_seed(rng)),
            dtype=np.float64,
        )
        if draws.ndim == 2:
            draws = draws[:, :, None]
        if draws.ndim != 3 or draws.shape[:2] != (len(index), n_samples):
            raise ValueError(
                "sample(X, n_samples) must return an array of shape (n_datasets, "
                f"n_samples, n_parameters); got shape {draws.shape}."
            )
        parts.append(draws)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _quantile_outputs(estimator, X, n_parameters: int):
    """Levels ``(K,)`` and ``predict_quantiles`` output as ``(n, p, K)``."""
    levels = np.asarray(estimator.quantiles_, dtype=np.float64).ravel()
    values = np.asarray(estimator.predict_quantiles(X), dtype=np.float64)
    return levels, values.reshape(len(values), n_parameters, len(levels))


def _quantile_level_index(levels: np.ndarray, tau: float) -> int | None:
    match = np.flatnonzero(np.isclose(levels, tau, atol=1e-8))
    return int(match[0]) if match.size else None


def _interval_from_quantiles(estimator, X, n_parameters: int, alpha: float):
    """The central ``1 - alpha`` interval from stored quantile levels, if present."""
    levels, values = _quantile_outputs(estimator, X, n_parameters)
    lo = _quantile_level_index(levels, alpha / 2)
    hi = _quantile_level_index(levels, 1 - alpha / 2)
    if lo is None or hi is None:
        raise ValueError(
            f"the estimator's quantile levels {levels.tolist()} hold no central "
            f"{1 - alpha:g} interval (levels {alpha / 2:g} and {1 - alpha / 2:g})."
        )
    return np.stack([values[:, :, lo], values[:, :, hi]], axis=-1)


def _interval_from_samples(samples: np.ndarray, alpha: float) -> np.ndarray:
    """Equal-tailed ``1 - alpha`` intervals ``(n, p, 2)`` from draws ``(n, S, p)``."""
    bounds = np.quantile(samples, [alpha / 2, 1 - alpha / 2], axis=1)
    return np.moveaxis(bounds, 0, -1)


def _has_quantiles(estimator) -> bool:
    return hasattr(estimator, "predict_quantiles") and hasattr(estimator, "quantiles_")


def _intervals(
    estimator, X, n_parameters: int, alpha: float, samples: np.ndarray | None = None
) -> np.ndarray | None:
    """Central ``1 - alpha`` intervals ``(n, p, 2)``, or None when none can be had.

    The estimator's own ``predict_interval`` wins; then quantiles of the given
    posterior ``samples``; then a matching pair of ``predict_quantiles`` levels.
    """
    if hasattr(estimator, "predict_interval"):
        interval = np.asarray(estimator.predict_interval(X, alpha=alpha), np.float64)
        return interval.reshape(len(interval), n_parameters, 2)
    if samples is not None:
        return _interval_from_samples(samples, alpha)
    if _has_quantiles(estimator):
        return _interval_from_quantiles(estimator, X, n_parameters, alpha)
    return None


# ---------------------------------------------------------------------------
# Coverage
# ---------------------------------------------------------------------------


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
    theta, names = _as_parameters(y, parameter_names)
    n, p = theta.shape
    if _n_datasets(X) != n:
        raise ValueError(f"X holds {_n_datasets(X)} data sets but y holds {n}.")
    levels = np.asarray(levels, dtype=np.float64).ravel()
    if np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"levels must lie in (0, 1); got {levels.tolist()}.")
    rng = check_random_state(random_state)

    samples = None
    if not hasattr(estimator, "predict_interval") and hasattr(estimator, "sample"):
        samples = _posterior_samples(estimator, X, n_samples, _seed(rng))
    rows = []
    for level in levels:
        interval = _intervals(estimator, X, p, 1 - level, samples)
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
