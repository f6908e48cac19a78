"""What every summary network for time series shares: the frame around an encoder."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ._masked import EPS, masked_mean, standardise_sets
from .mlp import MLP

# numpydoc fragments shared by the series networks' docstrings.
SELECTED_BY = """\
    Selected by ``summary_network="{name}"``, which passes ``n_channels``,
    ``hidden_layer_sizes``, ``activation``, ``max_length`` and
    ``length_moments``; the other
    parameters come from ``summary_network_kwargs``."""

FRAME_PARAMETERS = """\
    hidden_layer_sizes : sequence of int, default=(64, 64)
        Widths of the MLP after the encoder; the last is the summary size.
    activation : str, default="relu"
        Activation of that MLP{also}.
    standardise : bool, default=True
        Show the encoder each series in two views, per channel: centred and scaled
        by its own mean and standard deviation (both appended to the features),
        and scaled by its own root mean square only (see :class:`SeriesNetwork`).
    max_length : int or None, default=None
        The longest training series, the scale of the linear length feature.
    length_moments : (float, float) or None, default=None
        Mean and standard deviation of the training series' log lengths, by which
        the log length feature is standardised; None: 0 and 1."""

FRAME_ATTRIBUTES = """\
    ordered : bool
        True: the second axis of the data is time.
    out_features : int
        Width of the summary."""


class SeriesNetwork(nn.Module):
    """Standardise each series, encode it, append its length, map by an MLP.

    A subclass supplies the encoder, built for ``input_channels`` channels:
    ``encode(x, mask, weights)`` maps standardised series ``x (n, T,
    input_channels)`` (padding zeroed) to ``(n, encoded_features)``, reading only
    the observed time steps. This frame adds what every series network needs:

    - each series shown to the encoder in two views, both on one scale: centred
      and scaled per channel by its own mean and standard deviation over its
      observed steps (which are appended, so no information is lost), and scaled
      by its own root mean square only. The second keeps what centring hides: a
      series about a known level (zero, after the estimator's standardisation)
      has its lagged products there as they are, e.g. ``sum x_t x_{t-1} / sum
      x_t^2``, the statistic of an autoregression, as one average, which from
      the centred view needs the mean and a division;
    - the length ``T_i`` as ``log T_i``, standardised by the training lengths'
      moments, and ``T_i / max_length``, so one network serves every length. Raw,
      ``log T_i`` sits far from 0 with little spread (4.6 to 5.3 for 100 to 200
      steps), and how the summary should change with the length, e.g. the width
      of an interval, is then learnt slowly;
    - an MLP from these features to the summary.

    The attribute ``ordered = True`` tells an estimator that the second axis of
    ``X`` is time, so that a 3-D array or a list of arrays is read as series and
    never as iid replicates. A user network with that attribute gets the same
    layout.

    Parameters
    ----------
    n_channels : int
        Channels per time step.
    encoded_features : int
        Width of the encoder's output.
    hidden_layer_sizes : sequence of int
        Widths of the MLP after the encoder; the last is the summary size.
    activation : str
        Activation of the MLP.
    standardise : bool
        Whether each series is standardised by its own moments (appended), in
        two views; the encoder then reads ``input_channels = 2 n_channels``.
    max_length : int or None
        Scale of the linear length feature (the longest training series, stored
        as a buffer); None appends ``log T`` only.
    length_moments : (float, float) or None
        Mean and standard deviation of ``log T`` over the training series (stored
        as buffers); None: 0 and 1.
    """

    ordered = True

    def __init__(
        self,
        n_channels: int,
        encoded_features: int,
        hidden_layer_sizes: Sequence[int],
        activation: str,
        standardise: bool,
        max_length: int | None,
        length_moments: tuple[float, float] | None = None,
    ):
        super().__init__()
        if not (isinstance(n_channels, int) and n_channels >= 1):
            raise ValueError(f"n_channels must be a positive int; got {n_channels!r}.")
        self.n_channels = n_channels
        self.standardise = bool(standardise)
        # What the encoder reads: two views of each channel when standardised.
        self.input_channels = n_channels * (2 if self.standardise else 1)
        extra = 1 + (2 * n_channels if self.standardise else 0)
        if max_length is not None:
            if not max_length >= 1:
                raise ValueError(f"max_length must be at least 1; got {max_length}.")
            self.register_buffer("length_scale", torch.tensor(float(max_length)))
            extra += 1
        else:
            self.length_scale = None
        loc, scale = (0.0, 1.0) if length_moments is None else length_moments
        if not (math.isfinite(loc) and math.isfinite(scale) and scale > 0):
            raise ValueError(
                "length_moments must be a finite mean and a positive standard "
                f"deviation; got {length_moments!r}."
            )
        self.register_buffer("log_length_loc", torch.tensor(float(loc)))
        self.register_buffer("log_length_scale", torch.tensor(float(scale)))
        self.mlp = MLP(
            encoded_features + extra, hidden_layer_sizes, activation=activation
        )
        self.out_features = self.mlp.out_features

    def encode(
        self, x: torch.Tensor, mask: torch.Tensor, weights: torch.Tensor
    ) -> torch.Tensor:
        raise NotImplementedError

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """Summaries ``(n, out_features)`` of series ``x (n, T, C)`` or ``(n, T)``.

        ``mask (n, T)`` marks the observed steps of ragged series; they must come
        first (padding at the end), as the estimators arrange it.
        """
        if x.ndim == 2:
            x = x.unsqueeze(-1)
        if x.ndim != 3 or x.shape[2] != self.n_channels:
            raise ValueError(
                f"{type(self).__name__} expects series (batch, n_times, "
                f"{self.n_channels}); got {tuple(x.shape)}."
            )
        if mask is None:
            mask = torch.ones(x.shape[:2], dtype=torch.bool, device=x.device)
        weights = mask.unsqueeze(-1).to(x.dtype)
        parts = []
        if self.standardise:
            centred, moments = standardise_sets(x, weights)
            rms = (masked_mean(x**2, weights) + EPS**2).sqrt()
            x = torch.cat([centred, x / rms.unsqueeze(1)], dim=2) * weights
            parts.append(moments)
        length = weights.sum(dim=1)
        parts.append((length.log() - self.log_length_loc) / self.log_length_scale)
        if self.length_scale is not None:
            parts.append(length / self.length_scale)
        encoded = self.encode(x, mask, weights)
        return self.mlp(torch.cat([encoded, *parts], dim=1))
