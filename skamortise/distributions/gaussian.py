"""Conditional multivariate Gaussian with a full covariance matrix."""

from __future__ import annotations

import functools
import math

import numpy as np
import torch
from torch import Tensor, nn
from torch.distributions import MultivariateNormal
from torch.nn import functional as F

from ._mlp import check_positive_int, make_mlp

# Nodes of the Gauss-Hermite rule behind expectations of coordinate-wise functions.
N_QUADRATURE_NODES = 64


@functools.lru_cache
def _hermite_rule(n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_nodes)
    return nodes, weights / math.sqrt(2 * math.pi)


def standard_normal_rule(n_nodes: int, like: Tensor) -> tuple[Tensor, Tensor]:
    """Gauss-Hermite nodes and weights for expectations under ``N(0, 1)``.

    ``sum_i weights[i] f(nodes[i])`` approximates ``E f(Z)``; it is exact for
    polynomials of degree below ``2 n_nodes`` and converges fast for smooth ``f``.

    Parameters
    ----------
    n_nodes : int
        Number of nodes.
    like : Tensor
        The dtype and device of the result.

    Returns
    -------
    nodes, weights : Tensor of shape (n_nodes,)
    """
    nodes, weights = _hermite_rule(int(n_nodes))
    return (
        torch.as_tensor(nodes).to(like),
        torch.as_tensor(weights).to(like),
    )


class MultivariateGaussian(MultivariateNormal):
    """A multivariate normal with exact summaries of each coordinate's marginal.

    The marginal of coordinate ``j`` is ``N(loc_j, Sigma_jj)``, so its quantiles
    are closed-form and an expectation of a function of that coordinate alone is a
    one-dimensional Gauss-Hermite sum; neither needs draws from the joint.

    Examples
    --------
    >>> import torch
    >>> dist = MultivariateGaussian(torch.zeros(1, 2), scale_tril=2 * torch.eye(2))
    >>> dist.marginal_quantiles(torch.tensor([0.5, 0.975])).shape
    torch.Size([1, 2, 2])
    """

    def marginal_quantiles(self, levels: Tensor) -> Tensor:
        """Quantiles of every coordinate's marginal, ``batch_shape + (p, L)``.

        Parameters
        ----------
        levels : Tensor of shape (L,)
            Levels in (0, 1).
        """
        z = torch.special.ndtri(levels.to(self.loc))
        return self.loc.unsqueeze(-1) + self.stddev.unsqueeze(-1) * z

    def marginal_quadrature(
        self, n_nodes: int = N_QUADRATURE_NODES
    ) -> tuple[Tensor, Tensor]:
        """A quadrature rule for each coordinate's marginal.

        ``(weights[..., None] * f(nodes)).sum(0)`` approximates ``E f(theta)`` for
        any ``f`` that acts on each coordinate separately.

        Parameters
        ----------
        n_nodes : int, default=N_QUADRATURE_NODES
            Gauss-Hermite nodes per coordinate.

        Returns
        -------
        nodes : Tensor of shape (n_nodes,) + batch_shape + (p,)
        weights : Tensor of shape (n_nodes,) + batch_shape
        """
        x, w = standard_normal_rule(n_nodes, self.loc)
        batch = self.batch_shape
        nodes = self.loc + self.stddev * x.view(-1, *[1] * (len(batch) + 1))
        return nodes, w.view(-1, *[1] * len(batch)).expand(n_nodes, *batch)


