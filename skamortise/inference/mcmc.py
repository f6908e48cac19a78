"""Vectorised Markov chain Monte Carlo for many data sets at once.

All chains of all data sets live in one tensor of shape
``(n_datasets, n_chains, n_params)`` and advance together; the only Python loop is
over MCMC steps. Two kernels are provided:

* ``"slice"``: slice sampling (Neal, 2003) along a set of directions, one after the
  other. The directions start as the coordinate axes and, during warm-up, become the
  eigenvectors of each data set's pooled chain covariance, with widths set from the
  eigenvalues; correlated targets are then sampled as if they were uncorrelated.
  Stepping-out and shrinkage run in lockstep with boolean masks.
* ``"rwm"``: random-walk Metropolis with a Gaussian proposal whose covariance is
  re-estimated during warm-up from each data set's pooled chains, scaled by
  ``2.38**2 / n_params`` and by a factor tuned towards 30 % acceptance.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from ._diagnostics import bulk_ess, split_rhat
from ._tensor import (
    Bounds,
    LogFn,
    as_tensor,
    bounds_tensors,
    make_generator,
    rand,
    randn,
    safe_log_fn,
    to_numpy,
)

# Lockstep loops wait for the slowest chain, so both loops are capped. A chain whose
# shrinkage exhausts its budget keeps its current point for that update; the
# acceptance rate reported for the slice kernel counts how often that did not happen.
MAX_STEP_OUT = 25
MAX_SHRINK = 50
# Warm-up fractions at which the kernels are re-fitted to the chains. The last one
# leaves a quarter of warm-up for the random-walk scale to settle on the final shape.
_ADAPT_FRACTIONS = (0.15, 0.3, 0.5, 0.75)
# Points per speculative block of the slice kernel's two loops (see _update).
_STEP_OUT_BLOCK = 3
_SHRINK_BLOCK = 6
_TARGET_ACCEPTANCE = 0.3
_SLICE_WIDTH_IN_SD = 3.0


@dataclass(frozen=True)
class MCMCResult:
    """Draws and diagnostics of :func:`sample_mcmc`.

    Attributes
    ----------
    samples : ndarray of shape (n_datasets, n_samples, n_params)
        Post-warm-up, thinned draws of all chains, interleaved step by step (draw
        ``i`` of every chain precedes draw ``i + 1`` of any chain).
    chains : ndarray of shape (n_datasets, n_chains, n_per_chain, n_params)
        The same draws kept per chain; ``n_per_chain = ceil(n_samples / n_chains)``.
    acceptance_rate : ndarray of shape (n_datasets,)
        ``"rwm"``: fraction of accepted proposals after warm-up. ``"slice"``:
        fraction of one-dimensional slice updates that found a new point within
        the shrinkage budget; it should be 1, and lower values flag a badly
        scaled target.
    evaluations_per_step : ndarray of shape (n_datasets,)
        Mean number of log-density evaluations one chain needed per MCMC step
        after warm-up (1 for ``"rwm"``). Lockstep execution evaluates all chains
        until the slowest is done, so the batched calls are somewhat more.
    rhat : ndarray of shape (n_datasets, n_params)
        Rank-normalised split-R-hat per data set and parameter.
    ess : ndarray of shape (n_datasets, n_params)
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


