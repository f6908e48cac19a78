"""The training-data source interface, and the source of arrays.

A source is what an estimator trains from. ``fit_source(source)`` opens it once:
``source.open(estimator, rng)`` validates its pairs against the estimator and
returns a :class:`TrainingSet` (the training rows, optional validation rows, how to
refresh the training rows, and the proposal the parameters came from); the
estimator then standardises, builds its network and runs the one training loop on
it. Every family trains from every source through that one path.

This module holds what the estimator base needs, and nothing that simulates:
sources that call a simulator live in :mod:`skamortise.sources`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ._checks import _parameter_names
from ._tables import ArrayStore, ArrayTable, StreamedTable, chunk_rows_of

__all__ = ["ArraySource", "TrainingSet", "TrainingSource"]


@dataclass
class TrainingSet:
    """What a source hands an estimator for one fit.

    Attributes
    ----------
    train : ArrayTable or StreamedTable
        The training pairs (before any validation split).
    valid : table or None
        Validation pairs of the source's own (then ``split`` is ignored).
    split : bool
        Whether the estimator holds out ``validation_fraction`` of ``train``.
    y_ndim : int
        Axes of the targets as given (1-D targets give 1-D predictions).
    names : list of str
        Parameter names.
    parameter_range : (ndarray, ndarray)
        Least and greatest target per parameter, over all of ``train``.
    refresh : callable or None
        ``refresh(epoch)`` returns fresh training rows (on-the-fly simulation).
    refresh_every : int or None
        Epochs between refreshes.
    proposal : object or None
        The distribution the training parameters were drawn from, when the source
        knows it and it has a density.
    focused : bool
        The pairs are a sequential round's, for one observed data set.
    continue_training : bool
        Train the current network further, whatever the estimator's ``warm_start``.
    min_patience : int
        Epochs without improvement before stopping, at least (the estimator's
        ``n_iter_no_change`` when larger).
    """

    train: object
    valid: object = None
    split: bool = True
    y_ndim: int = 2
    names: list = field(default_factory=list)
    parameter_range: tuple = ()
    refresh: Callable | None = None
    refresh_every: int | None = None
    proposal: object = None
    focused: bool = False
    continue_training: bool = False
    min_patience: int = 1


class TrainingSource:
    """Base of the training-data sources an estimator's ``fit_source`` takes.

    See Also
    --------
    skamortise.sources : the sources (arrays, arrays on disk, a simulator).
    """

    #: The distribution the training parameters come from, when known.
    proposal = None

    def open(self, estimator, rng) -> TrainingSet:
        """Validate the pairs against ``estimator``; draw from ``rng`` if needed."""
        raise NotImplementedError


class ArraySource(TrainingSource):
    """Training pairs in arrays, in memory or memory-mapped from disk.

    ``est.fit(X, y)`` is ``est.fit_source(ArraySource(X, y))``. A memory-mapped ``X``
    (:class:`numpy.memmap`, or ``numpy.load(path, mmap_mode="r")``) larger than one
    chunk is never loaded whole: it is validated and standardised in chunks and
    read a minibatch at a time, so a training set larger than memory trains with
    memory bounded by the chunk size. Its rows are read at random, so keep the file
    on a local disk.

    Parameters
    ----------
    X : array-like, list of arrays, or numpy.memmap
        The data sets, in any layout ``fit`` takes.
    y : array-like of shape (n_datasets,) or (n_datasets, n_parameters)
        Their parameters (labels for model comparison).
    chunk_size : int, default=None
        Data sets per chunk when ``X`` is memory-mapped; None reads 32 MiB at a
        time. An ``X`` of at most one chunk is read into memory, so that it trains
        exactly as the same array in memory does.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skamortise import NeuralBayesEstimator
    >>> from skamortise.sources import ArraySource
    >>> rng = np.random.default_rng(0)
    >>> y = rng.normal(size=(200, 1))
    >>> path = os.path.join(tempfile.mkdtemp(), "X.npy")
    >>> np.save(path, y[:, None, :] + rng.normal(size=(200, 10, 1)))
    >>> X = np.load(path, mmap_mode="r")
    >>> est = NeuralBayesEstimator(hidden_layer_sizes=(8,), max_epochs=2,
    ...                            random_state=0)
    >>> est.fit_source(ArraySource(X, y, chunk_size=50)).predict(X[:2]).shape
    (2, 1)
    """

    def __init__(self, X, y, *, chunk_size: int | None = None):
        if chunk_size is not None and (
            not isinstance(chunk_size, int)
            or isinstance(chunk_size, bool)
            or chunk_size < 1
        ):
            raise ValueError(f"chunk_size must be a positive int; got {chunk_size!r}.")
        self.X, self.y, self.chunk_size = X, y, chunk_size

    def open(self, estimator, rng) -> TrainingSet:
        X = self.X
        if isinstance(X, np.memmap) and len(X) > chunk_rows_of(
            X.shape[1:], self.chunk_size
        ):
            names = _parameter_names(self.y)
            y = self.y if isinstance(self.y, np.ndarray) else np.asarray(self.y)
            table = open_stream(ArrayStore(X, y), estimator, self.chunk_size)
            return streamed_set(table, estimator, y.ndim, names)
        data, y, y_ndim, names = estimator._validate_fit(self.X, self.y)
        table = ArrayTable(data, y)
        return TrainingSet(
            table, y_ndim=y_ndim, names=names, parameter_range=table.parameter_range()
        )


def open_stream(store, estimator, chunk_size) -> StreamedTable:
    """A streamed table of ``store`` in the estimator's layout."""
    if estimator._is_series() and len(store.row_shape) != 2:
        raise ValueError(
            "A streamed time series training set needs rows of shape (n_times, "
            f"n_channels) (X of 3 axes); got rows of shape {store.row_shape}. "
            "Reshape a univariate memory map to (n_datasets, n_times, 1)."
        )
    masked = estimator.missing == "mask"
    return StreamedTable(
        store,
        estimator._event_ndim(),
        estimator._encode_targets,
        chunk_size,
        absent=masked and not estimator._is_series(),
    )


def _check_finite(data, start: int, missing: str) -> None:
    if missing == "mask":  # NaN is a missing value
        bad, what = np.isinf(data.values), "infinity"
    else:
        bad, what = ~np.isfinite(data.values), "NaN or infinity"
    bad = bad.reshape(len(data), -1).any(axis=1)
    if bad.any():
        raise ValueError(
            f"Input X contains {what} (data set {start + np.argmax(bad)}); every "
            "entry must be finite."
            + (
                ""
                if missing == "mask"
                else " Pass missing='mask' to treat NaN as missing."
            )
        )


def streamed_set(table: StreamedTable, estimator, y_ndim: int, names) -> TrainingSet:
    """Validate a streamed table in one pass and describe it as a training set.

    The pass checks that every value of ``X`` is finite and lets the estimator learn
    what it needs of the targets (their range; the classes of model comparison).
    """
    estimator._reset_features(table.event_shape)

    def targets():
        start = 0
        for data, y in table.chunks(raw=True):
            _check_finite(data, start, estimator.missing)
            start += len(data)
            yield y

    y_min, y_max, default_names = estimator._scan_targets(targets())
    if names is None or len(names) != len(y_min):
        names = default_names
    return TrainingSet(
        table, y_ndim=y_ndim, names=names, parameter_range=(y_min, y_max)
    )