class CholeskyFactor(nn.Module):
    """Turn ``p (p + 1) / 2`` unconstrained numbers into a lower Cholesky factor.

    The first ``p`` inputs become the diagonal through a softplus plus a floor
    ``min_scale``; the remaining ones fill the strictly lower triangle row by row.

    Parameters
    ----------
    n_parameters : int
        Dimension ``p`` of the factor.
    min_scale : float, default=1e-5
        Floor on every diagonal entry, so the covariance stays invertible.
    """

    def __init__(self, n_parameters: int, min_scale: float = 1e-5) -> None:
        super().__init__()
        if not min_scale > 0:
            raise ValueError(f"min_scale must be > 0, got {min_scale!r}.")
        self.n_parameters = n_parameters
        self.min_scale = float(min_scale)
        # Shift so that a raw value of 0 gives a diagonal entry of exactly 1: an
        # untrained head then starts at unit scale, matching standardised targets.
        self.offset = math.log(math.expm1(max(1.0 - self.min_scale, 1e-6)))
        rows, cols = torch.tril_indices(n_parameters, n_parameters, offset=-1)
        # Index buffers are integer, so ``.double()`` leaves them alone, and they
        # are rebuilt from ``n_parameters``, so they stay out of the state dict.
        self.register_buffer("rows", rows, persistent=False)
        self.register_buffer("cols", cols, persistent=False)

    @staticmethod
    def n_entries(n_parameters: int) -> int:
        """Number of unconstrained inputs needed for a ``p x p`` factor."""
        return n_parameters * (n_parameters + 1) // 2

    def forward(self, raw: Tensor) -> Tensor:
        """Map ``(..., p (p + 1) / 2)`` raw values to ``(..., p, p)`` factors."""
        p = self.n_parameters
        diagonal = F.softplus(raw[..., :p] + self.offset) + self.min_scale
        factor = torch.diag_embed(diagonal)
        if p > 1:
            lower = raw.new_zeros(factor.shape)
            # Writing into a fresh zero tensor is autograd-safe: nothing else reads it.
            lower[..., self.rows, self.cols] = raw[..., p:]
            factor = factor + lower
        return factor

    def extra_repr(self) -> str:
        return f"n_parameters={self.n_parameters}, min_scale={self.min_scale}"


class GaussianHead(nn.Module):
    """Conditional Gaussian ``q(theta | c) = N(mu(c), L(c) L(c)^T)``.

    A small network maps the context to the mean and to the entries of a lower
    Cholesky factor with a positive diagonal, so the covariance is full.

    Parameters
    ----------
    n_parameters : int
        Dimension ``p`` of ``theta``.
    context_features : int
        Dimension ``s`` of the context.
    hidden_features : int, default=64
        Width of the hidden layers.
    n_hidden_layers : int, default=1
        Number of hidden layers; ``0`` makes the head a linear map of the context.
    min_scale : float, default=1e-5
        Floor on the diagonal of the Cholesky factor.

    Examples
    --------
    >>> import torch
    >>> head = GaussianHead(n_parameters=2, context_features=3)
    >>> dist = head(torch.zeros(4, 3))
    >>> dist.log_prob(torch.zeros(4, 2)).shape
    torch.Size([4])
    >>> dist.sample((10,)).shape
    torch.Size([10, 4, 2])
    """

    def __init__(
        self,
        n_parameters: int,
        context_features: int,
        hidden_features: int = 64,
        n_hidden_layers: int = 1,
        min_scale: float = 1e-5,
    ) -> None:
        super().__init__()
        self.n_parameters = check_positive_int(n_parameters, "n_parameters")
        self.context_features = check_positive_int(context_features, "context_features")
        p = self.n_parameters
        self.net = make_mlp(
            self.context_features,
            p + CholeskyFactor.n_entries(p),
            check_positive_int(hidden_features, "hidden_features"),
            check_positive_int(n_hidden_layers, "n_hidden_layers", minimum=0),
        )
        self.cholesky = CholeskyFactor(p, min_scale)

    def forward(self, context: Tensor) -> MultivariateGaussian:
        """Return ``q(theta | context)`` with batch shape ``context.shape[:-1]``."""
        out = self.net(context)
        loc, raw = out[..., : self.n_parameters], out[..., self.n_parameters :]
        # Arguments are valid by construction; validation would only cost time and
        # turn a diverging training step into an exception instead of a nan loss.
        return MultivariateGaussian(
            loc, scale_tril=self.cholesky(raw), validate_args=False
        )
