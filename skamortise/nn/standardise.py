"""Data standardisation: the first module of every estimator's network."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class Standardise(nn.Module):
    """``(x - loc) / scale`` on the observed entries; padded replicates stay zero.

    The location and scale of the training data are buffers, so they are saved with
    the weights and move with the network between devices. They stay float64
    whatever dtype the network is cast to, and the input is standardised in float64
    before :class:`~skamortise.nn.network.AmortisedNetwork` casts it to the
    network's dtype: data far from zero relative to their spread (a location of
    ``1e8`` and a unit scale) would lose their information in float32 arithmetic.
    Missing entries (NaN) stay NaN.

    Parameters
    ----------
    loc, scale : array-like
        Location and (positive) scale, broadcasting against one event: per feature
        for vectors, one value for grids.

    Examples
    --------
    >>> import torch
    >>> standardise = Standardise([1.0, 0.0], [2.0, 1.0])
    >>> x = torch.tensor([[[3.0, 5.0], [9.0, 9.0]]], dtype=torch.float64)
    >>> standardise(x, mask=torch.tensor([[True, False]]))
    tensor([[[1., 5.],
             [0., 0.]]], dtype=torch.float64)
    """

    def __init__(self, loc, scale):
        super().__init__()
        for name, value in (("loc", loc), ("scale", scale)):
            if not torch.is_tensor(value):
                value = torch.as_tensor(np.array(value, dtype=np.float64))
            self.register_buffer(name, value.to(torch.float64))

    @classmethod
    def identity(cls, event_shape: tuple[int, ...]) -> Standardise:
        """Location 0 and scale 1 for events of ``event_shape``, to load saved
        statistics into: per feature for vectors, one value for grids (as the
        training data's moments are shaped)."""
        shape = tuple(event_shape) if len(event_shape) == 1 else ()
        # torch, not numpy: a network rebuilt from a file is built under a size
        # limit that sees torch allocations only.
        zeros = torch.zeros(shape, dtype=torch.float64)
        return cls(zeros, torch.ones(shape, dtype=torch.float64))

    def _apply(self, fn, recurse=True):
        # Devices follow the network; the values stay float64 (see the class notes),
        # so they are moved from the originals, never from a cast copy.
        kept = {name: getattr(self, name) for name in ("loc", "scale")}
        super()._apply(fn, recurse)
        for name, value in kept.items():
            setattr(self, name, value.to(getattr(self, name).device))
        return self

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        """Standardise ``x`` ``(n, [m,] *event)``; ``mask`` ``(n, m)`` marks the
        observed replicates of padded data."""
        z = (x.to(torch.float64) - self.loc) / self.scale
        if mask is not None:
            observed = mask.reshape(*mask.shape, *([1] * (z.ndim - mask.ndim)))
            z = z.masked_fill(~observed, 0.0)
        return z
