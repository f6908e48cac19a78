"""The transition kernels of :func:`~skamortise.inference.sample_mcmc`.

Every kernel moves all chains of all data sets,
``(n_datasets, n_chains, n_parameters)``, in one step, and keeps counters of moves,
updates and log-density evaluations.

* ``"slice"``: slice sampling (Neal, 2003) along a set of directions, one after the
  other. The directions start as the coordinate axes and, during warm-up, become the
  eigenvectors of each data set's pooled chain covariance, with widths set from the
  eigenvalues; correlated targets are then sampled as if they were uncorrelated.
  Stepping-out and shrinkage run in lockstep with boolean masks.
* ``"rwm"``: random-walk Metropolis with a Gaussian proposal whose covariance is
  re-estimated during warm-up from each data set's pooled chains, scaled by
  ``2.38**2 / n_parameters`` and by a factor tuned towards 30 % acceptance.
* ``"independence"``: see :mod:`._independence`.
"""

from __future__ import annotations

import math

import torch

from ._tensor import rand, randn, safe_log_fn

# Lockstep loops wait for the slowest chain, so both loops are capped. A chain whose
# shrinkage exhausts its budget keeps its current point for that update; the
# acceptance rate reported for the slice kernel counts how often that did not happen.
MAX_STEP_OUT = 25
MAX_SHRINK = 50
# Points per speculative block of the slice kernel's two loops (see _update).
_STEP_OUT_BLOCK = 3
_SHRINK_BLOCK = 6
TARGET_ACCEPTANCE = 0.3
_SLICE_WIDTH_IN_SD = 3.0


def pooled_covariance(window: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Covariance per data set of draws ``(n_steps, n_datasets, n_chains, p)``.

    Returns the covariance ``(n_datasets, p, p)`` and a mask of data sets whose
    chains actually spread out; the others keep their previous kernel.
    """
    n_datasets, n_parameters = window.shape[1], window.shape[3]
    draws = window.permute(1, 0, 2, 3).reshape(n_datasets, -1, n_parameters)
    centred = draws - draws.mean(dim=1, keepdim=True)
    cov = centred.transpose(1, 2) @ centred / max(draws.shape[1] - 1, 1)
    trace = torch.diagonal(cov, dim1=1, dim2=2).sum(dim=1)
    usable = torch.isfinite(trace) & (trace > 0)
    # A small ridge keeps the Cholesky and the eigenvalues positive when a
    # parameter is (nearly) determined by the others.
    ridge = 1e-10 * trace / n_parameters
    eye = torch.eye(n_parameters, dtype=cov.dtype, device=cov.device)
    return cov + ridge[:, None, None] * eye, usable


def initial_sd(
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


class Kernel:
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


class SliceKernel(Kernel):
    def __init__(self, theta: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor):
        super().__init__(theta, lower, upper)
        n_datasets, _, n_parameters = theta.shape
        eye = torch.eye(n_parameters, dtype=theta.dtype, device=theta.device)
        self.directions = eye.expand(n_datasets, n_parameters, n_parameters).clone()
        self.widths = _SLICE_WIDTH_IN_SD * initial_sd(theta, lower, upper)

    def adapt(self, window: torch.Tensor) -> None:
        cov, usable = pooled_covariance(window)
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


class RandomWalkKernel(Kernel):
    def __init__(self, theta: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor):
        super().__init__(theta, lower, upper)
        n_parameters = theta.shape[-1]
        sd = initial_sd(theta, lower, upper) * (2.38 / math.sqrt(n_parameters))
        self.cholesky = torch.diag_embed(sd)
        self.log_scale = theta.new_zeros(theta.shape[0])
        self.n_tuned = 0

    def adapt(self, window: torch.Tensor) -> None:
        cov, usable = pooled_covariance(window)
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
            self.log_scale = self.log_scale + gain * (rate - TARGET_ACCEPTANCE)
            self.n_tuned += 1
        self.moves += accept.to(theta.dtype).sum(dim=1)
        self.updates += shape[1]
        self.evaluations += shape[1]
        return theta, logp
