"""Example simulators with known answers, for tests, docs and benchmarks.

Every model exposes ``prior(n, rng)``, ``simulator(theta, rng, **kwargs)``,
``prior_log_prob(theta)``, ``parameter_names``, ``n_parameters`` and ``bounds``, plus
exact or reference posterior quantities where they exist.
"""

from .gaussian import GaussianReplicates

__all__ = ["GaussianReplicates"]
