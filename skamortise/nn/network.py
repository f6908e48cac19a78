"""The composite network every estimator trains: a summary network and a head."""

from __future__ import annotations

import torch
from torch import nn


class AmortisedNetwork(nn.Module):
    """Standardisation, a summary network ``S(Z)`` and a family-specific head.

    The data are standardised by the ``standardise`` module (a
    :class:`~skamortise.nn.standardise.Standardise`, or None for data given
    standardised) and cast to the network's dtype before the summary network reads
    them. The head receives the summary (and, for ratio estimators, the
    parameters); what it returns depends on the family: point estimates, quantiles,
    a distribution or a logit. Families call :meth:`summarise` and ``head``
    themselves. Set-level covariates, when the network has a ``covariates`` module,
    are standardised by it and appended to the learned summary: the head sees both.
    """

    def __init__(
        self,
        summary: nn.Module,
        head: nn.Module,
        covariates: nn.Module | None = None,
        standardise: nn.Module | None = None,
    ):
        super().__init__()
        self.standardise = standardise
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
        if self.standardise is not None:
            x = self._standardised(x, mask)
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

    def _standardised(self, x: torch.Tensor, mask: torch.Tensor | None):
        dtype = next(self.parameters()).dtype
        z = self.standardise(x, mask).to(dtype)
        if torch.isinf(z).any():  # NaN is a missing value, validated already
            largest = x.abs().nan_to_num(0.0).max()
            raise ValueError(
                "X has values too large for the network after standardisation by "
                f"the training data's scale (|X| up to {float(largest):.3g}); such "
                "data lie far outside what the estimator was trained on."
            )
        return z

    def forward(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None = None,
        covariates: torch.Tensor | None = None,
    ):
        return self.head(self.summarise(x, mask, covariates))
