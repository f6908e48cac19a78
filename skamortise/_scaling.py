"""Standardisation moments of data and parameters, learned at fit time.

The data's are applied by the network's first module
(:class:`~skamortise.nn.standardise.Standardise`), the parameters' by the parameter
map.
"""

from __future__ import annotations

import numpy as np

from ._data import Data


def _safe_scale(scale: np.ndarray) -> np.ndarray:
    # A constant feature or parameter keeps unit scale instead of dividing by zero.
    return np.where(scale > 1e-12 * np.maximum(1.0, np.abs(scale).max()), scale, 1.0)


def _observed(data: Data) -> np.ndarray:
    """The observed events, ``(n_observed, *event_shape)``, padding left out."""
    values = data.values
    if data.mask is not None:
        values = values[data.mask]  # (n_observed, *event)
    elif data.replicated:
        values = values.reshape(-1, *data.event_shape)
    else:
        values = values.reshape(len(values), *data.event_shape)
    return values


def _check_observed(counts: np.ndarray) -> None:
    if not np.all(counts > 0):
        j = int(np.flatnonzero(np.atleast_1d(counts) == 0)[0])
        raise ValueError(
            f"Feature {j} of X is missing (NaN) in every training data set; the "
            "estimator cannot learn its scale. Drop it or simulate it."
        )


def data_moments(data: Data) -> tuple[np.ndarray, np.ndarray]:
    """Location and scale of the data, ignoring padding and missing (NaN) entries.

    Vectors are standardised per feature (over data sets and replicates); grids, whose
    entries share one meaning, by a single location and scale.
    """
    values = _observed(data)
    grid = len(data.event_shape) > 1
    if np.isnan(values).any():
        values = values.reshape(-1, 1) if grid else values
        _check_observed((~np.isnan(values)).sum(axis=0))
        loc, scale = np.nanmean(values, axis=0), np.nanstd(values, axis=0)
        if grid:
            return np.array(loc[0]), _safe_scale(scale)[0]
        return loc, _safe_scale(scale)
    if not grid:
        return values.mean(axis=0), _safe_scale(values.std(axis=0))
    loc, scale = values.mean(), values.std()
    return np.array(loc), _safe_scale(np.array([scale]))[0]


class RunningMoments:
    """Location and scale of data or parameters accumulated chunk by chunk.

    Chan, Golub and LeVeque's pairwise update of counts, means and sums of squared
    deviations: the moments of a training set read in chunks, without holding it.
    They agree with :func:`data_moments` and :func:`parameter_moments` of the whole
    set to rounding.
    """

    def __init__(self):
        self.n, self.mean, self.m2 = 0, 0.0, 0.0
        self.grid = False

    def _add(self, values: np.ndarray) -> None:
        if len(values) == 0:
            return
        missing = np.isnan(values)
        if missing.any():  # per-feature counts of the observed entries
            n = (~missing).sum(axis=0)
            mean = np.where(missing, 0.0, values).sum(axis=0) / np.maximum(n, 1)
            m2 = np.where(missing, 0.0, values - mean).__pow__(2).sum(axis=0)
        else:
            n = len(values)
            mean = values.mean(axis=0)
            m2 = values.var(axis=0) * n  # one temporary the size of the chunk
        total = self.n + n
        share = np.divide(n, total, out=np.zeros(np.shape(total)), where=total > 0)
        delta = mean - self.mean
        self.mean = self.mean + delta * share
        self.m2 = self.m2 + m2 + delta**2 * (self.n * share)
        self.n = total

    def add_data(self, data: Data) -> None:
        values = _observed(data)
        self.grid = len(data.event_shape) > 1
        # Grid entries share one meaning: one location and scale for all of them.
        self._add(values.reshape(-1, 1) if self.grid else values)

    def add_parameters(self, y: np.ndarray) -> None:
        self._add(y)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        _check_observed(np.atleast_1d(self.n))
        scale = _safe_scale(np.atleast_1d(np.sqrt(self.m2 / self.n)))
        if self.grid:
            return np.array(self.mean[0]), scale[0]
        return self.mean, scale


def covariate_moments(covariates: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-covariate mean and standard deviation (0 and 1 without rows)."""
    if len(covariates) == 0:
        k = covariates.shape[1]
        return np.zeros(k), np.ones(k)
    return covariates.mean(axis=0), _safe_scale(covariates.std(axis=0))


def log_count_moments(counts: np.ndarray | None) -> tuple[float, float] | None:
    """Mean and standard deviation of the log replicate counts (series lengths), or
    None for unreplicated data or none at all."""
    if counts is None or len(counts) == 0:
        return None
    log_counts = np.log(counts)
    return float(log_counts.mean()), float(_safe_scale(log_counts.std()))


def parameter_moments(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-parameter mean and standard deviation of a ``(n, p)`` array."""
    return y.mean(axis=0), _safe_scale(y.std(axis=0))
