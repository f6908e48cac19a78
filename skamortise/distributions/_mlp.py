"""A small fully connected network shared by the distribution heads."""

from __future__ import annotations

import numbers

from torch import nn


def make_mlp(
    in_features: int,
    out_features: int,
    hidden_features: int = 64,
    n_hidden_layers: int = 1,
) -> nn.Sequential:
    """Build a ReLU multilayer perceptron.

    Parameters
    ----------
    in_features : int
        Size of the input.
    out_features : int
        Size of the output.
    hidden_features : int, default=64
        Width of every hidden layer.
    n_hidden_layers : int, default=1
        Number of hidden layers; ``0`` gives a single linear layer.

    Returns
    -------
    torch.nn.Sequential
        The network; its last module is the output ``Linear`` layer.
    """
    layers: list[nn.Module] = []
    width = in_features
    for _ in range(n_hidden_layers):
        layers += [nn.Linear(width, hidden_features), nn.ReLU()]
        width = hidden_features
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)


def check_positive_int(value: object, name: str, minimum: int = 1) -> int:
    """Return ``value`` if it is an int of at least ``minimum``, else raise."""
    # bool is an int subclass; ``True`` hidden layers is a bug, not a request.
    if (
        isinstance(value, bool)
        or not isinstance(value, numbers.Integral)
        or value < minimum
    ):
        raise ValueError(f"{name} must be an int >= {minimum}, got {value!r}.")
    return int(value)
