"""Output heads of the point and quantile families."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .mlp import MLP


class QuantileHead(nn.Module):
    """Quantiles at fixed levels that cannot cross.

    The lowest level is output directly and each higher one as the previous plus a
    softplus increment, so ``q_1 <= ... <= q_K`` for every input, not on average.
    Returns ``(batch, n_parameters, n_levels)``.
    """

    def __init__(self, in_features: int, n_parameters: int, n_levels: int):
        super().__init__()
        self.shape = (n_parameters, n_levels)
        self.linear = nn.Linear(in_features, n_parameters * n_levels)

    def forward(self, summary: torch.Tensor) -> torch.Tensor:
        out = self.linear(summary).unflatten(-1, self.shape)
        first, steps = out[..., :1], F.softplus(out[..., 1:])
        return torch.cat([first, first + steps.cumsum(dim=-1)], dim=-1)


class QuantileFunctionHead(nn.Module):
    """A quantile function ``q(tau)``, increasing in ``tau`` by construction.

    With ``z = Phi^{-1}(tau)``, ``q(tau) = a + w_0 z + sum_k w_k sigmoid((z - c_k) /
    h)`` where every weight ``w`` is a softplus (positive) output of the summary, and
    every basis function increases in ``z``: so ``q`` increases in ``tau`` for every
    input. The ``z`` term gives Gaussian-like tails; the sigmoid steps, centred on a
    grid over [-3, 3], give skewness and multiple modes.

    ``forward(summary, tau)`` takes ``tau`` of shape ``(batch, n_parameters, K)`` (or
    broadcastable) in (0, 1) and returns quantiles of the same shape.
    """

    def __init__(self, in_features: int, n_parameters: int, n_steps: int = 15):
        super().__init__()
        self.shape = (n_parameters, n_steps + 2)
        self.linear = nn.Linear(in_features, n_parameters * (n_steps + 2))
        centres = torch.linspace(-3.0, 3.0, n_steps)
        self.register_buffer("centres", centres)
        # Steps as wide as their spacing: equal weights then sum to about w * z.
        self.width = float(centres[1] - centres[0]) if n_steps > 1 else 1.0

    def forward(self, summary: torch.Tensor, tau: torch.Tensor) -> torch.Tensor:
        out = self.linear(summary).unflatten(-1, self.shape)  # (B, p, 2 + n_steps)
        shift, weights = out[..., :1], F.softplus(out[..., 1:])
        z = torch.special.ndtri(tau).unsqueeze(-1)  # (B, p, K, 1)
        steps = torch.sigmoid((z - self.centres) / self.width) * self.width
        basis = torch.cat([z, steps], dim=-1)  # (B, p, K, 1 + n_steps)
        return shift + (basis * weights.unsqueeze(-2)).sum(dim=-1)


class RatioHead(nn.Module):
    """Classifier logit ``h(S(Z), theta)``: at the optimum, the log ratio.

    ``forward(summary, z)`` takes summaries ``(n, s)`` and parameters on the
    network's scale ``(n, p)`` or ``(n, k, p)`` (``k`` values per data set, e.g. MCMC
    chains or a grid) and returns logits ``(n,)`` or ``(n, k)``.

    With ``bounds`` (a :class:`~skamortise.distributions.BoundsTransform`) and the
    standardisation ``loc``, ``scale`` that put the parameters on the network's scale
    (``theta = bounds(loc + scale * z)``), the classifier sees the parameters on their
    own linear scale instead, standardised: the log ratio of a narrow likelihood is
    simplest in ``theta`` (the bounds' logit would bend it). The standardisation's
    moments are those of ``bounds(loc + scale * N(0, 1))``, by Gauss-Hermite
    quadrature (the training moments on the network's scale carried over).
    """

    def __init__(
        self,
        in_features: int,
        n_parameters: int,
        hidden_layer_sizes=(64, 64),
        activation: str = "relu",
        bounds=None,
        loc=None,
        scale=None,
    ):
        super().__init__()
        self.bounds = bounds
        if bounds is not None:
            loc = torch.as_tensor(loc, dtype=torch.float64)
            scale = torch.as_tensor(scale, dtype=torch.float64)
            theta_loc, theta_scale = _mapped_moments(bounds, loc, scale)
            self.register_buffer("loc", loc)
            self.register_buffer("scale", scale)
            self.register_buffer("theta_loc", theta_loc)
            self.register_buffer("theta_scale", theta_scale)
        self.mlp = MLP(
            in_features + n_parameters,
            hidden_layer_sizes,
            out_features=1,
            activation=activation,
        )

    def forward(self, summary: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
        if theta.ndim == summary.ndim + 1:
            summary = summary.unsqueeze(-2).expand(*theta.shape[:-1], summary.shape[-1])
        if self.bounds is not None:
            theta = self.bounds(self.loc + self.scale * theta)
            theta = (theta - self.theta_loc) / self.theta_scale
        features = torch.cat([summary, theta], dim=-1)
        return self.mlp(features.flatten(0, -2)).reshape(theta.shape[:-1])


_QUADRATURE_NODES = 32


def _mapped_moments(bounds, loc: torch.Tensor, scale: torch.Tensor):
    """Mean and sd of ``bounds(loc + scale * Z)``, ``Z ~ N(0, 1)`` per coordinate."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(_QUADRATURE_NODES)
    nodes = torch.as_tensor(nodes, dtype=torch.float64)[:, None]
    weights = torch.as_tensor(weights / weights.sum(), dtype=torch.float64)[:, None]
    values = bounds(loc + scale * nodes)
    mean = (weights * values).sum(0)
    sd = (weights * (values - mean) ** 2).sum(0).sqrt()
    return mean, sd
