"""Independence Metropolis-Hastings from a Gaussian mixture, with local moves.

Each step of :class:`IndependenceKernel` makes two Metropolis-Hastings moves for
every chain, each costing one batched call of the log density:

1. an independence move: a draw from the fixed mixture ``q`` replaces the current
   point with probability ``min(1, w(new) / w(current))``, ``w = target / q``. A
   mixture fitted to the target crosses between modes in one move, which no local
   kernel does;
2. a random-walk move whose covariance is that of the mixture component most
   responsible for the current point, scaled by ``2.38 / sqrt(n_params)`` and by a
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
from ._tensor import rand, randn, safe_log_fn
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
        n_params = theta.shape[-1]
        eye = torch.eye(n_params, dtype=theta.dtype, device=theta.device)
        self.inverse = torch.linalg.solve_triangular(
            proposal.cholesky, eye, upper=False
        )
        self.log_det = torch.diagonal(proposal.cholesky, dim1=-2, dim2=-1).log().sum(-1)
        self.log_scale = theta.new_zeros(theta.shape[0])
        self.n_tuned = 0

    def adapt(self, window: torch.Tensor) -> None:
        """The mixture stays fixed; only the local scale is tuned (in ``step``)."""

    def step(self, log_fn, theta, logp, generator):
        theta, logp = self._independence_move(log_fn, theta, logp, generator)
        return self._local_move(log_fn, theta, logp, generator)

    def _independence_move(self, log_fn, theta, logp, generator):
        n_datasets, n_chains, _ = theta.shape
        proposal = self.proposal.sample(n_chains, generator)
        value = safe_log_fn(log_fn, proposal, self.lower, self.upper, theta)
        log_ratio = (value - self.proposal.log_prob(proposal)) - (
            logp - self.proposal.log_prob(theta)
        )
        log_u = torch.log(rand((n_datasets, n_chains), generator, theta))
        accept = log_u < log_ratio
        self.moves += accept.to(theta.dtype).sum(dim=1)
        self.updates += n_chains
        self.evaluations += n_chains
        return (
            torch.where(accept[..., None], proposal, theta),
            torch.where(accept, value, logp),
        )

    def _nearest(self, theta: torch.Tensor) -> torch.Tensor:
        """Index ``(n_datasets, k)`` of the component most responsible for theta."""
        mixture = self.proposal
        log_r = mixture.log_weights[:, None] + mixture.component_log_prob(theta)
        return log_r.argmax(dim=-1)

    def _local_log_density(self, to, start, component, log_scale):
        """``log N(to; start, scale^2 cov_c)`` up to a constant, for components c."""
        n_params = to.shape[-1]
        index = component[..., None, None].expand(-1, -1, n_params, n_params)
        inverse = self.inverse.gather(1, index)
        z = torch.einsum("nkab,nkb->nka", inverse, to - start)
        log_det = self.log_det.gather(1, component) + n_params * log_scale[:, None]
        return -0.5 * z.square().sum(-1) * torch.exp(-2 * log_scale)[:, None] - log_det

    def _local_move(self, log_fn, theta, logp, generator):
        n_datasets, n_chains, n_params = theta.shape
        log_scale = self.log_scale + math.log(2.38 / math.sqrt(n_params))
        here = self._nearest(theta)
        index = here[..., None, None].expand(-1, -1, n_params, n_params)
        factors = self.proposal.cholesky.gather(1, index)
        noise = randn(theta.shape, generator, theta)
        step = torch.einsum("nkab,nkb->nka", factors, noise)
        proposal = theta + log_scale.exp()[:, None, None] * step
        value = safe_log_fn(log_fn, proposal, self.lower, self.upper, theta)
        there = self._nearest(proposal)
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
        return (
            torch.where(accept[..., None], proposal, theta),
            torch.where(accept, value, logp),
        )
