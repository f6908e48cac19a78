"""The validation pass: the loss early stopping monitors, once per epoch."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn

from .._runtime import torch_generator
from .rows import Batch, Rows

# Validation passes use large chunks; they need no gradients.
_EVAL_CHUNK = 8192
# Validation data with differing replicate counts are monitored in this many groups.
_N_GROUPS = 5

LossFn = Callable[[nn.Module, Batch, torch.Generator], torch.Tensor]


@torch.no_grad()
def evaluate(network: nn.Module, loss_fn: LossFn, data: Rows, seed: int = 0) -> float:
    """Mean loss over ``data`` in evaluation mode, with a fixed generator.

    The fixed generator makes losses that draw random numbers (the ratio family's
    shuffled pairs) comparable from epoch to epoch.
    """
    network.eval()
    generator = torch_generator(seed)
    total = 0.0
    for start in range(0, len(data), _EVAL_CHUNK):
        batch = data.take(slice(start, start + _EVAL_CHUNK))
        total += float(loss_fn(network, batch, generator)) * len(batch)
    return total / len(data)


def _replicate_groups(data: Rows) -> list[torch.Tensor] | None:
    """Validation indices split into groups of increasing replicate count, or None."""
    counts = data.counts
    if counts is None:
        return None
    if int(counts.min()) == int(counts.max()):
        return None
    order = torch.argsort(counts, stable=True)
    return list(order.tensor_split(min(_N_GROUPS, len(order))))


@torch.no_grad()
def _balanced(network, loss_fn, data: Rows, groups, seed: int) -> tuple[float, float]:
    """Pooled validation loss and the geometric mean of the group losses.

    In the geometric mean each replicate-count group's relative change counts equally.
    A loss pooled over replicate counts is dominated by the small counts, whose
    posteriors are wide, and barely moves when the network improves on large counts
    (the risk at m = 100 is a hundredth of the risk at m = 1). Early stopping on the
    pooled loss then keeps weights that are not yet good at large counts. Weighting
    by a function of the data alone leaves the Bayes estimator the minimiser.
    """
    losses = [evaluate(network, loss_fn, data.subset(index), seed) for index in groups]
    pooled = sum(v * len(index) for v, index in zip(losses, groups, strict=True)) / len(
        data
    )
    if min(losses) <= 0:  # not a scale: fall back to the equally weighted mean
        return pooled, sum(losses) / len(losses)
    return pooled, math.exp(sum(math.log(v) for v in losses) / len(losses))


class Validator:
    """Computes an epoch's validation loss and the loss early stopping monitors.

    The monitored loss is the validation loss when there are validation data, else
    the epoch's training loss; with ``balance_replicates`` and validation data of
    differing replicate counts, it is the geometric mean of the losses of replicate
    count groups (see ``_balanced``), recorded as ``history["valid_balanced"]``.
    """

    def __init__(self, data: Rows | None, loss_fn: LossFn, seed: int, balance: bool):
        self.data, self.loss_fn, self.seed = data, loss_fn, seed
        self.groups = _replicate_groups(data) if data is not None and balance else None

    @property
    def balanced(self) -> bool:
        return self.groups is not None

    def __call__(self, network, train_loss: float) -> tuple[float | None, float]:
        """``(validation loss or None, monitored loss)`` of the current weights."""
        if self.data is None:
            return None, train_loss
        if self.groups is not None:
            return _balanced(network, self.loss_fn, self.data, self.groups, self.seed)
        valid_loss = evaluate(network, self.loss_fn, self.data, self.seed)
        return valid_loss, valid_loss
