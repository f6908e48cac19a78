"""Sampling a batched unnormalised density on a box, by MCMC, importance or a grid.

The samplers of the ratio estimator and of ensembles of ratio estimators: the target
is ``exp(log_fn)`` on ``[lower, upper]`` for each of ``n`` data sets.
"""

from __future__ import annotations

import torch

from .importance import grid_posterior, sample_importance
from .mcmc import sample_mcmc

# Candidates per data set when initialising chains by importance resampling.
_N_INIT_CANDIDATES = 4000
# Default chain count: one chain per this many draws, within [_MIN, _MAX]. Chains of
# 100 draws keep the split-R-hat's finite-length bias small for a slice sampler whose
# draws are nearly independent, and 100 chains cost about one chain's time per step.
_DRAWS_PER_CHAIN = 100
_MIN_CHAINS, _MAX_CHAINS = 10, 100


def _uniform_sampler(lower, upper, n):
    def draw(k, generator):
        u = torch.rand(n, k, len(lower), generator=generator, dtype=lower.dtype)
        return lower + (upper - lower) * u.to(lower)

    return draw


def sample_log_density(
    log_fn,
    lower,
    upper,
    n,
    n_samples,
    *,
    method="mcmc",
    n_chains=None,
    warmup=100,
    thin=1,
    generator=None,
):
    """Draw from ``exp(log_fn)`` on the box ``[lower, upper]`` for ``n`` data sets.

    Parameters
    ----------
    log_fn : callable
        Maps ``(n, k, p)`` parameter tensors to ``(n, k)`` unnormalised log densities.
    lower, upper : torch.Tensor of shape (p,)
        The finite box; its dtype and device are those of the draws.
    n : int
        Number of data sets.
    n_samples : int
        Draws per data set.
    method : {"mcmc", "importance", "grid"}, default="mcmc"
        Slice-sampling MCMC with chains started by importance resampling of flat
        candidates, sampling-importance-resampling from a flat proposal, or a grid
        (one or two parameters).
    n_chains : int, default=None
        MCMC chains per data set; None: one per 100 draws, between 10 and 100.
    warmup : int, default=100
        MCMC warm-up steps.
    thin : int, default=1
        Keep every ``thin``-th MCMC step.
    generator : torch.Generator, default=None
        Source of randomness.

    Returns
    -------
    samples : ndarray of shape (n, n_samples, p)
    info : MCMCResult, ImportanceResult or GridPosterior
        The sampler's result with its diagnostics.
    """
    p = len(lower)
    with torch.no_grad():
        if method == "grid":
            grid = grid_posterior(
                log_fn, (lower, upper), 100 if p == 1 else 60, n_datasets=n
            )
            return grid.sample(n_samples, generator=generator), grid
        if method == "importance":
            info = sample_importance(
                log_fn,
                _uniform_sampler(lower, upper, n),
                lambda theta: torch.zeros(theta.shape[:-1]).to(theta),
                n_samples,
                n_proposals=max(10 * n_samples, 1000),
                n_datasets=n,
                generator=generator,
            )
            return info.samples, info
        if n_chains is None:
            n_chains = -(-n_samples // _DRAWS_PER_CHAIN)
            n_chains = min(_MAX_CHAINS, max(_MIN_CHAINS, n_chains))
        init = _initial_points(log_fn, lower, upper, n, n_chains, generator)
        info = sample_mcmc(
            log_fn,
            init,
            n_samples,
            method="slice",
            warmup=warmup,
            thin=thin,
            bounds=(lower, upper),
            generator=generator,
        )
        return info.samples, info


def _initial_points(log_fn, lower, upper, n, n_chains, generator):
    """Chain starts: importance resampling of flat candidates on the support."""
    u = torch.rand(n, _N_INIT_CANDIDATES, len(lower), generator=generator)
    candidates = lower + (upper - lower) * u.to(lower)
    weights = torch.softmax(log_fn(candidates).nan_to_num(-torch.inf), dim=1)
    pick = torch.multinomial(
        weights.cpu(), n_chains, replacement=True, generator=generator
    )
    index = pick[..., None].expand(-1, -1, len(lower)).to(candidates.device)
    return candidates.gather(1, index)
