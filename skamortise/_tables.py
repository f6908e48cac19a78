"""Training pairs as rows a source hands the estimator: in memory, or read in pieces.

An ``ArrayTable`` holds validated data and parameters in memory. A ``StreamedTable``
reads rows from a *store* (memory-mapped arrays, a shard directory) on demand: a
chunk at a time for the passes over the whole set (validation, standardisation
moments) and a minibatch at a time in training, so its memory does not grow with
the set. Both give the same rows in the same order, so training on either gives the
same minibatches.

Rows of memory-mapped files are read with ``pread`` (``_filerows.py``), not through
the map, so the resident memory of a fit stays bounded by the chunk size, not by the
file size.
"""

from __future__ import annotations

import math

import numpy as np

from ._data import Data
from ._filerows import FileRows
from ._scaling import RunningMoments, data_moments, parameter_moments

# Bytes of data read per chunk of a pass over the set.
CHUNK_BYTES = 32 * 2**20


def chunk_rows_of(row_shape: tuple, chunk_size: int | None) -> int:
    """``chunk_size``, or as many float64 rows as fit in ``CHUNK_BYTES``."""
    if chunk_size is not None:
        return chunk_size
    return max(1, CHUNK_BYTES // (8 * max(1, math.prod(row_shape))))


class ArrayTable:
    """Validated pairs held in memory."""

    in_memory = True

    def __init__(self, data: Data, y: np.ndarray):
        self.data, self.y = data, y

    def __len__(self) -> int:
        return len(self.data)

    replicated = property(lambda self: self.data.replicated)
    event_shape = property(lambda self: self.data.event_shape)
    max_count = property(lambda self: self.data.max_count)

    def layout(self) -> Data:
        return self.data

    def take(self, index) -> ArrayTable:
        return ArrayTable(self.data.take(index), self.y[index])

    def spaced(self, step: int) -> Data:
        """Every ``step``-th data set, for summaries of the training range."""
        return self.data.take(slice(None, None, step))

    def replicate_counts(self) -> np.ndarray | None:
        return self.data.n_replicates

    def parameter_range(self) -> tuple[np.ndarray, np.ndarray]:
        return self.y.min(axis=0), self.y.max(axis=0)

    def moments(self, to_training_space) -> tuple:
        """``x_loc, x_scale, y_loc, y_scale``; ``y`` in the space the network models."""
        return (*data_moments(self.data), *parameter_moments(to_training_space(self.y)))


class ArrayStore:
    """Rows of an array-like ``X`` (e.g. ``numpy.memmap``) and ``y``, read on demand."""

    def __init__(self, X, y):
        if len(X) != len(y):
            raise ValueError(
                f"X and y must hold the same number of data sets; got {len(X)} and "
                f"{len(y)}."
            )
        self.X, self.y = X, y
        # Targets are read through their map (a few bytes a row, so a read per row
        # would cost more than it saves): their pages may stay resident.
        self._X = FileRows.of(X)
        self.n, self.counts = len(X), None
        self.row_shape = tuple(X.shape[1:])

    def read(
        self, rows: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """``(values, counts, y)`` at ``rows`` (sorted); ``counts`` of ragged rows."""
        values = read_rows(self.X, self._X, rows, np.float64)
        return values, None, read_rows(self.y, None, rows)


def read_rows(array, file_rows: FileRows | None, rows: np.ndarray, dtype=None):
    """``array[rows]`` (sorted rows), read from its file when it has one."""
    if file_rows is not None:
        values = file_rows.read(rows)
    else:
        if len(rows) and rows[-1] - rows[0] + 1 == len(rows):
            rows = slice(int(rows[0]), int(rows[-1]) + 1)  # contiguous: one read
        values = np.asarray(array[rows])
    return values if dtype is None else values.astype(dtype, copy=False)


class StreamedTable:
    """Rows of a store, read on demand; a view of some rows after ``take``.

    Parameters
    ----------
    store : ArrayStore or a store with the same methods
        Gives ``n``, ``row_shape``, ``counts`` (replicate counts per row, or None)
        and ``read(sorted_rows)``.
    event_ndim : int
        Trailing axes of one event (the summary network's), which decide whether a
        row is one event or a set of replicates.
    encode : callable
        Turns raw ``y`` rows into the estimator's ``(n, n_parameters)`` targets.
    chunk_rows : int, default=None
        Rows per chunk of a pass; None fits ``CHUNK_BYTES``.
    """

    in_memory = False

    def __init__(self, store, event_ndim: int, encode, chunk_rows=None, rows=None):
        self.store, self.event_ndim, self.encode = store, event_ndim, encode
        self.rows = rows
        ndim = 1 + len(store.row_shape)
        if ndim not in (1 + event_ndim, 2 + event_ndim):
            raise ValueError(
                f"X must have {1 + event_ndim} axes (n_datasets, *event) or "
                f"{2 + event_ndim} axes (n_datasets, n_replicates, *event); got rows "
                f"of shape {store.row_shape}."
            )
        self.replicated = ndim == 2 + event_ndim
        if store.counts is not None and not self.replicated:
            raise ValueError(
                f"X holds data sets with differing replicate counts, but rows of "
                f"shape {store.row_shape} are single events for this summary network."
            )
        self.event_shape = store.row_shape[1:] if self.replicated else store.row_shape
        self.chunk_rows = chunk_rows_of(store.row_shape, chunk_rows)
        # Counts matter only when they differ over the whole store (ragged data,
        # which then has a mask in every view, as ragged data in memory has).
        counts = store.counts
        ragged = counts is not None and counts.min() != counts.max()
        self.counts = None if not ragged else counts if rows is None else counts[rows]

    def __len__(self) -> int:
        return self.store.n if self.rows is None else len(self.rows)

    @property
    def max_count(self) -> int:
        if not self.replicated:
            return 1
        return int(self.counts.max()) if self.counts is not None else self.shape[0]

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of one padded data set."""
        if self.counts is None:
            return self.store.row_shape
        return (int(self.counts.max()), *self.event_shape)

    def take(self, index) -> StreamedTable:
        rows = self._store_rows(np.asarray(index))
        return StreamedTable(
            self.store, self.event_ndim, self.encode, self.chunk_rows, rows
        )

    def spaced(self, step: int) -> Data:
        """Every ``step``-th data set, for summaries of the training range."""
        return self.read_raw(np.arange(0, len(self), step))[0]

    def replicate_counts(self) -> np.ndarray | None:
        if not self.replicated:
            return None
        if self.counts is not None:
            return np.asarray(self.counts, dtype=np.int64)
        return np.full(len(self), self.shape[0], dtype=np.int64)

    def _store_rows(self, index: np.ndarray) -> np.ndarray:
        return index if self.rows is None else self.rows[index]

    def read_raw(self, index: np.ndarray):
        """``(Data, raw y)`` at ``index`` (positions in this table, any order)."""
        rows = self._store_rows(index)
        if np.all(rows[1:] > rows[:-1]):  # in order already (a pass over the set)
            values, counts, y = self.store.read(rows)
        else:  # read in file order, then put back in the order asked
            order = np.argsort(rows, kind="stable")
            values, counts, y = self.store.read(rows[order])
            back = np.empty_like(order)
            back[order] = np.arange(len(order))
            values, y = values[back], y[back]
            counts = None if counts is None else counts[back]
        return self._data(values, counts), y

    def read(self, index: np.ndarray) -> tuple[Data, np.ndarray]:
        """``(Data, y)`` at ``index``: validated layout, encoded targets."""
        data, y = self.read_raw(index)
        return data, self.encode(y)

    def _data(self, values: np.ndarray, counts) -> Data:
        if self.counts is None:
            return Data(values, None, self.replicated)
        width = int(counts.max())
        mask = np.arange(width)[None, :] < counts[:, None]
        values = values[:, :width]
        values[~mask] = 0.0  # padding is zero, as for ragged input in memory
        return Data(values, mask, True)

    def chunks(self, raw: bool = False):
        """The table in order, ``chunk_rows`` at a time: ``(Data, y)`` pairs."""
        read = self.read_raw if raw else self.read
        for start in range(0, len(self), self.chunk_rows):
            yield read(np.arange(start, min(start + self.chunk_rows, len(self))))

    def layout(self) -> Data:
        return self.read_raw(np.arange(1))[0]

    def moments(self, to_training_space) -> tuple:
        """``x_loc, x_scale, y_loc, y_scale``, accumulated over chunks.

        A table that fits in one chunk gets exactly the in-memory moments (same
        rows, same order); a larger one gets them to rounding.
        """
        if len(self) <= self.chunk_rows:
            return ArrayTable(*self.read(np.arange(len(self)))).moments(
                to_training_space
            )
        # Read in file order: sequential reads touch no more pages than they use.
        rows = np.arange(self.store.n) if self.rows is None else np.sort(self.rows)
        in_order = StreamedTable(
            self.store, self.event_ndim, self.encode, self.chunk_rows, rows
        )
        x, y = RunningMoments(), RunningMoments()
        for data, targets in in_order.chunks():
            x.add_data(data)
            y.add_parameters(to_training_space(targets))
        return (*x.result(), *y.result())
