"""Independence Metropolis-Hastings from a Gaussian mixture, with local moves.

Each step of :class:`IndependenceKernel` makes two Metropolis-Hastings moves for
every chain, each costing one batched call of the log density:

1. an independence move: a draw from the fixed mixture ``q`` replaces the current
   point with probability ``min(1, w(new) / w(current))``, ``w = target / q``. A
   mixture fitted to the target crosses between modes in one move, which no local
   kernel does;
2. a random-walk move whose covariance is that of the mixture component most
   responsible for the current point, scaled by ``2.38 / sqrt(n_parameters)`` and by a
   factor tuned during warm-up towards 30 % acceptance. The covariance depends on
   the point, so the acceptance ratio carries the reverse proposal density. These
   moves refine the chains where the mixture fits the target loosely.

Both moves leave the target invariant, so their composition does too. With a
uniform component on the box in ``q`` the weights ``w`` are bounded and the chain
is uniformly ergodic (Mengersen and Tweedie, 1996).
"""

from __future__ import annotations

import math

import torch

from ._kernels import TARGET_ACCEPTANCE, Kernel
from ._result import MCMCResult, chain_result
from ._tensor import POINTS_PER_CALL, chunked_log_fn, rand, randn, safe_log_fn
from .mixture import GaussianMixture


class IndependenceKernel(Kernel):
    """Independence moves from ``proposal`` alternated with local random-walk moves.

    ``acceptance_rate`` counts the independence moves: the fraction of chains that
    jump to a fresh draw of the mixture per step, which sets how fast chains mix.
    """

    def __init__(
        self,
        theta: torch.Tensor,
        lower: torch.Tensor,
        upper: torch.Tensor,
        proposal: GaussianMixture,
    ):
        super().__init__(theta, lower, upper)
        self.proposal = proposal
        self.inverse = proposal.inverse_cholesky
        self.log_det = proposal.log_det_cholesky
        self.log_scale = theta.new_zeros(theta.shape[0])
        self.n_tuned = 0
        self._state = None

    def adapt(self, window: torch.Tensor) -> None:
        """The mixture stays fixed; only the local scale is tuned (in ``step``)."""

    def step(self, log_fn, theta, logp, generator):
        if theta is not self._state:
            # The proposal's density and nearest component at the current points,
            # kept up to date by both moves (one mixture evaluation per move).
            self._log_q, self._here = self.proposal.log_prob_and_nearest(theta)
        theta, logp = self._independence_move(log_fn, theta, logp, generator)
        theta, logp = self._local_move(log_fn, theta, logp, generator)
        self._state = theta
        return theta, logp

    def _keep(self, accept, proposal, theta, value, logp, log_q, nearest):
        self._log_q = torch.where(accept, log_q, self._log_q)
        self._here = torch.where(accept, nearest, self._here)
        return (
            torch.where(accept[..., None], proposal, theta),
            torch.where(accept, value, logp),
        )

    def _independence_move(self, log_fn, theta, logp, generator):
        n_datasets, n_chains, _ = theta.shape
        proposal = self.proposal.sample(n_chains, generator)
        value = safe_log_fn(log_fn, proposal, self.lower, self.upper, theta)
        log_q, nearest = self.proposal.log_prob_and_nearest(proposal)
        log_ratio = (value - log_q) - (logp - self._log_q)
        log_u = torch.log(rand((n_datasets, n_chains), generator, theta))
        accept = log_u < log_ratio
        self.moves += accept.to(theta.dtype).sum(dim=1)
        self.updates += n_chains
        self.evaluations += n_chains
        return self._keep(accept, proposal, theta, value, logp, log_q, nearest)

    def _local_log_density(self, to, start, component, log_scale):
        """``log N(to; start, scale^2 cov_c)`` up to a constant, for components c."""
        n_parameters = to.shape[-1]
        index = component[..., None, None].expand(-1, -1, n_parameters, n_parameters)
        inverse = self.inverse.gather(1, index)
        z = torch.einsum("nkab,nkb->nka", inverse, to - start)
        log_det = self.log_det.gather(1, component) + n_parameters * log_scale[:, None]
        return -0.5 * z.square().sum(-1) * torch.exp(-2 * log_scale)[:, None] - log_det

    def _local_move(self, log_fn, theta, logp, generator):
        n_datasets, n_chains, n_parameters = theta.shape
        log_scale = self.log_scale + math.log(2.38 / math.sqrt(n_parameters))
        here = self._here
        index = here[..., None, None].expand(-1, -1, n_parameters, n_parameters)
        factors = self.proposal.cholesky.gather(1, index)
        noise = randn(theta.shape, generator, theta)
        step = torch.einsum("nkab,nkb->nka", factors, noise)
        proposal = theta + log_scale.exp()[:, None, None] * step
        value = safe_log_fn(log_fn, proposal, self.lower, self.upper, theta)
        log_q, there = self.proposal.log_prob_and_nearest(proposal)
        log_ratio = (
            value
            - logp
            + self._local_log_density(theta, proposal, there, log_scale)
            - self._local_log_density(proposal, theta, here, log_scale)
        )
        log_u = torch.log(rand((n_datasets, n_chains), generator, theta))
        accept = log_u < log_ratio
        if self.warming:
            # Robbins-Monro on log(scale) with a decaying gain.
            rate = accept.to(theta.dtype).mean(dim=1)
            gain = 1.0 / math.sqrt(1.0 + self.n_tuned)
            self.log_scale = self.log_scale + gain * (rate - TARGET_ACCEPTANCE)
            self.n_tuned += 1
        self.evaluations += n_chains
        return self._keep(accept, proposal, theta, value, logp, log_q, there)


