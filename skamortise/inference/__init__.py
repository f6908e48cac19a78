"""Sampling, optimisation and likelihood-based inference on batched log densities.

Every routine takes a callable ``log_fn(theta)`` mapping parameters of shape
``(n_datasets, k, n_parameters)`` to log densities ``(n_datasets, k)``: ``k`` chains,
candidates or starts per data set, all evaluated in one call. Inputs may be numpy
arrays or torch tensors; work stays in torch on the inputs' device and results come
back as numpy float64.
"""

from ._result import MCMCResult
from .box import sample_log_density
from .importance import (
    GridPosterior,
    ImportanceResult,
    grid_posterior,
    sample_importance,
)
from .likelihood_ratio import (
    ConfidenceSetGrid,
    LRTestResult,
    ProfileInterval,
    confidence_set_grid,
    lr_test,
    profile_interval,
)
from .mcmc import sample_mcmc
from .optimize import maximize
from .priors import prior_log_density

__all__ = [
    "ConfidenceSetGrid",
    "GridPosterior",
    "ImportanceResult",
    "LRTestResult",
    "MCMCResult",
    "ProfileInterval",
    "confidence_set_grid",
    "grid_posterior",
    "lr_test",
    "maximize",
    "prior_log_density",
    "profile_interval",
    "sample_importance",
    "sample_log_density",
    "sample_mcmc",
]
