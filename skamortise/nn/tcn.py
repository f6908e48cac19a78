"""Temporal convolutional summary network: causal, dilated 1-D convolutions."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import functional as F

from ._activations import activation as make_activation
from ._masked import masked_mean
from ._series import (
    FRAME_ATTRIBUTES,
    FRAME_PARAMETERS,
    SELECTED_BY,
    SeriesNetwork,
)


class _CausalBlock(nn.Module):
    """``act(conv(h)) + h``: a convolution that sees only the present and the past."""

    def __init__(self, width_in, width, kernel_size, dilation, activation):
        super().__init__()
        self.pad = (kernel_size - 1) * dilation
        self.conv = nn.Conv1d(width_in, width, kernel_size, dilation=dilation)
        self.activation = make_activation(activation)
        self.skip = (
            nn.Identity() if width_in == width else nn.Conv1d(width_in, width, 1)
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        out = self.activation(self.conv(F.pad(h, (self.pad, 0))))
        return out + self.skip(h)


class TCN(SeriesNetwork):
    __doc__ = f"""Causal dilated convolutions, averaged over the observed time steps.

    Residual blocks of 1-D convolutions, each padded on the left only (causal) with
    dilations ``1, 2, 4, ...``, so the receptive field grows exponentially with
    depth: ``1 + (kernel_size - 1) (2^B - 1)`` steps after ``B`` blocks. Features at
    the observed steps are averaged; because every convolution is causal, padding
    after a series' end never reaches an observed step, so a ragged batch gives
    what each series gives alone. Any length works, as long as the averaged
    features describe the series; local dependence (e.g. autoregression) is what
    this network captures best.

{SELECTED_BY.format(name="tcn")}

    Parameters
    ----------
    n_channels : int
        Channels per time step.
    channels : sequence of int, default=(32, 32, 32, 32)
        Width of each convolution block.
    kernel_size : int, default=3
        Kernel width of every convolution.
{FRAME_PARAMETERS.format(also=" and of the convolutions")}

    Attributes
    ----------
    receptive_field : int
        Time steps each pooled feature sees.
{FRAME_ATTRIBUTES}

    See Also
    --------
    RNN : a recurrent network, whose state reaches back over the whole series.

    Examples
    --------
    >>> import torch
    >>> from skamortise.nn import TCN
    >>> net = TCN(2, channels=(8, 8), hidden_layer_sizes=(4,))
    >>> net(torch.randn(3, 50, 2)).shape, net.receptive_field
    (torch.Size([3, 4]), 7)
    """

    def __init__(
        self,
        n_channels: int,
        *,
        channels: Sequence[int] = (32, 32, 32, 32),
        kernel_size: int = 3,
        hidden_layer_sizes: Sequence[int] = (64, 64),
        activation: str = "relu",
        standardise: bool = True,
        max_length: int | None = None,
        length_moments: tuple[float, float] | None = None,
    ):
        channels = tuple(channels)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be positive ints; got {channels!r}.")
        if kernel_size < 2:
            raise ValueError(f"kernel_size must be at least 2; got {kernel_size!r}.")
        super().__init__(
            n_channels,
            channels[-1],
            hidden_layer_sizes,
            activation,
            standardise,
            max_length,
            length_moments,
        )
        widths = (self.input_channels, *channels)
        self.blocks = nn.Sequential(
            *(
                _CausalBlock(widths[i], widths[i + 1], kernel_size, 2**i, activation)
                for i in range(len(channels))
            )
        )
        self.receptive_field = 1 + (kernel_size - 1) * (2 ** len(channels) - 1)

    def encode(
        self, x: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        h = self.blocks(x.transpose(1, 2)).transpose(1, 2)  # (n, T, channels)
        return masked_mean(h, weights)
