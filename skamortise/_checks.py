"""Small validation helpers of the estimator base."""

from __future__ import annotations

from numbers import Integral

import numpy as np


def check_n_samples(n_samples) -> int:
    """``n_samples`` as an int, or a ValueError naming it."""
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
    return int(n_samples)


def _check_scales(loc, scale, name: str) -> None:
    if not (np.isfinite(loc).all() and np.isfinite(scale).all()):
        raise ValueError(
            f"{name} has values too large to standardise (their mean or standard "
            "deviation overflows float64); rescale them before fitting."
        )


def _ndim(X) -> int:
    ndim = getattr(X, "ndim", None)
    if ndim is None:
        try:
            ndim = np.asarray(X).ndim
        except ValueError:  # nested lists of unequal lengths: not tabular
            ndim = 3
    return ndim


def _parameter_names(y):
    if hasattr(y, "columns"):
        return [str(c) for c in y.columns]
    if getattr(y, "name", None) is not None:
        return [str(y.name)]
    return None


def _check_hidden(hidden_layer_sizes) -> tuple[int, ...]:
    sizes = tuple(np.atleast_1d(np.asarray(hidden_layer_sizes)).tolist())
    if not sizes or not all(isinstance(s, int) and s >= 1 for s in sizes):
        raise ValueError(
            "hidden_layer_sizes must be a non-empty sequence of positive ints; got "
            f"{hidden_layer_sizes!r}."
        )
    return sizes
