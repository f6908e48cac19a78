"""Conditional distributions ``q(theta | context)`` for posterior estimation.

Every head is a :class:`torch.nn.Module` whose call on a context tensor of shape
``(B, s)`` returns a :class:`torch.distributions.Distribution` with batch shape
``(B,)`` and event shape ``(p,)``: ``head(c).log_prob(theta)`` and
``head(c).sample((n,))``. The heads know nothing of how the context is made.
"""

from ._registry import DISTRIBUTIONS, build_distribution
from .coupling import AffineCouplingFlow, CouplingFlowDistribution
from .gaussian import GaussianHead
from .mixture import GaussianMixtureHead, MultivariateGaussianMixture
from .spline import MaskedAutoregressiveFlow, NeuralSplineFlow
from .transforms import BoundsTransform

__all__ = [
    "DISTRIBUTIONS",
    "AffineCouplingFlow",
    "BoundsTransform",
    "CouplingFlowDistribution",
    "GaussianHead",
    "GaussianMixtureHead",
    "MaskedAutoregressiveFlow",
    "MultivariateGaussianMixture",
    "NeuralSplineFlow",
    "build_distribution",
]


def __getattr__(name: str):
    # GaussianMixture named both this distribution and the simulator in
    # skamortise.models; the distribution is now MultivariateGaussianMixture.
    if name == "GaussianMixture":
        from .._deprecation import warn_renamed

        warn_renamed(
            "skamortise.distributions.GaussianMixture",
            "skamortise.distributions.MultivariateGaussianMixture",
        )
        return MultivariateGaussianMixture
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
