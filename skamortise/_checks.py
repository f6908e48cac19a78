"""Small validation helpers of the estimator base."""

from __future__ import annotations

from numbers import Integral, Real

import numpy as np

from ._data import is_ragged


def check_n_samples(n_samples) -> int:
    """``n_samples`` as an int, or a ValueError naming it."""
    if not isinstance(n_samples, Integral) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
    return int(n_samples)


def check_alpha(alpha) -> float:
    """``alpha`` (one minus a credibility or confidence) in (0, 1), or a ValueError."""
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0 < alpha < 1:
        raise ValueError(f"alpha must be a number in (0, 1); got {alpha!r}.")
    return float(alpha)


def check_parameter_values(y, n_datasets: int, n_parameters: int) -> np.ndarray:
    """Parameter values ``(n_datasets, [k,] n_parameters)`` as a float64 array.

    One value per data set, or ``k`` of them; a 1-D ``y`` is one value per data set
    of a single parameter. Anything else, or a non-finite value, is a ValueError.
    """
    theta = np.array(y, dtype=np.float64)
    if theta.ndim == 1 and n_parameters == 1:
        theta = theta[:, None]
    if (
        theta.ndim not in (2, 3)
        or theta.shape[-1] != n_parameters
        or len(theta) != n_datasets
    ):
        raise ValueError(
            f"y must have shape (n_datasets, {n_parameters}) or (n_datasets, k, "
            f"{n_parameters}) with n_datasets={n_datasets}; got {theta.shape}."
        )
    if not np.isfinite(theta).all():
        raise ValueError("y contains NaN or infinity.")
    return theta


def check_levels(levels, name: str = "quantiles") -> np.ndarray:
    """Quantile levels: a non-empty, strictly increasing 1-D sequence in (0, 1).

    The one rule for every estimator that returns quantiles.
    """
    try:
        values = np.asarray(levels, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a sequence of numbers; got {levels!r}."
        ) from None
    values = np.atleast_1d(values)
    if values.ndim != 1 or values.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence; got {levels!r}.")
    if not ((values > 0) & (values < 1)).all():
        raise ValueError(f"{name} must lie strictly between 0 and 1; got {levels!r}.")
    if values.size > 1 and not (np.diff(values) > 0).all():
        raise ValueError(
            f"{name} must be strictly increasing without duplicates; got {levels!r}."
        )
    return values


def _check_scales(loc, scale, name: str) -> None:
    if not (np.isfinite(loc).all() and np.isfinite(scale).all()):
        raise ValueError(
            f"{name} has values too large to standardise (their mean or standard "
            "deviation overflows float64); rescale them before fitting."
        )


def is_table(X) -> bool:
    """Whether ``X`` is a 2-D table (one vector per data set, at most 2 axes).

    The one layout rule of the estimators and the summary transformers: tables go
    through sklearn's ``validate_data``; replicated, ragged and gridded data through
    :func:`skamortise._data.as_data`.
    """
    return not is_ragged(X) and _ndim(X) <= 2


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
