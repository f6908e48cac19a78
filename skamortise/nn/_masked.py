"""Statistics over the masked second axis (replicates or time steps) of a batch."""

from __future__ import annotations

import torch

# Floor of a data set's standard deviation (data are standardised overall first), so
# that a single replicate or time step, or identical ones, give a finite log scale.
EPS = 1e-3


def masked_mean(h: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """Mean of ``h (n, m, k)`` over the entries whose ``weights (n, m, 1)`` are 1."""
    return (h * weights).sum(dim=1) / weights.sum(dim=1)


def standardise_sets(
    x: torch.Tensor, weights: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre and scale each data set of ``x (n, m, d)`` by its own moments.

    Returns the standardised ``x`` (padding, where ``weights`` is 0, is not zeroed)
    and the moments ``(n, 2 d)``: each feature's mean and log standard deviation over
    the observed entries. One observed entry has no spread: its log sd is reported as
    a neutral 0 rather than the floor's log, an outlier among the features.
    """
    counts = weights.sum(dim=1)
    centre = (x * weights).sum(dim=1, keepdim=True) / counts.unsqueeze(1)
    square = ((x - centre) ** 2 * weights).sum(dim=1, keepdim=True)
    spread = (square / counts.unsqueeze(1) + EPS**2).sqrt()
    log_spread = torch.where(counts > 1, spread[:, 0].log(), 0.0)
    return (x - centre) / spread, torch.cat([centre[:, 0], log_spread], dim=1)
