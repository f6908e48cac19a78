"""Readers that turn an estimator's outputs into the diagnostics' fixed layouts.

The diagnostics use estimators only through their methods (``predict``,
``predict_interval``, ``predict_quantiles``, ``sample``, ``summarize``), so any object
with those methods can be checked. The functions here read those outputs (and the
test data and parameters) into float64 arrays of known shape; every diagnostic
module reads through them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._seeds import draw_seed

__all__ = [
    "DEFAULT_LEVELS",
    "as_parameters",
    "has_quantiles",
    "interval_from_samples",
    "intervals",
    "n_datasets",
    "replicate_counts",
    "point_estimates",
    "posterior_samples",
    "quantile_level_index",
    "quantile_outputs",
    "draw_seed",
    "take",
]

# Credibility levels checked when none are given.
DEFAULT_LEVELS = (0.5, 0.8, 0.9, 0.95)


def as_parameters(y, parameter_names=None) -> tuple[np.ndarray, list[str]]:
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


def n_datasets(X) -> int:
    return len(X)


def replicate_counts(X, n_replicates=None) -> np.ndarray:
    """Replicate count per data set as float (NaN where the data are not replicated).

    A list of arrays is ragged replicated data (each array's length is its count); a
    3-D array is ``(n_datasets, n_replicates, n_features)``; anything else carries no
    replicate count. ``n_replicates`` overrides the guess, for layouts such as image
    data where the number of axes alone does not tell.
    """
    n = n_datasets(X)
    if n_replicates is not None:
        counts = np.broadcast_to(np.asarray(n_replicates, dtype=np.float64), (n,))
        return counts.copy()
    if isinstance(X, (list, tuple)) and n > 0 and hasattr(X[0], "shape"):
        return np.array([np.shape(x)[0] for x in X], dtype=np.float64)
    if isinstance(X, np.ndarray) and X.ndim == 3:
        return np.full(n, X.shape[1], dtype=np.float64)
    return np.full(n, np.nan)


def take(X, index: np.ndarray):
    """The data sets of ``X`` at the integer positions ``index``, layout kept."""
    if isinstance(X, (list, tuple)):
        return [X[i] for i in index]
    if isinstance(X, (pd.DataFrame, pd.Series)):
        return X.iloc[index]
    return np.asarray(X)[index]


def point_estimates(estimator, X, n_parameters: int) -> np.ndarray:
    """``estimator.predict(X)`` as float64 ``(n, p)``; 1-D output is one parameter."""
    estimate = np.asarray(estimator.predict(X), dtype=np.float64)
    return estimate.reshape(len(estimate), n_parameters)


def posterior_samples(
    estimator,
    X,
    n_samples: int,
    seed: int,
    batch_size: int | None = None,
    n_parameters: int | None = None,
) -> np.ndarray:
    """Posterior draws ``(n, n_samples, p)`` from ``estimator.sample``.

    A 2-D result ``(n, n_samples)`` is read as one parameter. ``batch_size`` bounds
    the number of data sets sampled at once, to cap memory for large ``n_samples``;
    ``n_parameters``, when given, is the number of parameters the draws must have.
    """
    n = n_datasets(X)
    if batch_size is None or batch_size >= n:
        batches = [np.arange(n)]
    else:
        batches = np.array_split(np.arange(n), int(np.ceil(n / batch_size)))
    rng = check_random_state(seed)
    parts = []
    for index in batches:
        X_batch = X if len(batches) == 1 else take(X, index)
        draws = np.asarray(
            estimator.sample(X_batch, n_samples, random_state=draw_seed(rng)),
            dtype=np.float64,
        )
        if draws.ndim == 2:
            draws = draws[:, :, None]
        if draws.ndim != 3 or draws.shape[:2] != (len(index), n_samples):
            raise ValueError(
                "sample(X, n_samples) must return an array of shape (n_datasets, "
                f"n_samples, n_parameters); got shape {draws.shape}."
            )
        if n_parameters is not None and draws.shape[2] != n_parameters:
            raise ValueError(
                f"sample returned {draws.shape[2]} parameters but y holds "
                f"{n_parameters}."
            )
        parts.append(draws)
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def quantile_outputs(estimator, X, n_parameters: int):
    """Levels ``(K,)`` and ``predict_quantiles`` output as ``(n, p, K)``."""
    levels = np.asarray(estimator.quantiles_, dtype=np.float64).ravel()
    values = np.asarray(estimator.predict_quantiles(X), dtype=np.float64)
    return levels, values.reshape(len(values), n_parameters, len(levels))


def quantile_level_index(levels: np.ndarray, tau: float) -> int | None:
    match = np.flatnonzero(np.isclose(levels, tau, atol=1e-8))
    return int(match[0]) if match.size else None


def _interval_from_quantiles(estimator, X, n_parameters: int, alpha: float):
    """The central ``1 - alpha`` interval from stored quantile levels, if present."""
    levels, values = quantile_outputs(estimator, X, n_parameters)
    lo = quantile_level_index(levels, alpha / 2)
    hi = quantile_level_index(levels, 1 - alpha / 2)
    if lo is None or hi is None:
        raise ValueError(
            f"the estimator's quantile levels {levels.tolist()} hold no central "
            f"{1 - alpha:g} interval (levels {alpha / 2:g} and {1 - alpha / 2:g})."
        )
    return np.stack([values[:, :, lo], values[:, :, hi]], axis=-1)


def interval_from_samples(samples: np.ndarray, alpha: float) -> np.ndarray:
    """Equal-tailed ``1 - alpha`` intervals ``(n, p, 2)`` from draws ``(n, S, p)``."""
    bounds = np.quantile(samples, [alpha / 2, 1 - alpha / 2], axis=1)
    return np.moveaxis(bounds, 0, -1)


def has_quantiles(estimator) -> bool:
    return hasattr(estimator, "predict_quantiles") and hasattr(estimator, "quantiles_")


def intervals(
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
        return interval_from_samples(samples, alpha)
    if has_quantiles(estimator):
        return _interval_from_quantiles(estimator, X, n_parameters, alpha)
    return None
