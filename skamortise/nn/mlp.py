"""Multilayer perceptron summary network for one vector per data set."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._activations import activation as make_activation


class MLP(nn.Module):
    """Fully connected network ``in_features -> hidden... -> out_features``.

    Trailing event axes beyond the first are flattened, so a small grid also works.

    Parameters
    ----------
    in_features : int
        Size of one input vector (after flattening).
    hidden_layer_sizes : sequence of int
        Widths of the hidden layers, each followed by the activation.
    out_features : int or None, default=None
        Width of a final linear layer without activation; None ends on the last
        hidden layer (the usual choice for a summary network).
    activation : str, default="relu"
        Name of the activation function.
    """

    def __init__(
        self,
        in_features: int,
        hidden_layer_sizes: Sequence[int] = (64, 64),
        out_features: int | None = None,
        activation: str = "relu",
    ):
        super().__init__()
        layers: list[nn.Module] = []
        width = in_features
        for size in hidden_layer_sizes:
            layers += [nn.Linear(width, size), make_activation(activation)]
            width = size
        if out_features is not None:
            layers.append(nn.Linear(width, out_features))
            width = out_features
        self.layers = nn.Sequential(*layers)
        self.out_features = width

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        return self.layers(x.flatten(1))
