"""Build the summary network an estimator asks for."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .deepset import DeepSet
from .mlp import MLP


def _default_network(
    event_shape: tuple[int, ...],
    replicated: bool,
    hidden_layer_sizes: Sequence[int],
    activation: str,
    max_count: int,
) -> nn.Module:
    in_features = math.prod(event_shape)
    if not replicated:
        return MLP(in_features, hidden_layer_sizes, activation=activation)
    phi = MLP(in_features, hidden_layer_sizes, activation=activation)
    # log m and m / max_count; per-set standardisation adds the mean and log sd of
    # every feature.
    extra = 2 + (2 * in_features if len(event_shape) == 1 else 0)
    rho = MLP(phi.out_features + extra, hidden_layer_sizes, activation=activation)
    return DeepSet(
        phi, rho, standardise_sets=len(event_shape) == 1, count_scale=max_count
    )


def build_summary_network(
    spec: str | Callable[..., nn.Module],
    kwargs: dict | None,
    *,
    event_shape: tuple[int, ...],
    replicated: bool,
    hidden_layer_sizes: Sequence[int],
    activation: str,
    max_count: int = 1,
) -> tuple[nn.Module, int]:
    """The summary network and its output width.

    ``spec="auto"`` gives an MLP for one vector per data set and a DeepSet (MLP inside
    and outside, mean pooling, ``log m`` and ``m / max_count`` appended, each data set
    standardised by its own mean and sd, which are appended too) for replicated data;
    ``max_count`` is the largest replicate count in the training data. Any other
    ``spec`` is a class or factory called with ``**kwargs``; its output width is read
    from a forward pass on a dummy batch, so user networks need no special attribute.
    """
    if spec == "auto":
        module = _default_network(
            event_shape, replicated, hidden_layer_sizes, activation, max_count
        )
    elif callable(spec):
        module = spec(**(kwargs or {}))
        if not isinstance(module, nn.Module):
            raise TypeError(
                "summary_network must build a torch.nn.Module; the factory returned "
                f"{type(module).__name__}."
            )
    else:
        raise ValueError(
            "summary_network must be 'auto' or a torch.nn.Module class / factory; "
            f"got {spec!r}."
        )
    shape = (2, 3, *event_shape) if replicated else (2, *event_shape)
    with torch.no_grad():
        out = module(torch.zeros(shape))
    if out.ndim != 2 or out.shape[0] != 2:
        raise ValueError(
            "The summary network must map a batch of data sets to a 2-D tensor "
            f"(n_datasets, n_summaries); for input {shape} it returned "
            f"{tuple(out.shape)}."
        )
    return module, out.shape[1]
