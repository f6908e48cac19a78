"""Vectorised Markov chain Monte Carlo for many data sets at once.

All chains of all data sets live in one tensor of shape
``(n_datasets, n_chains, n_parameters)`` and advance together; the only Python loop is
over MCMC steps. The kernels (``_kernels.py``, ``_independence.py``):

* ``"slice"``: slice sampling along directions adapted to each data set's chain
  covariance during warm-up;
* ``"rwm"``: random-walk Metropolis with an adapted Gaussian proposal;
* ``"independence"``: independence Metropolis-Hastings from a given Gaussian mixture
  (which crosses between modes in one move) alternated with local random-walk
  moves shaped by the mixture's components.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._independence import IndependenceKernel
from ._kernels import RandomWalkKernel, SliceKernel
from ._result import MCMCResult, chain_result
from ._tensor import (
    Bounds,
    LogFn,
    as_tensor,
    bounds_tensors,
    make_generator,
    safe_log_fn,
)
from .mixture import GaussianMixture

# Warm-up fractions at which the kernels are re-fitted to the chains. The last one
# leaves a quarter of warm-up for the random-walk scale to settle on the final shape.
_ADAPT_FRACTIONS = (0.15, 0.3, 0.5, 0.75)
KERNELS = {
    "slice": SliceKernel,
    "rwm": RandomWalkKernel,
    "independence": IndependenceKernel,
}


def _chain_starts(init, n_chains: int | None) -> torch.Tensor:
    theta = as_tensor(init)
    if theta.ndim == 2:
        n_chains = 4 if n_chains is None else n_chains
        return theta[:, None, :].expand(-1, n_chains, -1).clone()
    if theta.ndim != 3:
        raise ValueError(
            "init must have shape (n_datasets, n_chains, n_parameters) or "
            f"(n_datasets, n_parameters); got {tuple(theta.shape)}."
        )
    if n_chains is not None and n_chains != theta.shape[1]:
        raise ValueError(f"init holds {theta.shape[1]} chains, n_chains={n_chains}.")
    return theta.clone()


def sample_mcmc(
    log_fn: LogFn,
    init: np.ndarray | torch.Tensor,
    n_samples: int,
    *,
    method: str = "slice",
    n_chains: int | None = None,
    warmup: int = 200,
    thin: int = 1,
    bounds: Bounds = None,
    proposal: GaussianMixture | None = None,
    generator: torch.Generator | int | None = None,
) -> MCMCResult:
    """Draw from batched unnormalised densities with vectorised MCMC.

    Parameters
    ----------
    log_fn : callable
        ``log_fn(theta)`` maps ``theta`` of shape ``(n_datasets, k, n_parameters)`` to
        log densities ``(n_datasets, k)`` (up to a constant per data set); it may
        return ``-inf`` outside the support. It receives tensors with the dtype and
        device of ``init``, is called without gradients, and only at points inside
        ``bounds``.
    init : array-like of shape (n_datasets, n_chains, n_parameters)
        Starting points, all with finite log density. A 2-D array
        ``(n_datasets, n_parameters)`` starts ``n_chains`` chains at the same point.
    n_samples : int
        Number of draws kept per data set, spread over the chains.
    method : {"slice", "rwm", "independence"}, default="slice"
        Slice sampling, adaptive random-walk Metropolis, or independence
        Metropolis-Hastings from ``proposal`` with local moves; see the module
        notes.
    n_chains : int, default=None
        Must match ``init`` when it is 3-D; defaults to 4 when ``init`` is 2-D.
    warmup : int, default=200
        Steps per chain discarded while the kernel adapts.
    thin : int, default=1
        Keep every ``thin``-th step after warm-up.
    bounds : tuple of (array-like, array-like), default=None
        Lower and upper bounds of length ``n_parameters``; use ``-inf``/``inf`` for open
        sides. Proposals outside are rejected and slices are clipped to them.
    proposal : GaussianMixture, default=None
        The independence kernel's proposal, one mixture per data set (e.g. from
        :func:`~skamortise.inference.mixture.fit_gaussian_mixture`); required by
        ``method="independence"`` and used by no other kernel. It must have
        positive density wherever the target has.
    generator : torch.Generator or int, default=None
        Source of all randomness; an int seeds a fresh generator. The same seed
        gives identical output.

    Returns
    -------
    MCMCResult
        Draws, per-chain draws and diagnostics, as numpy float64.

    Notes
    -----
    The slice kernel makes one update per parameter and step; each update's
    stepping-out is capped at ``MAX_STEP_OUT`` (25) widths and its shrinkage at
    ``MAX_SHRINK`` (50) proposals. The kernels adapt only during warm-up, at 15, 30,
    50 and 75 % of it, from the second half of the warm-up draws so far, so the
    kept draws come from a fixed Markov kernel. Pooled covariances assume one
    mode per data set; a multimodal target still works with the slice kernel,
    whose widths then span the modes. The independence kernel crosses between
    modes in one move when its mixture covers them; its ``acceptance_rate`` is that
    of the independence moves, and ``evaluations_per_step`` is 2.

    Examples
    --------
    >>> import torch
    >>> from skamortise.inference import sample_mcmc
    >>> means = torch.tensor([[0.0], [5.0]], dtype=torch.float64)
    >>> def log_fn(theta):
    ...     return -0.5 * ((theta - means[:, None, :]) ** 2).sum(-1)
    >>> result = sample_mcmc(log_fn, means[:, None, :].expand(2, 4, 1), 400,
    ...                      warmup=50, generator=0)
    >>> result.samples.shape, result.chains.shape
    ((2, 400, 1), (2, 4, 100, 1))
    >>> bool(abs(result.samples[1].mean() - 5.0) < 0.3)
    True
    """
    if method not in KERNELS:
        raise ValueError(f"method must be one of {sorted(KERNELS)}, got {method!r}.")
    if n_samples < 1 or warmup < 0 or thin < 1:
        raise ValueError("need n_samples >= 1, warmup >= 0 and thin >= 1.")
    if (method == "independence") != (proposal is not None):
        raise ValueError(
            "proposal is required by method='independence' and used by no other "
            f"method; got method={method!r} with proposal={type(proposal).__name__}."
        )
    theta = _chain_starts(init, n_chains)
    n_datasets, n_chains, n_parameters = theta.shape
    lower, upper = bounds_tensors(bounds, n_parameters, theta)
    generator = make_generator(generator)
    if not bool(((theta >= lower) & (theta <= upper)).all()):
        raise ValueError("some starting points lie outside the bounds.")
    logp = safe_log_fn(log_fn, theta, lower, upper)
    if not bool(torch.isfinite(logp).all()):
        bad = int((~torch.isfinite(logp)).sum())
        raise ValueError(f"{bad} starting points have a non-finite log density.")

    options = {} if proposal is None else {"proposal": proposal}
    kernel = KERNELS[method](theta, lower, upper, **options)
    adapt_at = {int(f * warmup) for f in _ADAPT_FRACTIONS if int(f * warmup) >= 10}
    history = theta.new_empty((warmup, n_datasets, n_chains, n_parameters))
    for step in range(warmup):
        theta, logp = kernel.step(log_fn, theta, logp, generator)
        history[step] = theta
        if step + 1 in adapt_at:
            kernel.adapt(history[(step + 1) // 2 : step + 1])

    kernel.warming = False
    kernel.reset_counters(theta)
    n_per_chain = math.ceil(n_samples / n_chains)
    kept = theta.new_empty((n_per_chain, n_datasets, n_chains, n_parameters))
    for step in range(n_per_chain * thin):
        theta, logp = kernel.step(log_fn, theta, logp, generator)
        if (step + 1) % thin == 0:
            kept[step // thin] = theta

    n_steps = n_per_chain * thin * n_chains
    return chain_result(
        kept,
        n_samples,
        kernel.moves / kernel.updates,
        kernel.evaluations / n_steps,
        method,
    )
