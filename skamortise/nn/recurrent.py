"""Recurrent summary network for time series (GRU or LSTM)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._masked import masked_mean
from ._series import (
    FRAME_ATTRIBUTES,
    FRAME_PARAMETERS,
    SELECTED_BY,
    SeriesNetwork,
)

_CELLS = {"gru": nn.GRU, "lstm": nn.LSTM}


class RNN(SeriesNetwork):
    __doc__ = f"""A recurrent network, read at the end of a series and averaged over it.

    The series runs through a GRU (or LSTM); the summary is built from the last
    layer's output at each series' last observed step (the final state) together
    with that output averaged over the observed steps. The average gives an easy
    path to statistics that accumulate over the whole series (sums of lagged
    products, say), which a bounded final state holds only approximately. Padding
    sits after the last observed step, so it never enters either: a ragged batch
    gives what each series gives alone.

{SELECTED_BY.format(name="rnn")}

    Parameters
    ----------
    n_channels : int
        Channels per time step.
    hidden_size : int, default=64
        Width of the recurrent state.
    num_layers : int, default=1
        Stacked recurrent layers.
    cell : {{"gru", "lstm"}}, default="gru"
        The recurrent cell.
{FRAME_PARAMETERS.format(also="")}

    Attributes
    ----------
{FRAME_ATTRIBUTES}

    See Also
    --------
    TCN : causal dilated convolutions, faster on long series.
    SeriesTransformer : self-attention over time steps.

    Examples
    --------
    >>> import torch
    >>> from skamortise.nn import RNN
    >>> net = RNN(1, hidden_size=8, hidden_layer_sizes=(4,))
    >>> mask = torch.arange(30) < torch.tensor([[30], [12]])
    >>> net(torch.randn(2, 30, 1), mask).shape
    torch.Size([2, 4])
    """

    def __init__(
        self,
        n_channels: int,
        *,
        hidden_size: int = 64,
        num_layers: int = 1,
        cell: str = "gru",
        hidden_layer_sizes: Sequence[int] = (64, 64),
        activation: str = "relu",
        standardise: bool = True,
        max_length: int | None = None,
        length_moments: tuple[float, float] | None = None,
    ):
        if cell not in _CELLS:
            raise ValueError(f"cell must be one of {sorted(_CELLS)}; got {cell!r}.")
        if hidden_size < 1 or num_layers < 1:
            raise ValueError(
                "hidden_size and num_layers must be positive; got "
                f"{hidden_size!r} and {num_layers!r}."
            )
        super().__init__(
            n_channels,
            2 * hidden_size,
            hidden_layer_sizes,
            activation,
            standardise,
            max_length,
            length_moments,
        )
        self.rnn = _CELLS[cell](
            self.input_channels, hidden_size, num_layers, batch_first=True
        )

    def encode(
        self, x: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        outputs, _ = self.rnn(x)  # (n, T, hidden): causal, padding comes after
        last = mask.sum(dim=1) - 1
        final = outputs[torch.arange(len(x), device=x.device), last]
        return torch.cat([final, masked_mean(outputs, weights)], dim=1)
