"""Rows of an array kept in a file, read with ``pread``: nothing is mapped.

Indexing a memory map maps the pages it touches into the process, where they stay
resident until unmapped; with the large page-cache folios of recent kernels a few
hundred scattered rows map tens of MiB, and unmapping them after every minibatch
makes the next reads fault them back, slowly. Reading the same bytes with
``os.preadv`` copies them from the page cache into a buffer the process holds only
as long as it holds the rows, so a pass or a minibatch costs the memory of the rows
it reads, whatever the size of the file.
"""

from __future__ import annotations

import math
import mmap
import os

import numpy as np


def _mapping(array) -> mmap.mmap | None:
    """The file mapping behind ``array`` (a memory map or a view of one), if any."""
    base = array
    while base is not None and not isinstance(base, mmap.mmap):
        base = getattr(base, "base", None)
    return base


class FileRows:
    """The rows of an array stored in a file at ``position``, ``stride`` bytes apart."""

    def __init__(self, path, position: int, stride: int, row_shape, dtype):
        self.path, self.position, self.stride = path, position, stride
        self.row_shape, self.dtype = tuple(row_shape), np.dtype(dtype)
        self.row_bytes = self.dtype.itemsize * math.prod(self.row_shape)
        self._fd = None

    @classmethod
    def of(cls, array) -> FileRows | None:
        """Where the rows of a memory map (or a view of one) lie in its file.

        None when ``array`` is not such a map, when its rows are not each one
        contiguous run of bytes, or when it is copy-on-write (mode ``"c"``, whose
        changes live only in memory).
        """
        if not isinstance(array, np.memmap) or not hasattr(os, "preadv"):
            return None
        mapping = _mapping(array)
        path = getattr(array, "filename", None)
        if mapping is None or path is None or array.mode == "c" or array.ndim == 0:
            return None
        row = array[:1]
        if len(row) == 0 or not row[0].flags.c_contiguous or array.strides[0] <= 0:
            return None
        # numpy maps its file from the allocation boundary at or below ``offset``.
        start = array.offset - array.offset % mmap.ALLOCATIONGRANULARITY
        base = np.frombuffer(mapping, dtype=np.uint8).ctypes.data
        position = start + array.ctypes.data - base
        return cls(path, position, array.strides[0], array.shape[1:], array.dtype)

    def read(self, rows: np.ndarray) -> np.ndarray:
        """The rows at ``rows`` (sorted), runs of consecutive rows in one read each."""
        out = np.empty((len(rows), *self.row_shape), dtype=self.dtype)
        if len(rows) == 0:
            return out
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDONLY)
        size = self.row_bytes
        if self.stride == size:
            starts = np.flatnonzero(np.diff(rows, prepend=rows[0] - 2) != 1)
            lengths = np.diff(starts, append=len(rows)) * size
        else:
            starts, lengths = np.arange(len(rows)), np.full(len(rows), size)
        positions = (self.position + rows[starts] * self.stride).tolist()
        view = memoryview(out.reshape(-1).view(np.uint8))
        fd, preadv = self._fd, os.preadv
        # One system call per run: this loop is the cost of a streamed minibatch.
        for offset, length, position in zip(
            (starts * size).tolist(), lengths.tolist(), positions, strict=True
        ):
            part = view[offset : offset + length]
            if preadv(fd, [part], position) != length:
                self._read_into(part, position)  # a short read: finish it
        return out

    def _read_into(self, view: memoryview, position: int) -> None:
        while len(view):
            n = os.preadv(self._fd, [view], position)
            if n == 0:
                raise ValueError(f"{self.path} ends before the rows its array holds.")
            view, position = view[n:], position + n

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self):
        self.close()
