"""A Gaussian-mixture proposal for a batched density on a box, by tempered importance.

The target ``exp(log_fn)`` on a finite box is reached through the geometric bridge
``pi_beta ~ uniform^(1 - beta) * exp(log_fn)^beta``: each round draws candidates from
the current proposal (first the uniform on the box), picks the largest ``beta`` whose
importance weights keep an effective sample size of ``ess_fraction`` of the
candidates, and fits a Gaussian mixture to the weighted candidates by EM; that
mixture, with a little uniform mass on the box, is the next proposal. Rounds continue
until ``beta`` is 1 for every data set, then one more refits at ``beta = 1``. A sharp
posterior is thus approached in steps that never lean on a handful of heavy points,
and every mode that carries mass at some temperature keeps a component.

Everything is batched over data sets: one call of ``log_fn`` per round.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from ._tensor import chunked_log_fn
from .mixture import GaussianMixture, fit_gaussian_mixture

# EM iterations: from a k-means++ seeding in the first round, then from the previous
# round's mixture (one temperature step away).
_EM_ITERATIONS_FIRST, _EM_ITERATIONS = 20, 8
# Bisection steps for beta (resolution 2^-30 of the remaining interval).
_BISECTION_STEPS = 30


@dataclass(frozen=True)
class TemperedFit:
    """Result of :func:`tempered_mixture`.

    Attributes
    ----------
    proposal : GaussianMixture
        The last fitted mixture with ``box_weight`` uniform mass on the box.
    points : torch.Tensor of shape (n_datasets, n_points, n_parameters)
        The last round's candidates, drawn from the previous proposal.
    log_weights : torch.Tensor of shape (n_datasets, n_points)
        Their unnormalised importance log weights for the target (``beta = 1``).
    n_rounds : int
        Calls of ``log_fn``.
    """

    proposal: GaussianMixture
    points: torch.Tensor
    log_weights: torch.Tensor
    n_rounds: int


def _log_ess(log_weights: torch.Tensor) -> torch.Tensor:
    """Log of Kish's effective sample size, per row."""
    return 2 * torch.logsumexp(log_weights, dim=-1) - torch.logsumexp(
        2 * log_weights, dim=-1
    )


def _next_beta(log_excess, log_base, beta, log_target_ess):
    """Largest ``b`` in ``[beta, 1]`` with ESS of ``b * log_excess + log_base``
    at least the target, per data set (bisection, batched)."""
    ones = torch.ones_like(beta)
    at_one = _log_ess(log_excess + log_base) >= log_target_ess
    low, high = beta.clone(), ones
    for _ in range(_BISECTION_STEPS):
        middle = 0.5 * (low + high)
        ok = _log_ess(middle[:, None] * log_excess + log_base) >= log_target_ess
        low = torch.where(ok, middle, low)
        high = torch.where(ok, high, middle)
    return torch.where(at_one, ones, low)


def tempered_mixture(
    log_fn,
    lower: torch.Tensor,
    upper: torch.Tensor,
    n_datasets: int,
    generator: torch.Generator,
    *,
    n_points: int = 2000,
    n_components: int = 8,
    ess_fraction: float = 0.3,
    box_weight: float = 0.05,
    max_rounds: int = 25,
) -> TemperedFit:
    """Fit a Gaussian-mixture proposal to ``exp(log_fn)`` on ``[lower, upper]``.

    Parameters
    ----------
    log_fn : callable
        ``(n_datasets, k, p) -> (n_datasets, k)`` unnormalised log densities.
    lower, upper : torch.Tensor of shape (p,)
        A finite box; its dtype and device are those of the points.
    n_datasets : int
        Number of data sets.
    generator : torch.Generator
        Source of randomness.
    n_points : int, default=2000
        Candidates per data set and round.
    n_components : int, default=8
        Mixture components per data set.
    ess_fraction : float, default=0.3
        Effective sample size kept at each temperature, as a fraction of
        ``n_points``.
    box_weight : float, default=0.05
        Uniform mass on the box in every proposal (defensive importance sampling).
    max_rounds : int, default=25
        Cap on the rounds; a data set still below ``beta = 1`` then gets the
        weights of the full target anyway (the sampler that uses the proposal
        corrects for it).

    Returns
    -------
    TemperedFit
    """
    n_parameters = len(lower)
    log_uniform = -torch.log(upper - lower).sum()
    u = torch.rand(n_datasets, n_points, n_parameters, generator=generator)
    points = lower + (upper - lower) * u.to(lower)
    log_q = torch.full((n_datasets, n_points), float(log_uniform)).to(lower)
    beta = torch.zeros(n_datasets).to(lower)
    log_target_ess = math.log(ess_fraction * n_points)
    final_rounds = 0
    mixture = None
    for n_rounds in range(1, max_rounds + 1):
        log_p = chunked_log_fn(log_fn, points, lower, upper)
        # Candidates outside the box have zero target density at every beta > 0;
        # at beta = 0 the bridge is the uniform on the box, zero outside too.
        log_excess = torch.where(torch.isfinite(log_p), log_p - log_uniform, -torch.inf)
        log_base = log_uniform - log_q
        if n_rounds < max_rounds:
            beta = _next_beta(log_excess, log_base, beta, log_target_ess)
        else:
            beta = torch.ones_like(beta)
        log_weights = beta[:, None] * log_excess + log_base
        # 0 * -inf is nan: out-of-box points keep weight zero at beta = 0 as well.
        log_weights = torch.where(torch.isfinite(log_excess), log_weights, -torch.inf)
        done = bool((beta == 1).all())
        mixture = fit_gaussian_mixture(
            points,
            log_weights,
            n_components,
            generator,
            n_iterations=_EM_ITERATIONS_FIRST if mixture is None else _EM_ITERATIONS,
            init=mixture,
        )
        proposal = mixture.with_box(lower, upper, box_weight)
        if done:
            final_rounds += 1
            if final_rounds == 2 or n_rounds == max_rounds:
                break
        points = proposal.sample(n_points, generator)
        log_q = proposal.log_prob(points)
    return TemperedFit(
        proposal=proposal,
        points=points,
        log_weights=log_excess + log_base,
        n_rounds=n_rounds,
    )
