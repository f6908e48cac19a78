"""Set-level covariates as the inference network reads them."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


class CovariateInput(nn.Module):
    """Standardise covariates ``(n, k)`` by the training location and scale.

    The statistics are buffers, so they travel with the weights (saving, devices).

    Parameters
    ----------
    loc, scale : array-like of shape (n_covariates,)
        Location and (positive) scale of the training covariates.

    Examples
    --------
    >>> import torch
    >>> CovariateInput([1.0, 0.0], [2.0, 1.0])(torch.tensor([[3.0, 5.0]]))
    tensor([[1., 5.]])
    """

    def __init__(self, loc, scale):
        super().__init__()
        loc = torch.as_tensor(np.asarray(loc, dtype=np.float64), dtype=torch.float32)
        scale = torch.as_tensor(np.asarray(scale, dtype=np.float64), dtype=loc.dtype)
        self.register_buffer("loc", loc)
        self.register_buffer("scale", scale)
        self.n_covariates = len(loc)

    def forward(self, covariates: torch.Tensor) -> torch.Tensor:
        return (covariates - self.loc) / self.scale