def independence_metropolis(
    log_fn,
    proposal: GaussianMixture,
    init: torch.Tensor,
    n_samples: int,
    *,
    warmup: int,
    thin: int,
    bounds: tuple[torch.Tensor, torch.Tensor],
    generator: torch.Generator,
) -> MCMCResult:
    """Independence Metropolis-Hastings chains from ``proposal``, batched in time too.

    The proposals of an independence sampler do not depend on the chain, so every
    proposal of every step is drawn and scored up front, in a few large calls of
    ``log_fn``; the chains then only compare precomputed weights
    ``w = target / proposal`` step by step. With the uniform component of the
    mixture the weights are bounded on the box and the chains are uniformly
    ergodic (Mengersen and Tweedie, 1996).

    Parameters
    ----------
    log_fn : callable
        ``(n_datasets, k, p) -> (n_datasets, k)`` unnormalised log densities.
    proposal : GaussianMixture
        One mixture per data set; it must cover the target.
    init : torch.Tensor of shape (n_datasets, n_chains, p)
        Starting points with finite log density.
    n_samples : int
        Draws kept per data set, spread over the chains.
    warmup, thin : int
        Steps discarded first; keep every ``thin``-th step after them.
    bounds : tuple of torch.Tensor
        The box ``(lower, upper)``.
    generator : torch.Generator
        Source of randomness.

    Returns
    -------
    MCMCResult
        ``acceptance_rate`` is that of the steps after warm-up and
        ``evaluations_per_step`` is 1.
    """
    lower, upper = bounds
    n_datasets, n_chains, n_parameters = init.shape
    n_per_chain = math.ceil(n_samples / n_chains)
    n_steps = warmup + n_per_chain * thin
    log_p = safe_log_fn(log_fn, init, lower, upper)
    if not bool(torch.isfinite(log_p).all()):
        raise ValueError("some starting points have a non-finite log density.")
    theta, log_w = init, log_p - proposal.log_prob(init)
    kept = init.new_empty((n_per_chain, n_datasets, n_chains, n_parameters))
    accepted = init.new_zeros(n_datasets)
    block = max(1, POINTS_PER_CALL // (n_datasets * n_chains))
    for start in range(0, n_steps, block):
        steps = min(block, n_steps - start)
        draws = proposal.sample(steps * n_chains, generator)
        fallback = init.repeat(1, steps, 1)
        value = chunked_log_fn(log_fn, draws, lower, upper, fallback)
        weights = (value - proposal.log_prob(draws)).reshape(n_datasets, steps, -1)
        draws = draws.reshape(n_datasets, steps, n_chains, n_parameters)
        log_u = torch.log(rand((n_datasets, steps, n_chains), generator, init))
        for i in range(steps):
            accept = log_u[:, i] < weights[:, i] - log_w
            theta = torch.where(accept[..., None], draws[:, i], theta)
            log_w = torch.where(accept, weights[:, i], log_w)
            step = start + i - warmup
            if step >= 0:
                accepted += accept.to(init.dtype).sum(dim=1)
                if (step + 1) % thin == 0:
                    kept[step // thin] = theta
    after = n_steps - warmup
    return chain_result(
        kept,
        n_samples,
        accepted / (after * n_chains),
        torch.ones(n_datasets).to(init),
        "independence",
    )
