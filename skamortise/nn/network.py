"""The composite network every estimator trains: a summary network and a head."""

from __future__ import annotations

import torch
from torch import nn


class AmortisedNetwork(nn.Module):
    """A summary network ``S(Z)`` followed by a family-specific head.

    The head receives the summary (and, for ratio estimators, the parameters); what
    it returns depends on the family: point estimates, quantiles, a distribution or a
    logit. Families call :meth:`summarise` and ``head`` themselves. Set-level
    covariates, when the network has a ``covariates`` module, are standardised by it
    and appended to the learned summary: the head sees both.
    """

    def __init__(
        self,
        summary: nn.Module,
        head: nn.Module,
        covariates: nn.Module | None = None,
    ):
        super().__init__()
        self.summary = summary
        self.head = head
        self.covariates = covariates

    @property
    def n_covariates(self) -> int:
        return 0 if self.covariates is None else self.covariates.n_covariates

    def summarise(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        covariates: torch.Tensor | None = None,
    ):
        # Only ragged data carries a mask; user networks for 2-D data take one input.
        summary = self.summary(x) if mask is None else self.summary(x, mask)
        if (covariates is None) != (self.covariates is None):
            raise ValueError(
                f"The network takes {self.n_covariates} set-level covariate(s); got "
                f"{0 if covariates is None else covariates.shape[-1]}."
            )
        if covariates is None:
            return summary
        return torch.cat([summary, self.covariates(covariates)], dim=-1)

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        covariates: torch.Tensor | None = None,
    ):
        return self.head(self.summarise(x, mask, covariates))
