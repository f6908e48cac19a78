"""Conditional distributions ``q(theta | context)`` for posterior estimation.

Every head is a :class:`torch.nn.Module` whose call on a context tensor of shape
``(B, s)`` returns a :class:`torch.distributions.Distribution` with batch shape
``(B,)`` and event shape ``(p,)``: ``head(c).log_prob(theta)`` and
``head(c).sample((n,))``. The heads know nothing of how the context is made.
"""

from ._registry import DISTRIBUTIONS, build_distribution
from .coupling import AffineCouplingFlow, CouplingFlowDistribution
from .gaussian import GaussianHead
from .mixture import GaussianMixture, GaussianMixtureHead
from .spline import MaskedAutoregressiveFlow, NeuralSplineFlow
from .transforms import BoundsTransform

__all__ = [
    "DISTRIBUTIONS",
    "AffineCouplingFlow",
    "BoundsTransform",
    "CouplingFlowDistribution",
    "GaussianHead",
    "GaussianMixture",
    "GaussianMixtureHead",
    "MaskedAutoregressiveFlow",
    "NeuralSplineFlow",
    "build_distribution",
]
