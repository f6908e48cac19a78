"""Sampling a batched unnormalised density on a box, by MCMC, importance or a grid.

The samplers of the ratio estimator and of ensembles of ratio estimators: the target
is ``exp(log_fn)`` on ``[lower, upper]`` for each of ``n`` data sets.

The MCMC path is built for one (or a few) data sets and many draws: a Gaussian
mixture is fitted to the target by tempered importance sampling
(:mod:`._tempering`), many chains start from importance resampling of its last
round, and all of them advance together with independence Metropolis-Hastings moves
from the mixture and local random-walk moves (:mod:`._independence`). The chains
start at (nearly) stationary points and the mixture crosses between modes in one
move, so short warm-up suffices and multimodal posteriors mix.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._independence import independence_metropolis
from ._tempering import tempered_mixture
from .importance import grid_posterior, sample_importance

# Default chain count: one chain per this many draws, within [_MIN, _MAX]. The
# split-R-hat of chains of n draws exceeds 1 by about (tau - 1) / (n / 2) for an
# integrated autocorrelation time tau, so chains must not be too short; 100 chains
# cost about one chain's time per step.
_DRAWS_PER_CHAIN = 100
_MIN_CHAINS, _MAX_CHAINS = 10, 100
# thin=None: the draws are redrawn with more thinning (from where the chains ended,
# after a short re-tuning) while the largest split-R-hat is at least _RHAT_TARGET.
_RHAT_TARGET = 1.01
_MAX_THIN = 32
# Mixture components: at most _MAX_COMPONENTS, and at least this many effective
# importance points per free parameter of the mixture, so that EM in many dimensions
# does not fit noise. Measured with a ratio estimator of the Gaussian linear task (10
# parameters): independence acceptance 0.54 with 8 components, 0.70 with 4, 0.80
# with 2; a 5-D target with four separated modes needs at least 4.
_MAX_COMPONENTS = 8
_POINTS_PER_MIXTURE_PARAMETER = 3
_TEMPERING_POINTS = 2000
_TEMPERING_ESS_FRACTION = 0.3


def _uniform_sampler(lower, upper, n):
    def draw(k, generator):
        u = torch.rand(n, k, len(lower), generator=generator, dtype=lower.dtype)
        return lower + (upper - lower) * u.to(lower)

    return draw


def n_components_for(n_parameters: int) -> int:
    """Mixture components that the tempering rounds' effective sample size supports."""
    per_component = 1 + n_parameters + n_parameters * (n_parameters + 1) // 2
    ess = _TEMPERING_ESS_FRACTION * _TEMPERING_POINTS
    supported = int(ess // (_POINTS_PER_MIXTURE_PARAMETER * per_component))
    return min(_MAX_COMPONENTS, max(1, supported))


def sample_log_density(
    log_fn,
    lower,
    upper,
    n,
    n_samples,
    *,
    method="mcmc",
    n_chains=None,
    warmup=50,
    thin=None,
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
        Independence Metropolis-Hastings from a Gaussian mixture fitted by tempered
        importance sampling, with local random-walk moves (see the module notes);
        sampling-importance-resampling from a flat proposal; or a grid (one or
        two parameters).
    n_chains : int, default=None
        MCMC chains per data set; None: one per 100 draws, between 10 and 100.
    warmup : int, default=50
        MCMC warm-up steps (the chains start from importance resampling).
    thin : int or None, default=None
        Keep every ``thin``-th MCMC step. None starts at 1 and, while the largest
        split-R-hat over data sets and parameters is 1.01 or more, draws again from
        where the chains ended with more thinning (up to 32).
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
        fit = tempered_mixture(
            log_fn,
            lower,
            upper,
            n,
            generator,
            n_points=_TEMPERING_POINTS,
            n_components=n_components_for(p),
            ess_fraction=_TEMPERING_ESS_FRACTION,
        )
        init = _resample(fit.points, fit.log_weights, n_chains, generator)

        def run(start, every):
            return independence_metropolis(
                log_fn,
                fit.proposal,
                start,
                n_samples,
                warmup=warmup,
                thin=every,
                bounds=(lower, upper),
                generator=generator,
            )

        info = run(init, 1 if thin is None else thin)
        every = 1
        while thin is None and every < _MAX_THIN:
            # Chains too short for a split-R-hat (NaN) cannot be judged by it.
            judged = info.rhat[np.isfinite(info.rhat)]
            if judged.size == 0 or judged.max() < _RHAT_TARGET:
                break
            worst = float(judged.max())
            # R-hat - 1 shrinks about as 1 / thin; aim below the target, at least
            # doubling the thinning each time.
            wanted = math.ceil(every * (worst - 1) / (0.8 * (_RHAT_TARGET - 1)))
            every = min(_MAX_THIN, max(2 * every, wanted))
            last = torch.as_tensor(info.chains[:, :, -1]).to(lower)
            info = run(last, every)
        return info.samples, info


def _resample(points, log_weights, k, generator):
    """``k`` of ``points`` per data set, drawn in proportion to ``exp(log_weights)``."""
    weights = torch.softmax(log_weights, dim=1)
    pick = torch.multinomial(weights.cpu(), k, replacement=True, generator=generator)
    index = pick[..., None].expand(-1, -1, points.shape[-1]).to(points.device)
    return points.gather(1, index)
