"""Transformer summary network for time series: self-attention over time steps."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ._activations import activation as make_activation
from ._masked import masked_mean
from ._series import (
    FRAME_ATTRIBUTES,
    FRAME_PARAMETERS,
    SELECTED_BY,
    SeriesNetwork,
)


def sinusoidal_positions(n_times: int, width: int, like: torch.Tensor) -> torch.Tensor:
    """The fixed sine/cosine position code ``(n_times, width)`` of Vaswani et al."""
    position = torch.arange(n_times, dtype=like.dtype, device=like.device)[:, None]
    frequency = torch.exp(
        torch.arange(0, width, 2, dtype=like.dtype, device=like.device)
        * (-math.log(10_000.0) / width)
    )
    code = torch.zeros(n_times, width, dtype=like.dtype, device=like.device)
    code[:, 0::2] = torch.sin(position * frequency)
    code[:, 1::2] = torch.cos(position * frequency[: width // 2])
    return code


class SeriesTransformer(SeriesNetwork):
    __doc__ = f"""A transformer encoder over time steps, averaged over observed steps.

    Each step is embedded linearly and given a fixed sinusoidal code of its
    position (which is what makes the summary depend on the order of the steps);
    pre-norm self-attention layers then relate every step to every other, with a
    key padding mask so that no step attends to padding. The outputs at the
    observed steps are averaged. Attention costs grow with the square of the
    length.

{SELECTED_BY.format(name="transformer")}

    Parameters
    ----------
    n_channels : int
        Channels per time step.
    d_model : int, default=32
        Width of the embedding (a multiple of ``nhead``, and even).
    nhead : int, default=4
        Attention heads.
    num_layers : int, default=2
        Encoder layers.
    dim_feedforward : int, default=64
        Width of each layer's feed-forward block.
{FRAME_PARAMETERS.format(also=" and of the feed-forward blocks")}

    Attributes
    ----------
{FRAME_ATTRIBUTES}

    Examples
    --------
    >>> import torch
    >>> from skamortise.nn import SeriesTransformer
    >>> net = SeriesTransformer(1, d_model=8, nhead=2, hidden_layer_sizes=(4,))
    >>> net(torch.randn(2, 20, 1)).shape
    torch.Size([2, 4])
    """

    def __init__(
        self,
        n_channels: int,
        *,
        d_model: int = 32,
        nhead: int = 4,
        num_layers: int = 2,
        dim_feedforward: int = 64,
        hidden_layer_sizes: Sequence[int] = (64, 64),
        activation: str = "relu",
        standardise: bool = True,
        max_length: int | None = None,
        length_moments: tuple[float, float] | None = None,
    ):
        if d_model < 2 or d_model % 2 or nhead < 1 or d_model % nhead:
            raise ValueError(
                "d_model must be even and a multiple of nhead; got "
                f"d_model={d_model!r}, nhead={nhead!r}."
            )
        if num_layers < 1 or dim_feedforward < 1:
            raise ValueError(
                "num_layers and dim_feedforward must be positive; got "
                f"{num_layers!r} and {dim_feedforward!r}."
            )
        super().__init__(
            n_channels,
            d_model,
            hidden_layer_sizes,
            activation,
            standardise,
            max_length,
            length_moments,
        )
        self.embed = nn.Linear(self.input_channels, d_model)
        layer = nn.TransformerEncoderLayer(
            d_model,
            nhead,
            dim_feedforward,
            dropout=0.0,
            activation=make_activation(activation),
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(
            layer, num_layers, enable_nested_tensor=False
        )

    def encode(
        self, x: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        h = self.embed(x) + sinusoidal_positions(x.shape[1], self.embed.out_features, x)
        h = self.encoder(h, src_key_padding_mask=~mask)
        return masked_mean(h, weights)
