"""Input of a summary network for data with missing values: values and indicator.

Masking (Wang et al. 2024): a missing entry is replaced by zero (the mean of the
standardised data) and a second channel tells the network which entries were
observed, so one network learns from every pattern of missingness it was trained
on. The indicator goes next to the values along the feature or channel axis:

- vectors ``(d,)`` become ``(2 d,)``: the ``d`` values, then the ``d`` indicators;
- grids with a channel axis ``(C, ...)`` become ``(2 C, ...)``;
- grids without one ``(...)`` gain it: ``(2, ...)``.

A summary network built for the estimator with ``missing="mask"`` receives that
shape (see :func:`observed_event_shape`).
"""

from __future__ import annotations

import torch
from torch import nn


def observed_event_shape(
    event_shape: tuple[int, ...], new_axis: bool
) -> tuple[int, ...]:
    """The event shape a network sees: ``(2, *event)`` or the first axis doubled.

    Examples
    --------
    >>> observed_event_shape((3,), new_axis=False), observed_event_shape((8, 8), True)
    ((6,), (2, 8, 8))
    """
    if new_axis:
        return (2, *event_shape)
    return (2 * event_shape[0], *event_shape[1:])


class ObservedInput(nn.Module):
    """Replace NaN by zero and put the observed-entry indicator next to the values.

    Parameters
    ----------
    network : torch.nn.Module
        The summary network, built for :func:`observed_event_shape`.
    event_ndim : int
        Trailing axes of one event in the input.
    new_axis : bool
        Whether the indicator forms a new channel axis in front of the event
        (grids without channels) or extends its first axis (vectors, channels).

    Examples
    --------
    >>> import torch
    >>> x = torch.tensor([[1.0, float("nan")]])
    >>> ObservedInput(torch.nn.Identity(), event_ndim=1, new_axis=False)(x)
    tensor([[1., 0., 1., 0.]])
    """

    def __init__(self, network: nn.Module, event_ndim: int, new_axis: bool):
        super().__init__()
        self.network = network
        self.event_ndim = int(event_ndim)
        self.new_axis = bool(new_axis)
        self.out_features = getattr(network, "out_features", None)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        observed = ~torch.isnan(x)
        values = torch.where(observed, x, torch.zeros((), dtype=x.dtype))
        axis = x.ndim - self.event_ndim
        join = torch.stack if self.new_axis else torch.cat
        x = join([values, observed.to(x.dtype)], dim=axis)
        return self.network(x) if mask is None else self.network(x, mask)
