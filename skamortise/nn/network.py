"""The composite network every estimator trains: a summary network and a head."""

from __future__ import annotations

import torch
from torch import nn


class AmortisedNetwork(nn.Module):
    """A summary network ``S(Z)`` followed by a family-specific head.

    The head receives the summary (and, for ratio estimators, the parameters); what
    it returns depends on the family: point estimates, quantiles, a distribution or a
    logit. Families call :meth:`summarise` and ``head`` themselves.
    """

    def __init__(self, summary: nn.Module, head: nn.Module):
        super().__init__()
        self.summary = summary
        self.head = head

    def summarise(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        # Only ragged data carries a mask; user networks for 2-D data take one input.
        return self.summary(x) if mask is None else self.summary(x, mask)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None, *args):
        return self.head(self.summarise(x, mask), *args)