def _pooled_covariance(window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Covariance per data set of draws ``(n_steps, n_datasets, n_chains, p)``.

    Returns the covariance ``(n_datasets, p, p)`` and a mask of data sets whose
    chains actually spread out; the others keep their previous kernel.
    """
    n_datasets, n_params = window.shape[1], window.shape[3]
    draws = window.permute(1, 0, 2, 3).reshape(n_datasets, -1, n_params)
    centred = draws - draws.mean(dim=1, keepdim=True)
    cov = centred.transpose(1, 2) @ centred / max(draws.shape[1] - 1, 1)
    trace = torch.diagonal(cov, dim1=1, dim2=2).sum(dim=1)
    usable = torch.isfinite(trace) & (trace > 0)
    # A small ridge keeps the Cholesky and the eigenvalues positive when a
    # parameter is (nearly) determined by the others.
    ridge = 1e-10 * trace / n_params
    eye = torch.eye(n_params, dtype=cov.dtype, device=cov.device)
    return cov + ridge[:, None, None] * eye, usable


def _initial_sd(
    theta: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor
) -> torch.Tensor:
    """A first guess at each data set's posterior scale, ``(n_datasets, p)``.

    The spread of the starting points if they differ, else a sixth of a finite
    bounded range, else 1; warm-up adaptation corrects it.
    """
    sd = theta.std(dim=1) if theta.shape[1] > 1 else torch.zeros_like(theta[:, 0])
    fallback = torch.where(
        torch.isfinite(upper - lower), (upper - lower) / 6.0, torch.ones_like(lower)
    )
    spread = sd > 1e-12 * (1.0 + theta.abs().mean(dim=1))
    return torch.where(spread, sd, fallback.expand_as(sd))


class _Kernel:
    """Shared bookkeeping: counters of moves, updates and log-density evaluations."""

    def __init__(self, theta: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor):
        self.lower, self.upper = lower, upper
        self.warming = True
        self.reset_counters(theta)

    def reset_counters(self, theta: torch.Tensor) -> None:
        n_datasets = theta.shape[0]
        self.moves = theta.new_zeros(n_datasets)
        self.updates = theta.new_zeros(n_datasets)
        self.evaluations = theta.new_zeros(n_datasets)

    def step(self, log_fn, theta, logp, generator):  # pragma: no cover - interface
        raise NotImplementedError

    def adapt(self, window: torch.Tensor) -> None:  # pragma: no cover - interface
        raise NotImplementedError


class _SliceKernel(_Kernel):
    def __init__(self, theta: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor):
        super().__init__(theta, lower, upper)
        n_datasets, _, n_params = theta.shape
        eye = torch.eye(n_params, dtype=theta.dtype, device=theta.device)
        self.directions = eye.expand(n_datasets, n_params, n_params).clone()
        self.widths = _SLICE_WIDTH_IN_SD * _initial_sd(theta, lower, upper)

    def adapt(self, window: torch.Tensor) -> None:
        cov, usable = _pooled_covariance(window)
        eigvals, eigvecs = torch.linalg.eigh(cov)
        top = eigvals.amax(dim=1, keepdim=True)
        eigvals = torch.maximum(eigvals, 1e-12 * top)
        widths = _SLICE_WIDTH_IN_SD * eigvals.sqrt()
        self.directions = torch.where(
            usable[:, None, None], eigvecs.transpose(1, 2), self.directions
        )
        self.widths = torch.where(usable[:, None], widths, self.widths)

    def step(self, log_fn, theta, logp, generator):
        for d in range(theta.shape[-1]):
            theta, logp = self._update(
                log_fn,
                theta,
                logp,
                self.directions[:, d, None, :],
                self.widths[:, d, None],
                generator,
            )
        return theta, logp

    def _line_limits(self, theta: torch.Tensor, direction: torch.Tensor):
        """Range of ``t`` keeping ``theta + t * direction`` within the bounds."""
        to_lower = (self.lower - theta) / direction
        to_upper = (self.upper - theta) / direction
        positive, negative = direction > 0, direction < 0
        inf = torch.full_like(to_lower, torch.inf)
        t_min = torch.where(positive, to_lower, torch.where(negative, to_upper, -inf))
        t_max = torch.where(positive, to_upper, torch.where(negative, to_lower, inf))
        return t_min.amax(dim=-1), t_max.amin(dim=-1)

    def _update(self, log_fn, theta, logp, direction, width, generator):
        n_datasets, n_chains, _ = theta.shape
        shape = (n_datasets, n_chains)
        t_min, t_max = self._line_limits(theta, direction)
        # Auxiliary height under the density: log(y) = log f(theta) - Exponential(1).
        log_y = logp + torch.log1p(-rand(shape, generator, theta))
        left = -width * rand(shape, generator, theta)
        right = torch.minimum(left + width, t_max)
        left = torch.maximum(left, t_min)
        # Neal's bounded stepping-out: at most MAX_STEP_OUT widths, split at random.
        budget_left = torch.floor(MAX_STEP_OUT * rand(shape, generator, theta))
        budget_right = MAX_STEP_OUT - 1 - budget_left

        def evaluate(t: torch.Tensor) -> torch.Tensor:
            """Log densities at ``theta + t * direction`` for ``t`` (n, chains, k)."""
            k = t.shape[-1]
            points = theta[:, :, None] + t[..., None] * direction[:, :, None]
            points = points.reshape(n_datasets, n_chains * k, -1)
            fallback = theta[:, :, None].expand(-1, -1, k, -1).reshape(points.shape)
            values = safe_log_fn(log_fn, points, self.lower, self.upper, fallback)
            return values.reshape(n_datasets, n_chains, k)

        # Both loops are evaluated speculatively, a block of points per call: the
        # points the one-at-a-time procedure would visit next are known before the
        # current one is evaluated (stepping out moves by whole widths; shrinking
        # moves the side the rejected point lies on), so each block gives exactly
        # the one-at-a-time result with a few calls instead of one per point.
        evaluations = torch.zeros(shape, dtype=theta.dtype, device=theta.device)
        steps = torch.arange(_STEP_OUT_BLOCK, dtype=theta.dtype, device=theta.device)
        sides = [  # start, direction of growth, limit, budget, growing
            [left, -1.0, t_min, budget_left, torch.ones_like(log_y, dtype=torch.bool)],
            [right, 1.0, t_max, budget_right, torch.ones_like(log_y, dtype=torch.bool)],
        ]
        ends = [left, right]
        for offset in range(0, MAX_STEP_OUT, _STEP_OUT_BLOCK):
            k = offset + steps  # widths beyond the first end
            blocks = [
                torch.clamp(
                    start[..., None] + sign * k * width[..., None], min=limit[..., None]
                )
                if sign < 0
                else torch.clamp(
                    start[..., None] + sign * k * width[..., None], max=limit[..., None]
                )
                for start, sign, limit, _, _ in sides
            ]
            values = evaluate(torch.cat(blocks, dim=-1)).split(_STEP_OUT_BLOCK, dim=-1)
            for i, (side, block, f) in enumerate(
                zip(sides, blocks, values, strict=True)
            ):
                _, sign, limit, budget, growing = side
                inside = (
                    block > limit[..., None] if sign < 0 else block < limit[..., None]
                )
                grow = (f > log_y[..., None]) & (budget[..., None] > k) & inside
                stopped = (~grow).any(dim=-1)
                first = torch.argmax((~grow).to(torch.int8), dim=-1, keepdim=True)
                done = growing & stopped
                ends[i] = torch.where(done, block.gather(-1, first)[..., 0], ends[i])
                used = torch.where(stopped, first[..., 0] + 1, _STEP_OUT_BLOCK)
                evaluations += growing.to(theta.dtype) * used.to(theta.dtype)
                side[4] = growing & ~stopped
            if not any(bool(side[4].any()) for side in sides):
                break
        left, right = ends

        active = torch.ones(shape, dtype=torch.bool, device=theta.device)
        for _ in range(0, MAX_SHRINK, _SHRINK_BLOCK):
            u = rand((*shape, _SHRINK_BLOCK), generator, theta)
            t = torch.empty_like(u)
            lo, hi = left, right
            for j in range(_SHRINK_BLOCK):  # the proposals if every one is rejected
                t[..., j] = lo + (hi - lo) * u[..., j]
                lo = torch.where(t[..., j] < 0, t[..., j], lo)
                hi = torch.where(t[..., j] >= 0, t[..., j], hi)
            values = evaluate(t)
            inside = values > log_y[..., None]
            found = inside.any(dim=-1)
            first = torch.argmax(inside.to(torch.int8), dim=-1, keepdim=True)
            accept = active & found
            pick_t = t.gather(-1, first)[..., 0]
            theta = torch.where(
                accept[..., None], theta + pick_t[..., None] * direction, theta
            )
            logp = torch.where(accept, values.gather(-1, first)[..., 0], logp)
            used = torch.where(found, first[..., 0] + 1, _SHRINK_BLOCK)
            evaluations += active.to(theta.dtype) * used.to(theta.dtype)
            left = torch.where(active & ~found, lo, left)
            right = torch.where(active & ~found, hi, right)
            active = active & ~found
            if not bool(active.any()):
                break

        self.moves += (~active).to(theta.dtype).sum(dim=1)
        self.updates += n_chains
        self.evaluations += evaluations.sum(dim=1)
        return theta, logp


class _RandomWalkKernel(_Kernel):
    def __init__(self, theta: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor):
        super().__init__(theta, lower, upper)
        n_params = theta.shape[-1]
        sd = _initial_sd(theta, lower, upper) * (2.38 / math.sqrt(n_params))
        self.cholesky = torch.diag_embed(sd)
        self.log_scale = theta.new_zeros(theta.shape[0])
        self.n_tuned = 0

    def adapt(self, window: torch.Tensor) -> None:
        cov, usable = _pooled_covariance(window)
        cov = cov * (2.38**2 / window.shape[-1])
        cholesky, info = torch.linalg.cholesky_ex(cov)
        usable = usable & (info == 0)
        self.cholesky = torch.where(usable[:, None, None], cholesky, self.cholesky)
        # The fresh covariance carries the scale, so the tuning restarts from 1.
        self.log_scale = torch.where(usable, 0.0, self.log_scale)
        self.n_tuned = 0

    def step(self, log_fn, theta, logp, generator):
        shape = theta.shape
        noise = randn(shape, generator, theta)
        scale = self.log_scale.exp()[:, None, None]
        proposal = theta + scale * torch.einsum("dij,dcj->dci", self.cholesky, noise)
        value = safe_log_fn(log_fn, proposal, self.lower, self.upper, theta)
        log_u = torch.log(rand(shape[:2], generator, theta))
        accept = log_u < value - logp
        theta = torch.where(accept[..., None], proposal, theta)
        logp = torch.where(accept, value, logp)
        rate = accept.to(theta.dtype).mean(dim=1)
        if self.warming:
            # Robbins-Monro on log(scale) with a decaying gain.
            gain = 1.0 / math.sqrt(1.0 + self.n_tuned)
            self.log_scale = self.log_scale + gain * (rate - _TARGET_ACCEPTANCE)
            self.n_tuned += 1
        self.moves += accept.to(theta.dtype).sum(dim=1)
        self.updates += shape[1]
        self.evaluations += shape[1]
        return theta, logp


KERNELS: dict[str, type[_Kernel]] = {"slice": _SliceKernel, "rwm": _RandomWalkKernel}


def _chain_starts(init, n_chains: int | None) -> torch.Tensor:
    theta = as_tensor(init)
    if theta.ndim == 2:
        n_chains = 4 if n_chains is None else n_chains
        return theta[:, None, :].expand(-1, n_chains, -1).clone()
    if theta.ndim != 3:
        raise ValueError(
            "init must have shape (n_datasets, n_chains, n_params) or "
            f"(n_datasets, n_params); got {tuple(theta.shape)}."
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
    generator: torch.Generator | int | None = None,
) -> MCMCResult:
    """Draw from batched unnormalised densities with vectorised MCMC.

    Parameters
    ----------
    log_fn : callable
        ``log_fn(theta)`` maps ``theta`` of shape ``(n_datasets, k, n_params)`` to
        log densities ``(n_datasets, k)`` (up to a constant per data set); it may
        return ``-inf`` outside the support. It receives tensors with the dtype and
        device of ``init``, is called without gradients, and only at points inside
        ``bounds``.
    init : array-like of shape (n_datasets, n_chains, n_params)
        Starting points, all with finite log density. A 2-D array
        ``(n_datasets, n_params)`` starts ``n_chains`` chains at the same point.
    n_samples : int
        Number of draws kept per data set, spread over the chains.
    method : {"slice", "rwm"}, default="slice"
        Slice sampling or adaptive random-walk Metropolis; see the module notes.
    n_chains : int, default=None
        Must match ``init`` when it is 3-D; defaults to 4 when ``init`` is 2-D.
    warmup : int, default=200
        Steps per chain discarded while the kernel adapts.
    thin : int, default=1
        Keep every ``thin``-th step after warm-up.
    bounds : tuple of (array-like, array-like), default=None
        Lower and upper bounds of length ``n_params``; use ``-inf``/``inf`` for open
        sides. Proposals outside are rejected and slices are clipped to them.
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
    whose widths then span the modes.

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
    theta = _chain_starts(init, n_chains)
    n_datasets, n_chains, n_params = theta.shape
    lower, upper = bounds_tensors(bounds, n_params, theta)
    generator = make_generator(generator)
    if not bool(((theta >= lower) & (theta <= upper)).all()):
        raise ValueError("some starting points lie outside the bounds.")
    logp = safe_log_fn(log_fn, theta, lower, upper)
    if not bool(torch.isfinite(logp).all()):
        bad = int((~torch.isfinite(logp)).sum())
        raise ValueError(f"{bad} starting points have a non-finite log density.")

    kernel = KERNELS[method](theta, lower, upper)
    adapt_at = {int(f * warmup) for f in _ADAPT_FRACTIONS if int(f * warmup) >= 10}
    history = theta.new_empty((warmup, n_datasets, n_chains, n_params))
    for step in range(warmup):
        theta, logp = kernel.step(log_fn, theta, logp, generator)
        history[step] = theta
        if step + 1 in adapt_at:
            kernel.adapt(history[(step + 1) // 2 : step + 1])

    kernel.warming = False
    kernel.reset_counters(theta)
    n_per_chain = math.ceil(n_samples / n_chains)
    kept = theta.new_empty((n_per_chain, n_datasets, n_chains, n_params))
    for step in range(n_per_chain * thin):
        theta, logp = kernel.step(log_fn, theta, logp, generator)
        if (step + 1) % thin == 0:
            kept[step // thin] = theta

    chains = to_numpy(kept.permute(1, 2, 0, 3))
    samples = to_numpy(kept.permute(1, 0, 2, 3).reshape(n_datasets, -1, n_params))
    n_steps = n_per_chain * thin * n_chains
    return MCMCResult(
        samples=samples[:, :n_samples],
        chains=chains,
        acceptance_rate=to_numpy(kernel.moves / kernel.updates),
        evaluations_per_step=to_numpy(kernel.evaluations / n_steps),
        rhat=split_rhat(chains),
        ess=bulk_ess(chains),
        method=method,
    )
