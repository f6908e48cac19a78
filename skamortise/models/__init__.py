"""Example simulators with known answers, for tests, docs and benchmarks.

Every model exposes ``prior(n, rng)``, ``simulator(theta, rng, **kwargs)``,
``prior_log_prob(theta)``, ``parameter_names``, ``n_parameters`` and ``bounds``, plus
exact or reference posterior quantities where they exist.
"""

from .ar1 import AR1
from .birth_death import BirthDeathImmigration
from .gaussian import GaussianReplicates
from .gaussian_field import GaussianField
from .gaussian_linear import GaussianLinear
from .gaussian_mixture import GaussianMixture
from .slcp import SLCP
from .two_moons import TwoMoons

__all__ = [
    "AR1",
    "BirthDeathImmigration",
    "GaussianField",
    "GaussianLinear",
    "GaussianMixture",
    "GaussianReplicates",
    "SLCP",
    "TwoMoons",
]
