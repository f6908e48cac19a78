"""Convolutional summary networks for gridded data: 1-D series and 2-D fields."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ._activations import activation as make_activation
from .deepset import DeepSet
from .mlp import MLP

_CONV = {1: nn.Conv1d, 2: nn.Conv2d}
_POOL = {1: nn.MaxPool1d, 2: nn.MaxPool2d}


def resolve_shape(event_shape, spatial_dims) -> tuple[tuple[int, ...], int, int]:
    """``(event_shape, spatial_dims, in_channels)`` with the defaults filled in."""
    shape = tuple(int(s) for s in event_shape)
    if not shape or len(shape) > 3 or min(shape) < 1:
        raise ValueError(
            "event_shape must hold 1 to 3 positive sizes: (L,), (C, L), (H, W) or "
            f"(C, H, W); got {event_shape!r}."
        )
    if spatial_dims is None:
        spatial_dims = 1 if len(shape) == 1 else 2
    if spatial_dims not in (1, 2) or len(shape) - spatial_dims not in (0, 1):
        raise ValueError(
            f"event_shape {shape} does not fit spatial_dims={spatial_dims}: expected "
            f"{spatial_dims} grid axes, optionally preceded by one channel axis."
        )
    in_channels = shape[0] if len(shape) > spatial_dims else 1
    return shape, spatial_dims, in_channels


class CNN(nn.Module):
    """Convolutional summary of a 1-D series or a 2-D field.

    Blocks of convolution and activation (with 2x max pooling between blocks while
    the grid is large enough) are followed by global pooling over the grid, which
    makes the summary independent of where a pattern sits, and by an MLP.

    Parameters
    ----------
    event_shape : tuple of int
        Shape of one event: ``(L,)`` a series, ``(C, L)`` a series with ``C``
        channels (with ``spatial_dims=1``), ``(H, W)`` a field, ``(C, H, W)`` a
        field with ``C`` channels.
    spatial_dims : {1, 2} or None, default=None
        Number of grid axes; None means 1 for ``(L,)`` and 2 otherwise.
    channels : sequence of int, default=(16, 32)
        Output channels of the convolution blocks.
    kernel_size : int, default=3
        Kernel width; inputs are padded so that each block keeps the grid size.
    hidden_layer_sizes : sequence of int, default=(64,)
        Widths of the MLP after global pooling; its last width is the summary
        size (the pooled channels when empty).
    activation : str, default="relu"
        Activation after every convolution and hidden layer.
    pooling : {"mean", "max"}, default="mean"
        Global pooling over the grid.

    Attributes
    ----------
    event_ndim : int
        ``len(event_shape)``: trailing axes forming one event.
    out_features : int
        Width of the summary.

    Examples
    --------
    >>> import torch
    >>> from skamortise.nn.cnn import CNN
    >>> net = CNN((16, 16), channels=(4, 8), hidden_layer_sizes=(10,))
    >>> net(torch.zeros(5, 16, 16)).shape
    torch.Size([5, 10])
    >>> CNN((2, 50), spatial_dims=1)(torch.zeros(3, 2, 50)).shape
    torch.Size([3, 64])
    """

    def __init__(
        self,
        event_shape: Sequence[int],
        *,
        spatial_dims: int | None = None,
        channels: Sequence[int] = (16, 32),
        kernel_size: int = 3,
        hidden_layer_sizes: Sequence[int] = (64,),
        activation: str = "relu",
        pooling: str = "mean",
    ):
        super().__init__()
        shape, dims, width = resolve_shape(event_shape, spatial_dims)
        if not channels or min(channels) < 1:
            raise ValueError(f"channels must be positive ints; got {channels!r}.")
        if kernel_size < 1:
            raise ValueError(f"kernel_size must be positive; got {kernel_size!r}.")
        if pooling not in ("mean", "max"):
            raise ValueError(f"pooling must be 'mean' or 'max'; got {pooling!r}.")
        self.event_shape = shape
        self.event_ndim = len(shape)
        self.spatial_dims = dims
        self.pooling = pooling
        self._grid = (width, *shape[len(shape) - dims :])
        sizes = list(self._grid[1:])
        layers: list[nn.Module] = []
        for i, out_channels in enumerate(channels):
            if i and min(sizes) >= 2:
                layers.append(_POOL[dims](2))
                sizes = [s // 2 for s in sizes]
            conv = _CONV[dims](width, out_channels, kernel_size, padding="same")
            layers += [conv, make_activation(activation)]
            width = out_channels
        self.features = nn.Sequential(*layers)
        self.mlp = MLP(width, hidden_layer_sizes, activation=activation)
        self.out_features = self.mlp.out_features

    @staticmethod
    def event_ndim_from_kwargs(kwargs: dict) -> int:
        """The ``event_ndim`` a CNN built with ``kwargs`` will have."""
        return len(tuple(kwargs["event_shape"]))

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        if tuple(x.shape[1:]) != self.event_shape:
            raise ValueError(
                f"CNN expects input (batch, {', '.join(map(str, self.event_shape))}); "
                f"got {tuple(x.shape)}."
            )
        h = self.features(x.reshape(len(x), *self._grid)).flatten(2)
        pooled = h.mean(dim=2) if self.pooling == "mean" else h.amax(dim=2)
        return self.mlp(pooled)


class CNNSummary:
    """A factory of CNN summary networks, to pass as an estimator's summary_network.

    It records the event shape, so the estimator knows how many trailing axes of
    ``X`` form one event (``event_ndim``), and builds a :class:`CNN` (or, for
    replicated fields, a :class:`DeepSet` with a CNN inside) when the estimator
    asks for one. Keywords given in ``summary_network_kwargs`` override the
    settings stored here.

    Parameters
    ----------
    event_shape : tuple of int
        Shape of one event; see :class:`CNN`.
    replicated : bool, default=False
        Whether each data set holds iid replicated events ``(m, *event_shape)``:
        the CNN then summarises each replicate inside a DeepSet (mean pooling,
        ``log m`` appended, an MLP after), which also handles ragged lists.
    spatial_dims : {1, 2} or None, default=None
        Number of grid axes; see :class:`CNN`.
    channels : sequence of int, default=(16, 32)
        Convolution channels.
    kernel_size : int, default=3
        Kernel width.
    hidden_layer_sizes : sequence of int, default=(64,)
        Widths of the MLP after global pooling (and of the DeepSet's outer MLP).
    activation : str, default="relu"
        Activation function.
    pooling : {"mean", "max"}, default="mean"
        Global pooling over the grid.

    Attributes
    ----------
    event_ndim : int
        Trailing axes of ``X`` forming one event.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import NeuralBayesEstimator
    >>> from skamortise.nn.cnn import CNNSummary
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.uniform(size=(64, 1))
    >>> fields = theta[:, :, None] * rng.normal(size=(64, 8, 8))
    >>> est = NeuralBayesEstimator(
    ...     summary_network=CNNSummary((8, 8), channels=(4,), hidden_layer_sizes=(8,)),
    ...     hidden_layer_sizes=(8,), max_epochs=2, random_state=0,
    ... ).fit(fields, theta)
    >>> est.predict(fields[:3]).shape
    (3, 1)
    """

    def __init__(
        self,
        event_shape: Sequence[int],
        *,
        replicated: bool = False,
        spatial_dims: int | None = None,
        channels: Sequence[int] = (16, 32),
        kernel_size: int = 3,
        hidden_layer_sizes: Sequence[int] = (64,),
        activation: str = "relu",
        pooling: str = "mean",
    ):
        shape, _, _ = resolve_shape(event_shape, spatial_dims)
        self.event_shape = shape
        self.replicated = bool(replicated)
        self.spatial_dims = spatial_dims
        self.channels = tuple(channels)
        self.kernel_size = kernel_size
        self.hidden_layer_sizes = tuple(hidden_layer_sizes)
        self.activation = activation
        self.pooling = pooling

    @property
    def event_ndim(self) -> int:
        return len(self.event_shape)

    def _settings(self) -> dict:
        return {
            "event_shape": self.event_shape,
            "spatial_dims": self.spatial_dims,
            "channels": self.channels,
            "kernel_size": self.kernel_size,
            "hidden_layer_sizes": self.hidden_layer_sizes,
            "activation": self.activation,
            "pooling": self.pooling,
        }

    def __call__(self, **overrides) -> nn.Module:
        settings = {**self._settings(), **overrides}
        cnn = CNN(**settings)
        if not self.replicated:
            return cnn
        rho = MLP(
            cnn.out_features + 1,
            settings["hidden_layer_sizes"],
            activation=settings["activation"],
        )
        return DeepSet(cnn, rho)

    def __repr__(self) -> str:
        settings = ", ".join(f"{k}={v!r}" for k, v in self._settings().items())
        return f"CNNSummary({settings}, replicated={self.replicated})"

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, CNNSummary)
            and self._settings() == other._settings()
            and self.replicated == other.replicated
        )

    def __hash__(self) -> int:
        return hash((tuple(self._settings().items()), self.replicated))
