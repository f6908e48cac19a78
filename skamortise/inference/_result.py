"""The result of the samplers that run Markov chains."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ._diagnostics import bulk_ess, split_rhat
from ._tensor import to_numpy


@dataclass(frozen=True)
class MCMCResult:
    """Draws and diagnostics of :func:`sample_mcmc` and the ratio estimator's sampler.

    Attributes
    ----------
    samples : ndarray of shape (n_datasets, n_samples, n_parameters)
        Post-warm-up, thinned draws of all chains, interleaved step by step (draw
        ``i`` of every chain precedes draw ``i + 1`` of any chain).
    chains : ndarray of shape (n_datasets, n_chains, n_per_chain, n_parameters)
        The same draws kept per chain; ``n_per_chain = ceil(n_samples / n_chains)``.
    acceptance_rate : ndarray of shape (n_datasets,)
        ``"rwm"``, ``"independence"``: fraction of accepted proposals after
        warm-up (for ``"independence"``, of its independence moves). ``"slice"``:
        fraction of one-dimensional slice updates that found a new point within
        the shrinkage budget; it should be 1, and lower values flag a badly
        scaled target.
    evaluations_per_step : ndarray of shape (n_datasets,)
        Mean number of log-density evaluations one chain needed per MCMC step
        after warm-up (1 for ``"rwm"`` and for independence Metropolis alone). Lockstep
        execution evaluates all chains until the slowest is done, so the batched
        calls are somewhat more.
    rhat : ndarray of shape (n_datasets, n_parameters)
        Rank-normalised split-R-hat per data set and parameter.
    ess : ndarray of shape (n_datasets, n_parameters)
        Bulk effective sample size per data set and parameter.
    method : str
        The kernel used.
    """

    samples: np.ndarray
    chains: np.ndarray
    acceptance_rate: np.ndarray
    evaluations_per_step: np.ndarray
    rhat: np.ndarray
    ess: np.ndarray
    method: str


def chain_result(
    kept: torch.Tensor,
    n_samples: int,
    acceptance_rate: torch.Tensor,
    evaluations_per_step: torch.Tensor,
    method: str,
) -> MCMCResult:
    """Collect draws ``kept`` of shape ``(n_per_chain, n_datasets, n_chains, p)``."""
    n_datasets, n_parameters = kept.shape[1], kept.shape[3]
    chains = to_numpy(kept.permute(1, 2, 0, 3))
    samples = to_numpy(kept.permute(1, 0, 2, 3).reshape(n_datasets, -1, n_parameters))
    return MCMCResult(
        samples=samples[:, :n_samples],
        chains=chains,
        acceptance_rate=to_numpy(acceptance_rate),
        evaluations_per_step=to_numpy(evaluations_per_step),
        rhat=split_rhat(chains),
        ess=bulk_ess(chains),
        method=method,
    )
