"""Build the summary network an estimator asks for."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

import torch
from torch import nn

from .cnn import CNN, CNNSummary, resolve_shape
from .deepset import DeepSet
from .mlp import MLP
from .observed import ObservedInput, observed_event_shape
from .recurrent import RNN
from .tcn import TCN
from .transformer import SeriesTransformer

# Summary networks for time series, by the name ``summary_network`` takes.
SERIES_NETWORKS: dict[str, type[nn.Module]] = {
    "rnn": RNN,
    "tcn": TCN,
    "transformer": SeriesTransformer,
}


def is_series_network(spec) -> bool:
    """Whether ``summary_network=spec`` reads the second axis of ``X`` as time.

    True for the names in :data:`SERIES_NETWORKS` and for any class or factory with
    the attribute ``ordered = True``; such an estimator takes series
    ``(n_datasets, n_times[, n_channels])`` or a list of them, never replicates.

    Examples
    --------
    >>> from skamortise.nn import TCN, is_series_network
    >>> is_series_network("rnn"), is_series_network(TCN), is_series_network("auto")
    (True, True, False)
    """
    if isinstance(spec, str):
        return spec in SERIES_NETWORKS
    return getattr(spec, "ordered", False) is True


def _default_network(
    event_shape: tuple[int, ...],
    replicated: bool,
    hidden_layer_sizes: Sequence[int],
    activation: str,
    max_count: int,
    missing: bool = False,
) -> nn.Module:
    in_features = math.prod(event_shape)
    # With missing values each feature comes with its observed-entry indicator.
    width = 2 * in_features if missing else in_features
    if not replicated:
        return MLP(width, hidden_layer_sizes, activation=activation)
    phi = MLP(width, hidden_layer_sizes, activation=activation)
    # log m and m / max_count; per-set standardisation adds the mean and log sd of
    # every feature.
    extra = 2 + (2 * in_features if len(event_shape) == 1 else 0)
    rho = MLP(phi.out_features + extra, hidden_layer_sizes, activation=activation)
    return DeepSet(
        phi,
        rho,
        standardise_sets=len(event_shape) == 1,
        count_scale=max_count,
        observed_indicators=missing,
    )


def _grid_settings(spec, kwargs: dict) -> dict | None:
    """``event_shape`` and ``spatial_dims`` of a CNN spec, or None for other specs."""
    if isinstance(spec, CNNSummary):
        settings = {**spec._settings(), **kwargs}
    elif spec is CNN:
        settings = kwargs
    else:
        return None
    return {
        "event_shape": settings.get("event_shape"),
        "spatial_dims": settings.get("spatial_dims"),
    }


def _with_indicators(spec, kwargs: dict | None, event_shape: tuple[int, ...]):
    """``(kwargs, new_axis)`` for building ``spec`` on values and indicators.

    The indicator extends the feature or channel axis, or, for grids without a
    channel axis, forms one; a CNN is told the shape it will see.
    """
    kwargs = dict(kwargs or {})
    grid = _grid_settings(spec, kwargs)
    if grid is None:
        return kwargs, len(event_shape) > 1
    shape, dims, _ = resolve_shape(grid["event_shape"], grid["spatial_dims"])
    new_axis = len(shape) == dims
    kwargs.update(event_shape=observed_event_shape(shape, new_axis), spatial_dims=dims)
    return kwargs, new_axis


def _series_network(
    name: str,
    kwargs: dict | None,
    n_channels: int,
    hidden_layer_sizes: Sequence[int],
    activation: str,
    max_length: int,
    length_moments: tuple[float, float] | None,
) -> nn.Module:
    cls = SERIES_NETWORKS[name]
    kwargs = dict(kwargs or {})
    accepted = set(inspect.signature(cls).parameters) - {"n_channels"}
    unknown = sorted(set(kwargs) - accepted)
    if unknown:
        raise TypeError(
            f"summary_network_kwargs has {unknown}, which summary_network={name!r} "
            f"({cls.__name__}) does not take; it takes {sorted(accepted)}."
        )
    # The estimator's settings, unless summary_network_kwargs overrides them.
    settings = {
        "hidden_layer_sizes": hidden_layer_sizes,
        "activation": activation,
        "max_length": max_length,
        "length_moments": length_moments,
        **kwargs,
    }
    return cls(n_channels, **settings)


def build_summary_network(
    spec: str | Callable[..., nn.Module],
    kwargs: dict | None,
    *,
    event_shape: tuple[int, ...],
    replicated: bool,
    hidden_layer_sizes: Sequence[int],
    activation: str,
    max_count: int = 1,
    count_moments: tuple[float, float] | None = None,
    missing: bool = False,
) -> tuple[nn.Module, int]:
    """The summary network and its output width.

    ``spec="auto"`` gives an MLP for one vector per data set and a DeepSet (MLP inside
    and outside, mean pooling, ``log m`` and ``m / max_count`` appended, each data set
    standardised by its own mean and sd, which are appended too) for replicated data;
    ``max_count`` is the largest replicate count in the training data. A name in
    :data:`SERIES_NETWORKS` builds that series network for ``event_shape =
    (n_channels,)`` with ``hidden_layer_sizes``, ``activation``, ``max_length =
    max_count`` (the longest training series), ``length_moments = count_moments``
    (mean and sd of the training series' log lengths) and ``**kwargs`` (which may
    override them). Any other ``spec`` is a class or factory called with
    ``**kwargs``; its output width is read from a forward pass on a dummy batch, so
    user networks need no special attribute.

    With ``missing=True`` the data may hold NaN: the network built is wrapped in
    :class:`~skamortise.nn.observed.ObservedInput` and sees the values (NaN as 0) and
    the observed-entry indicator. It is built for that input: the default networks
    and series networks take twice the features or channels; a :class:`CNN` or
    :class:`CNNSummary` is given the event shape with the indicator channels; any
    other ``spec`` must build a network for vector events ``(2 d,)`` (values, then
    indicators) or, for grids, ``(2, *event_shape)``.
    """
    new_axis = False
    if missing:
        kwargs, new_axis = _with_indicators(spec, kwargs, event_shape)
    if spec == "auto":
        module = _default_network(
            event_shape, replicated, hidden_layer_sizes, activation, max_count, missing
        )
    elif isinstance(spec, str) and spec in SERIES_NETWORKS:
        module = _series_network(
            spec,
            kwargs,
            math.prod(event_shape) * (2 if missing else 1),
            hidden_layer_sizes,
            activation,
            max_count,
            count_moments,
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
            "summary_network must be 'auto', one of "
            f"{sorted(SERIES_NETWORKS)} or a torch.nn.Module class / factory; "
            f"got {spec!r}."
        )
    if missing:
        module = ObservedInput(module, len(event_shape), new_axis)
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
