"""A head's distribution carried onto the parameter scale by an increasing map.

The heads model parameters on the network's scale (standardised, and mapped onto
the real line where bounded). Composing that map into the distribution, as sbi and
zuko make the z-score the first transform of a flow, gives a distribution on the
parameters' own scale: densities include every Jacobian, draws lie in the support,
and nothing outside the distribution needs to know the map.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor
from torch.distributions import (
    AffineTransform,
    ComposeTransform,
    Distribution,
    Transform,
    TransformedDistribution,
)

from .transforms import BoundsTransform


def parameter_map(
    loc: Tensor, scale: Tensor, bounds: BoundsTransform | None = None
) -> Transform:
    """The map from the network's scale to the parameters.

    Parameters
    ----------
    loc, scale : Tensor of shape (p,)
        The standardisation: ``u = loc + scale * z``.
    bounds : BoundsTransform or None, default=None
        Then ``theta = bounds(u)``; None for unbounded parameters.

    Returns
    -------
    Transform
        Increasing in each coordinate separately, with ``event_dim=1``.
    """
    affine = AffineTransform(loc, scale, event_dim=1)
    return affine if bounds is None else ComposeTransform([affine, bounds])


class ParameterDistribution(TransformedDistribution):
    """``base`` pushed through ``transform``, a coordinatewise increasing map.

    Because the map acts on each coordinate separately and is increasing, marginal
    quantiles and Gauss-Hermite nodes pass through it; ``log_prob`` is ``-inf``
    outside the map's image (the support).

    Parameters
    ----------
    base : Distribution
        A head's output, batch shape ``(B,)`` and event shape ``(p,)``.
    transform : Transform
        From :func:`parameter_map`.
    """

    def __init__(self, base: Distribution, transform: Transform) -> None:
        super().__init__(base, [transform], validate_args=False)
        self.transform = transform

    @property
    def support(self):
        return self.transform.codomain

    def log_prob(self, value: Tensor) -> Tensor:
        log_prob = super().log_prob(value)
        inside = self.transform.codomain.check(value)
        return torch.where(inside, log_prob, torch.full_like(log_prob, -torch.inf))

    def _is_affine(self) -> bool:
        return isinstance(self.transform, AffineTransform)

    def marginal_quantiles(self, levels: Tensor) -> Tensor:
        """``(B, p, L)`` marginal quantiles at ``levels`` of shape ``(L,)``."""
        q = self.base_dist.marginal_quantiles(levels)
        return self.transform(q.transpose(-1, -2)).transpose(-1, -2)

    def marginal_quadrature(self) -> Sequence[Tensor]:
        """Nodes ``(m, B, p)`` on the parameter scale and weights ``(m, B)``."""
        nodes, weights = self.base_dist.marginal_quadrature()
        return self.transform(nodes), weights

    @property
    def mean(self) -> Tensor:
        """Closed form through an affine map; a quadrature sum through bounds."""
        if self._is_affine():
            return self.transform(self.base_dist.mean)
        nodes, weights = self.marginal_quadrature()
        return (weights.unsqueeze(-1) * nodes).sum(0)
