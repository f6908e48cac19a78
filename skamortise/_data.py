"""The package's data layouts and their validation.

One data set is an *event* (a feature vector, or a grid for convolutional summaries)
or a set of iid *replicates* of such events. Three containers are accepted:

- an array ``(n_datasets, *event_shape)``: one event per data set;
- an array ``(n_datasets, n_replicates, *event_shape)``: replicated data;
- a list of arrays ``(n_replicates_i, *event_shape)``: replicated data whose replicate
  counts differ; it is padded to the largest count and a mask marks real entries.

The number of trailing axes that form one event (``event_ndim``) is a property of the
summary network: 1 for vectors (MLP, DeepSet), 2 or 3 for grids (CNN).

Time series share the container, not the meaning: :func:`as_series` puts the time
steps of each series on the second axis, ``(n_datasets, n_times, n_channels)``, padded
at the end and masked when lengths differ. That axis is ordered, so only a series
network (one that declares ``ordered = True``) reads it; the estimator picks
:func:`as_series` or :func:`as_data` from its summary network, never from the shape.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from sklearn.utils import check_array

__all__ = ["Data", "as_data", "as_series", "is_ragged"]


@dataclass(frozen=True)
class Data:
    """Validated data sets in one padded array.

    Attributes
    ----------
    values : ndarray of shape (n_datasets, *event_shape) or \
            (n_datasets, n_replicates, *event_shape)
        The data, float64; padded entries of ragged input are zero.
    mask : ndarray of shape (n_datasets, n_replicates) of bool, or None
        True where a replicate is observed; None when every replicate is.
    replicated : bool
        Whether the second axis holds replicates (from :func:`as_series`: the time
        steps of each series), a variable-length axis that is masked when ragged.
    """

    values: np.ndarray
    mask: np.ndarray | None
    replicated: bool

    def __len__(self) -> int:
        return self.values.shape[0]

    @property
    def event_shape(self) -> tuple[int, ...]:
        return self.values.shape[2:] if self.replicated else self.values.shape[1:]

    @property
    def n_replicates(self) -> np.ndarray | None:
        """Replicate count of each data set, or None for unreplicated data."""
        if not self.replicated:
            return None
        if self.mask is None:
            return np.full(len(self), self.values.shape[1], dtype=np.int64)
        return self.mask.sum(axis=1)

    @property
    def max_count(self) -> int:
        """Largest replicate count (1 for unreplicated or empty data)."""
        counts = self.n_replicates
        return 1 if counts is None or len(counts) == 0 else int(counts.max())

    def take(self, index) -> Data:
        """The data sets at ``index`` (an integer array or slice)."""
        mask = None if self.mask is None else self.mask[index]
        return Data(self.values[index], mask, self.replicated)


def is_ragged(X) -> bool:
    """Whether ``X`` is a list of per-data-set arrays rather than one array."""
    return isinstance(X, (list, tuple)) and len(X) > 0 and hasattr(X[0], "shape")


def _finite(array: np.ndarray, name: str) -> None:
    if not np.isfinite(array).all():
        raise ValueError(
            f"Input {name} contains NaN or infinity; every entry must be finite."
        )


def _filled(values: np.ndarray, name: str, entries: str) -> None:
    """Refuse an array with an empty axis or a non-finite entry."""
    if min(values.shape) == 0:
        raise ValueError(
            f"{name} of shape {values.shape} is empty; every axis needs at least one "
            f"entry (0 sample(s) or 0 {entries} given)."
        )
    _finite(values, name)


def as_data(X, *, event_ndim: int = 1, name: str = "X") -> Data:
    """Validate ``X`` in any of the accepted layouts.

    Arrays with ``1 + event_ndim`` axes are one event per data set; arrays with
    ``2 + event_ndim`` axes, and lists of arrays with ``1 + event_ndim`` axes, are
    replicated. Two-dimensional tabular input should go through sklearn's
    ``validate_data`` instead (feature names); this function handles the rest.

    Raises
    ------
    ValueError
        For non-finite values, empty input, or a shape that fits no layout.
    TypeError
        For sparse input.
    """
    if sp.issparse(X):
        raise TypeError(
            f"Sparse {name} is not supported; pass a dense array of shape "
            "(n_datasets, n_features) or (n_datasets, n_replicates, n_features)."
        )
    if is_ragged(X):
        return _as_ragged(X, event_ndim=event_ndim, name=name)
    values = _piece(X, name)
    if values.ndim not in (1 + event_ndim, 2 + event_ndim):
        raise ValueError(
            f"{name} must have {1 + event_ndim} axes (n_datasets, *event) or "
            f"{2 + event_ndim} axes (n_datasets, n_replicates, *event), or be a list "
            f"of {1 + event_ndim}-axis arrays; got an array of shape {values.shape}."
        )
    _filled(values, name, "feature(s)")
    return Data(values, None, values.ndim == 2 + event_ndim)


def _piece(x, name: str) -> np.ndarray:
    """One data set of a list as a float64 array (any number of axes)."""
    return check_array(
        x,
        dtype=np.float64,
        allow_nd=True,
        ensure_2d=False,
        ensure_all_finite=False,
        input_name=name,
    )


def _as_ragged(X, *, event_ndim: int, name: str) -> Data:
    arrays = []
    for i, x in enumerate(X):
        x = _piece(x, f"{name}[{i}]")
        if x.ndim != 1 + event_ndim:
            raise ValueError(
                f"Each data set in the list {name} must have {1 + event_ndim} axes "
                f"(n_replicates, *event); {name}[{i}] has shape {x.shape}."
            )
        if x.shape[0] == 0:
            raise ValueError(f"{name}[{i}] holds no replicates (0 sample(s)).")
        if arrays and x.shape[1:] != arrays[0].shape[1:]:
            raise ValueError(
                f"All data sets in {name} must share the event shape; {name}[0] has "
                f"{arrays[0].shape[1:]} but {name}[{i}] has {x.shape[1:]}."
            )
        _finite(x, f"{name}[{i}]")
        arrays.append(x)
    return _padded(arrays)


def _padded(arrays: list[np.ndarray]) -> Data:
    """Stack arrays along a new first axis, padding the second with masked zeros."""
    counts = np.array([len(x) for x in arrays])
    if (counts == counts[0]).all():
        return Data(np.stack(arrays), None, True)
    values = np.zeros((len(arrays), counts.max(), *arrays[0].shape[1:]))
    mask = np.arange(counts.max())[None, :] < counts[:, None]
    for i, x in enumerate(arrays):
        values[i, : len(x)] = x
    return Data(values, mask, True)


_SERIES_LAYOUTS = (
    "an array (n_datasets, n_times) or (n_datasets, n_times, n_channels), or a list "
    "of (n_times_i,) or (n_times_i, n_channels) arrays"
)


def as_series(X, *, name: str = "X") -> Data:
    """Validate time series: one series per data set, time on the second axis.

    A 2-D array ``(n_datasets, n_times)`` holds one channel per series, a 3-D array
    ``(n_datasets, n_times, n_channels)`` several; a list of ``(n_times_i,)`` or
    ``(n_times_i, n_channels)`` arrays holds series of different lengths, which are
    padded at the end with a mask marking the observed time steps.

    Returns
    -------
    Data
        ``values`` of shape ``(n_datasets, n_times, n_channels)``, ``mask`` of shape
        ``(n_datasets, n_times)`` or None, ``replicated=True`` (a variable-length
        second axis).

    Raises
    ------
    ValueError
        For non-finite values, empty input or series, channel counts that differ,
        or a shape that fits no series layout.
    TypeError
        For sparse input.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise._data import as_series
    >>> data = as_series([np.zeros(3), np.ones(5)])
    >>> data.values.shape, data.mask.sum(axis=1).tolist()
    ((2, 5, 1), [3, 5])
    """
    if sp.issparse(X):
        raise TypeError(f"Sparse {name} is not supported; pass {_SERIES_LAYOUTS}.")
    if is_ragged(X):
        arrays = []
        for i, x in enumerate(X):
            x = _piece(x, f"{name}[{i}]")
            if x.ndim not in (1, 2):
                raise ValueError(
                    f"Each series in the list {name} must be (n_times,) or (n_times, "
                    f"n_channels); {name}[{i}] has shape {x.shape}."
                )
            x = x.reshape(len(x), -1)
            if min(x.shape) == 0:
                raise ValueError(
                    f"{name}[{i}] of shape {x.shape} is empty; a series needs at "
                    "least one time step and one channel."
                )
            if arrays and x.shape[1] != arrays[0].shape[1]:
                raise ValueError(
                    f"All series in {name} must have the same number of channels; "
                    f"{name}[0] has {arrays[0].shape[1]} but {name}[{i}] has "
                    f"{x.shape[1]}."
                )
            _finite(x, f"{name}[{i}]")
            arrays.append(x)
        return _padded(arrays)
    values = _piece(X, name)
    if values.ndim not in (2, 3):
        hint = (
            " Reshape your data: one series of n_times steps is X.reshape(1, -1)."
            if values.ndim == 1
            else ""
        )
        raise ValueError(
            f"{name} must be {_SERIES_LAYOUTS}; got an array of shape "
            f"{values.shape}.{hint}"
        )
    _filled(values, name, "time step(s)")
    return Data(values.reshape(*values.shape[:2], -1), None, True)
