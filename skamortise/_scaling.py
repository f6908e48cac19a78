"""Standardisation of data and parameters, learned at fit time."""

from __future__ import annotations

import numpy as np

from ._data import Data


def _safe_scale(scale: np.ndarray) -> np.ndarray:
    # A constant feature or parameter keeps unit scale instead of dividing by zero.
    return np.where(scale > 1e-12 * np.maximum(1.0, np.abs(scale).max()), scale, 1.0)


def data_moments(data: Data) -> tuple[np.ndarray, np.ndarray]:
    """Location and scale of the data, ignoring padding.

    Vectors are standardised per feature (over data sets and replicates); grids, whose
    entries share one meaning, by a single location and scale.
    """
    values = data.values
    if data.mask is not None:
        values = values[data.mask]  # (n_observed, *event)
    elif data.replicated:
        values = values.reshape(-1, *data.event_shape)
    else:
        values = values.reshape(len(values), *data.event_shape)
    if len(data.event_shape) == 1:
        return values.mean(axis=0), _safe_scale(values.std(axis=0))
    loc, scale = values.mean(), values.std()
    return np.array(loc), _safe_scale(np.array([scale]))[0]


def standardise_data(data: Data, loc: np.ndarray, scale: np.ndarray) -> Data:
    """``(data - loc) / scale`` with padded entries kept at zero."""
    values = (data.values - loc) / scale
    if data.mask is not None:
        values[~data.mask] = 0.0
    return Data(values, data.mask, data.replicated)


def parameter_moments(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-parameter mean and standard deviation of a ``(n, p)`` array."""
    return y.mean(axis=0), _safe_scale(y.std(axis=0))
