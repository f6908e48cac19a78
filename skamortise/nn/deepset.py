"""Permutation-invariant summary network for replicated data (DeepSet)."""

from __future__ import annotations

import torch
from torch import nn

from ._masked import standardise_sets


class DeepSet(nn.Module):
    """``rho(pool_j phi(x_j), log m)``: a summary invariant to replicate order.

    Each replicate passes through ``phi``; the results are averaged over the observed
    replicates (``mask`` marks them in ragged input) and, by default, ``log m`` is
    appended so that one network serves any replicate count ``m`` and can narrow its
    uncertainty as ``m`` grows. ``rho`` maps the pooled vector to the summary.

    Parameters
    ----------
    phi : torch.nn.Module
        Per-replicate network mapping ``(batch, *event)`` to ``(batch, phi_features)``.
    rho : torch.nn.Module
        Outer network mapping ``(batch, phi_features [+ 1])`` to the summary.
    pooling : {"mean", "sum", "max"}, default="mean"
        How replicate features are combined.
    append_log_count : bool, default=True
        Whether ``log m`` is appended to the pooled features.
    count_scale : float or None, default=None
        When given, ``m / count_scale`` is appended as well (``rho`` receives one
        more feature). ``log m`` resolves small counts finely but compresses large
        ones (from m = 80 to 100 it moves 5% of its range while a posterior
        narrows by 11%); the linear feature resolves the large counts. The default
        network sets it to the largest training count; it is stored as a buffer.
    standardise_sets : bool, default=False
        For vector replicates ``(n, m, d)``: centre and scale each data set by its
        own mean and standard deviation (over its observed replicates) before
        ``phi``, and append that mean and log standard deviation to the pooled
        features. No information is lost, and ``phi`` then works on one scale
        whatever the data set's scale, so moments such as the variance come out
        precisely even for data sets much narrower than the training data overall.
        ``rho`` then receives ``2 d`` more features.
    """

    def __init__(
        self,
        phi: nn.Module,
        rho: nn.Module,
        pooling: str = "mean",
        append_log_count: bool = True,
        standardise_sets: bool = False,
        count_scale: float | None = None,
    ):
        super().__init__()
        if pooling not in ("mean", "sum", "max"):
            raise ValueError(
                f"pooling must be 'mean', 'sum' or 'max'; got {pooling!r}."
            )
        self.phi = phi
        self.rho = rho
        self.pooling = pooling
        self.append_log_count = append_log_count
        self.standardise_sets = standardise_sets
        if count_scale is not None:
            if not count_scale > 0:
                raise ValueError(f"count_scale must be positive; got {count_scale}.")
            self.register_buffer("count_scale", torch.tensor(float(count_scale)))
        else:
            self.count_scale = None
        self.out_features = getattr(rho, "out_features", None)

    def forward(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        n, m = x.shape[:2]
        if mask is None:
            mask = torch.ones(n, m, dtype=torch.bool, device=x.device)
        weights = mask.unsqueeze(-1).to(x.dtype)
        counts = weights.sum(dim=1)
        moments = None
        if self.standardise_sets:
            x, moments = standardise_sets(x, weights)
        h = self.phi(x.reshape(n * m, *x.shape[2:])).reshape(n, m, -1)
        if self.pooling == "max":
            pooled = h.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(dim=1)
        else:
            pooled = (h * weights).sum(dim=1)
            if self.pooling == "mean":
                pooled = pooled / counts
        if self.append_log_count:
            pooled = torch.cat([pooled, counts.log()], dim=1)
        if self.count_scale is not None:
            pooled = torch.cat([pooled, counts / self.count_scale], dim=1)
        if moments is not None:
            pooled = torch.cat([pooled, moments], dim=1)
        return self.rho(pooled)
