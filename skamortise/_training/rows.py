"""Training pairs as the loop sees them: rows it can count, shuffle and take.

``Batch`` holds pairs as tensors (a training set that fits in memory, or one
minibatch); ``StreamedRows`` reads them from a table a minibatch at a time, so a
training set larger than memory trains with bounded memory. Both shuffle the same
way, so the same pairs give the same minibatches whichever holds them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import torch

# Ragged minibatches are cut from windows of this many batches sorted by count.
_WINDOW = 50


def minibatch_order(
    n: int, counts: torch.Tensor | None, batch_size: int, generator
) -> list[torch.Tensor]:
    """Random minibatches of ``range(n)``; ragged data are bucketed by replicate count.

    For ragged data, windows of 50 batches are sorted by replicate count before
    being cut, and the batches then shuffled: each batch holds similar counts, so
    little padding is computed, while every epoch still visits all pairs in random
    order.
    """
    order = torch.randperm(n, generator=generator)
    if counts is None:
        return list(order.split(batch_size))
    counts = counts.cpu()[order]
    window = _WINDOW * batch_size
    batches = []
    for start in range(0, len(order), window):
        part = order[start : start + window]
        part = part[torch.argsort(counts[start : start + window], stable=True)]
        batches.extend(part.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator)
    return [batches[i] for i in shuffle]


class Rows:
    """What the loop trains and validates on.

    Subclasses give ``len``, ``counts`` (replicate counts of ragged data, else
    None), ``shape`` (of one padded data set), ``take(index) -> Batch`` and
    ``subset(index) -> Rows``; an epoch's minibatches come from :meth:`batches`.
    """

    counts: torch.Tensor | None

    def batches(self, batch_size: int, generator) -> Iterator[Batch]:
        """One epoch of shuffled minibatches."""
        for index in minibatch_order(len(self), self.counts, batch_size, generator):
            yield self.take(index)


@dataclass
class Batch(Rows):
    """Tensors of one set of training pairs (data, optional mask, parameters,
    optional set-level covariates)."""

    x: torch.Tensor
    mask: torch.Tensor | None
    y: torch.Tensor
    covariates: torch.Tensor | None = None

    @property
    def inputs(self) -> tuple:
        """What the network reads: ``network.summarise(*batch.inputs)``."""
        return self.x, self.mask, self.covariates

    def __len__(self) -> int:
        return self.x.shape[0]

    @property
    def counts(self) -> torch.Tensor | None:
        return None if self.mask is None else self.mask.sum(dim=1)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.x.shape[1:])

    def take(self, index) -> Batch:
        if isinstance(index, torch.Tensor):
            index = index.to(self.x.device)
        covariates = None if self.covariates is None else self.covariates[index]
        if self.mask is None:
            return Batch(self.x[index], None, self.y[index], covariates)
        # Drop replicate columns that are padding in every selected data set.
        mask = self.mask[index]
        width = int(mask.sum(dim=1).max())
        return Batch(
            self.x[index][:, :width], mask[:, :width], self.y[index], covariates
        )

    subset = take


class StreamedRows(Rows):
    """Pairs read from ``table`` and made tensors by ``to_batch`` on demand.

    ``table`` gives ``len``, ``counts``, ``shape``, ``read(index) -> (Data, y)``
    for an integer array of rows, and ``take(index)`` for a view of some rows.
    """

    def __init__(self, table, to_batch: Callable):
        self.table, self.to_batch = table, to_batch
        counts = table.counts
        self.counts = None if counts is None else torch.as_tensor(counts)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.table.shape

    def _rows(self, index) -> np.ndarray:
        if isinstance(index, slice):
            return np.arange(len(self))[index]
        return np.asarray(index.cpu() if isinstance(index, torch.Tensor) else index)

    def take(self, index) -> Batch:
        return self.to_batch(*self.table.read(self._rows(index)))

    def subset(self, index) -> StreamedRows:
        return StreamedRows(self.table.take(self._rows(index)), self.to_batch)
