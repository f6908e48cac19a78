"""Training from a directory of shards on disk, a minibatch at a time."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .._filerows import FileRows
from .._source import TrainingSource, open_stream, streamed_set
from .._tables import read_rows
from ..simulation.shards import open_shard, read_manifest

# Shards whose data files stay open at once.
_OPEN_SHARDS = 64


class ShardStore:
    """The rows of all shards of a directory, as one store (see ``_tables.py``)."""

    def __init__(self, directory, shards):
        self.directory, self.shards = Path(directory), shards
        self.sizes = np.array([shard.n for shard in shards])
        self.starts = np.concatenate([[0], np.cumsum(self.sizes)])
        self.n = int(self.starts[-1])
        self._open: dict = {}
        shapes, counts, y_ndim = [], [], set()
        for shard in shards:
            x, c, y = open_shard(self.directory, shard)
            shapes.append(x.shape[1:])
            counts.append(None if c is None else np.array(c))
            y_ndim.add(y.ndim)
        if len(y_ndim) != 1:
            raise ValueError(f"The shards of {str(directory)!r} differ in y's axes.")
        self.y_ndim = y_ndim.pop()
        if len(set(shapes)) == 1 and all(c is None for c in counts):
            self.row_shape, self.counts = shapes[0], None
            return
        # Replicated data sets whose counts differ between or within shards: rows
        # are padded to the largest count, and the counts kept.
        if len({shape[1:] for shape in shapes}) != 1 or min(map(len, shapes)) < 2:
            raise ValueError(
                f"The shards of {str(directory)!r} do not share one layout; X has "
                f"rows of shapes {sorted(set(shapes))}."
            )
        self.row_shape = (max(shape[0] for shape in shapes), *shapes[0][1:])
        self.counts = np.concatenate(
            [
                np.full(n, shape[0]) if c is None else c
                for n, shape, c in zip(self.sizes, shapes, counts, strict=True)
            ]
        )

    def _arrays(self, k: int):
        """Shard ``k``'s arrays and file readers; a bounded number stay open."""
        if k not in self._open:
            if len(self._open) >= _OPEN_SHARDS:  # close the least recently opened
                reader = self._open.pop(next(iter(self._open)))[2]
                if reader is not None:
                    reader.close()
            x, _, y = open_shard(self.directory, self.shards[k])
            self._open[k] = (x, y, FileRows.of(x))
        return self._open[k]

    def read(self, rows: np.ndarray):
        """``(values, counts, y)`` at sorted ``rows``, padded to the widest row."""
        shard_of = np.searchsorted(self.starts, rows, side="right") - 1
        counts = None if self.counts is None else self.counts[rows]
        if counts is None:  # every row has the full shape: nothing to pad
            values = np.empty((len(rows), *self.row_shape))
        else:
            values = np.zeros((len(rows), *self.row_shape))
        ys = []
        for k in np.unique(shard_of):
            where = np.flatnonzero(shard_of == k)
            local = rows[where] - self.starts[k]
            x, y, x_file = self._arrays(int(k))
            block = read_rows(x, x_file, local, np.float64)
            values[(where, *(slice(0, s) for s in block.shape[1:]))] = block
            ys.append(read_rows(y, None, local))
        return values, counts, np.concatenate(ys)


class ShardSource(TrainingSource):
    """Training pairs from a directory of shards, read a minibatch at a time.

    The directory is one written by ``skamortise.simulate(..., out=directory)`` or
    by :class:`skamortise.simulation.ShardWriter`. Nothing is loaded whole: a pass
    over the shards validates them and computes the standardisation in chunks, and
    training reads its minibatches from the memory-mapped shards, so a training set
    larger than memory trains with memory bounded by the chunk size. With a chunk
    holding every pair, training matches ``fit`` on the same pairs in memory bit for
    bit; with smaller chunks, to the rounding of the standardisation.

    Parameters
    ----------
    directory : str or path-like
        The shard directory.
    chunk_size : int, default=None
        Data sets per chunk of a pass over the shards; None reads 32 MiB at a time.

    Examples
    --------
    >>> import tempfile
    >>> from skamortise import NeuralBayesEstimator, simulate
    >>> from skamortise.models import GaussianReplicates
    >>> from skamortise.sources import ShardSource
    >>> model = GaussianReplicates()
    >>> path = simulate(model.prior, model.simulator, 300, n_replicates=[5, 10],
    ...                 batch_size=100, random_state=0, out=tempfile.mkdtemp())
    >>> est = NeuralBayesEstimator(hidden_layer_sizes=(8,), max_epochs=2,
    ...                            random_state=0).fit_source(ShardSource(path))
    >>> est.n_features_in_
    1
    """

    def __init__(self, directory, *, chunk_size: int | None = None):
        self.directory = Path(directory)
        self.shards = read_manifest(self.directory)
        self.chunk_size = chunk_size

    def open(self, estimator, rng):
        store = ShardStore(self.directory, self.shards)
        table = open_stream(store, estimator, self.chunk_size)
        return streamed_set(table, estimator, store.y_ndim, None)
