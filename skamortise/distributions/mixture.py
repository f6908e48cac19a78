"""Conditional mixture of full-covariance Gaussians."""

from __future__ import annotations

import math

import torch
from torch import Size, Tensor, nn
from torch.distributions import (
    Categorical,
    Distribution,
    MultivariateNormal,
    constraints,
)

from ._mlp import check_positive_int, make_mlp
from .gaussian import N_QUADRATURE_NODES, CholeskyFactor, standard_normal_rule

# The marginal quantile search stops, element by element, once its step is below
# this fraction of the element's first bracket (Newton's steps then have converged
# quadratically); the cap only guards against a pathological input.
_ROOT_TOLERANCE = 2.0**-44
_MAX_ROOT_STEPS = 200


class GaussianMixture(Distribution):
    """Mixture of ``K`` multivariate Gaussians with full covariance matrices.

    Parameters
    ----------
    logits : Tensor of shape (..., K)
        Unnormalised log mixture weights.
    loc : Tensor of shape (..., K, p)
        Component means.
    scale_tril : Tensor of shape (..., K, p, p)
        Lower Cholesky factors of the component covariances.

    Notes
    -----
    ``log_prob`` is a ``logsumexp`` over the components. ``sample`` first draws a
    component per draw and batch element, then one Gaussian draw from it, all in
    one vectorised pass. Drawing is not reparameterisable (the component choice is
    discrete), so ``rsample`` is not available.

    The marginal of each coordinate is a one-dimensional mixture of normals, so its
    quantiles are found by root finding on its distribution function (no draws),
    and expectations of functions of one coordinate are Gauss-Hermite sums.
    """

    arg_constraints: dict = {}
    support = constraints.real_vector
    has_rsample = False

    def __init__(self, logits: Tensor, loc: Tensor, scale_tril: Tensor) -> None:
        self.logits = logits - logits.logsumexp(-1, keepdim=True)
        self.loc = loc
        self.scale_tril = scale_tril
        self.components = MultivariateNormal(
            loc, scale_tril=scale_tril, validate_args=False
        )
        super().__init__(
            batch_shape=logits.shape[:-1],
            event_shape=loc.shape[-1:],
            validate_args=False,
        )

    @property
    def n_components(self) -> int:
        """Number of mixture components ``K``."""
        return self.logits.shape[-1]

    @property
    def weights(self) -> Tensor:
        """Mixture weights, shape ``batch_shape + (K,)``."""
        return self.logits.exp()

    @property
    def mean(self) -> Tensor:
        return (self.weights.unsqueeze(-1) * self.loc).sum(-2)

    @property
    def variance(self) -> Tensor:
        # Law of total variance, per coordinate.
        second = self.components.variance + self.loc.square()
        return (self.weights.unsqueeze(-1) * second).sum(-2) - self.mean.square()

    def _marginal_parts(self) -> tuple[Tensor, Tensor, Tensor]:
        # Means and sds (..., K, p, 1) and weights (..., K, 1, 1) of the components
        # of every coordinate's marginal, laid out against (..., p, L) points.
        return (
            self.loc.unsqueeze(-1),
            self.components.stddev.unsqueeze(-1),
            self.weights[..., None, None],
        )

    def _marginal_cdf_pdf(self, value: Tensor, parts=None) -> tuple[Tensor, Tensor]:
        # Distribution function and density of every coordinate's marginal at
        # ``value`` (..., p, L); the components lie along a new axis -3.
        loc, scale, weights = parts or self._marginal_parts()
        standard = (value.unsqueeze(-3) - loc) / scale
        cdf = (weights * torch.special.ndtr(standard)).sum(-3)
        density = (weights * torch.exp(-0.5 * standard.square()) / scale).sum(-3)
        return cdf, density / math.sqrt(2 * math.pi)

    def marginal_cdf(self, value: Tensor) -> Tensor:
        """Distribution function of each coordinate's marginal at ``value``.

        Parameters
        ----------
        value : Tensor of shape batch_shape + (p, L)
            ``L`` points per coordinate.

        Returns
        -------
        Tensor of shape batch_shape + (p, L)
        """
        return self._marginal_cdf_pdf(value)[0]

    def marginal_quantiles(self, levels: Tensor) -> Tensor:
        """Quantiles of every coordinate's marginal, ``batch_shape + (p, L)``.

        The quantile lies between the smallest and the largest of the components'
        quantiles at the same level (the mixture's distribution function is their
        weighted average). Newton's method on the distribution function, replaced
        by bisection whenever it would leave that bracket, finds it to float64
        precision; each element stops on its own, so none depends on the others in
        the batch.

        Parameters
        ----------
        levels : Tensor of shape (L,)
            Levels in (0, 1).
        """
        parts = loc, scale, weights = self._marginal_parts()
        levels = levels.to(self.loc)
        per_component = loc + scale * torch.special.ndtri(levels)  # (..., K, p, L)
        low, high = per_component.amin(-3), per_component.amax(-3)
        tolerance = _ROOT_TOLERANCE * (high - low)
        x = (weights * per_component).sum(-3)
        active = high > low
        for _ in range(_MAX_ROOT_STEPS):
            if not active.any():
                break
            cdf, density = self._marginal_cdf_pdf(x, parts)
            excess = cdf - levels
            below = excess < 0
            low = torch.where(below, x, low)
            high = torch.where(below, high, x)
            newton = x - excess / density
            inside = (newton >= low) & (newton <= high)
            step = torch.where(inside, newton, (low + high) / 2) - x
            step = torch.where(excess == 0, 0.0, step)
            x = torch.where(active, x + step, x)
            active = active & (step.abs() > tolerance)
        return x

    def marginal_quadrature(
        self, n_nodes: int = N_QUADRATURE_NODES
    ) -> tuple[Tensor, Tensor]:
        """A quadrature rule for each coordinate's marginal.

        ``(weights[..., None] * f(nodes)).sum(0)`` approximates ``E f(theta)`` for
        any ``f`` that acts on each coordinate separately: Gauss-Hermite nodes in
        every component, weighted by the mixture weights.

        Parameters
        ----------
        n_nodes : int, default=N_QUADRATURE_NODES
            Gauss-Hermite nodes per component and coordinate.

        Returns
        -------
        nodes : Tensor of shape (n_nodes * K,) + batch_shape + (p,)
        weights : Tensor of shape (n_nodes * K,) + batch_shape
        """
        x, w = standard_normal_rule(n_nodes, self.loc)
        n_batch = len(self.batch_shape)
        loc = self.loc.movedim(-2, 0)  # (K, ..., p)
        scale = self.components.stddev.movedim(-2, 0)
        nodes = loc + scale * x.view(-1, 1, *[1] * (n_batch + 1))
        weights = w.view(-1, 1, *[1] * n_batch) * self.weights.movedim(-1, 0)
        return nodes.flatten(0, 1), weights.flatten(0, 1)

    def log_prob(self, value: Tensor) -> Tensor:
        """Log density of ``value`` of shape ``sample_shape + batch_shape + (p,)``."""
        log_components = self.components.log_prob(value.unsqueeze(-2))
        return torch.logsumexp(self.logits + log_components, dim=-1)

    def sample(self, sample_shape: Size | tuple[int, ...] = ()) -> Tensor:
        """Draw ``sample_shape + batch_shape + (p,)`` values without gradients."""
        sample_shape = Size(sample_shape)
        with torch.no_grad():
            index = Categorical(logits=self.logits, validate_args=False).sample(
                sample_shape
            )
            p = self.event_shape[0]
            shape = sample_shape + self.batch_shape
            # Gather the chosen component's mean and factor per draw; expand is a
            # view, so only the gathered (..., p, p) factors are materialised.
            loc = torch.gather(
                self.loc.expand(shape + self.loc.shape[-2:]),
                -2,
                index[..., None, None].expand(shape + (1, p)),
            ).squeeze(-2)
            tril = torch.gather(
                self.scale_tril.expand(shape + self.scale_tril.shape[-3:]),
                -3,
                index[..., None, None, None].expand(shape + (1, p, p)),
            ).squeeze(-3)
            noise = torch.randn(
                shape + (p, 1), dtype=self.loc.dtype, device=self.loc.device
            )
            return loc + (tril @ noise).squeeze(-1)


class GaussianMixtureHead(nn.Module):
    """Conditional Gaussian mixture ``q(theta | c)``.

    A small network maps the context to softmax weights, means and lower Cholesky
    factors (positive diagonal) of ``n_components`` full-covariance Gaussians.

    Parameters
    ----------
    n_parameters : int
        Dimension ``p`` of ``theta``.
    context_features : int
        Dimension ``s`` of the context.
    n_components : int, default=5
        Number of mixture components ``K``.
    hidden_features : int, default=64
        Width of the hidden layers.
    n_hidden_layers : int, default=1
        Number of hidden layers.
    min_scale : float, default=1e-5
        Floor on the diagonal of every Cholesky factor.

    Notes
    -----
    The bias of the component means starts at draws from a standard normal made by
    a private, fixed-seed generator (the global random state is not touched). The
    components then start apart, which breaks their symmetry and speeds up fitting
    of multimodal targets on the standardised scale.

    Examples
    --------
    >>> import torch
    >>> head = GaussianMixtureHead(n_parameters=2, context_features=3)
    >>> dist = head(torch.zeros(4, 3))
    >>> dist.log_prob(torch.zeros(4, 2)).shape
    torch.Size([4])
    >>> dist.sample((10,)).shape
    torch.Size([10, 4, 2])
    """

    def __init__(
        self,
        n_parameters: int,
        context_features: int,
        n_components: int = 5,
        hidden_features: int = 64,
        n_hidden_layers: int = 1,
        min_scale: float = 1e-5,
    ) -> None:
        super().__init__()
        self.n_parameters = p = check_positive_int(n_parameters, "n_parameters")
        self.context_features = check_positive_int(context_features, "context_features")
        self.n_components = k = check_positive_int(n_components, "n_components")
        self._sizes = (k, k * p, k * CholeskyFactor.n_entries(p))
        self.net = make_mlp(
            self.context_features,
            sum(self._sizes),
            check_positive_int(hidden_features, "hidden_features"),
            check_positive_int(n_hidden_layers, "n_hidden_layers", minimum=0),
        )
        self.cholesky = CholeskyFactor(p, min_scale)
        generator = torch.Generator().manual_seed(0)
        with torch.no_grad():
            last = self.net[-1]
            start = torch.randn(k * p, generator=generator, dtype=last.bias.dtype)
            last.bias[k : k + k * p] = start

    def forward(self, context: Tensor) -> GaussianMixture:
        """Return ``q(theta | context)`` with batch shape ``context.shape[:-1]``."""
        logits, loc, raw = self.net(context).split(self._sizes, dim=-1)
        k, p = self.n_components, self.n_parameters
        loc = loc.unflatten(-1, (k, p))
        raw = raw.unflatten(-1, (k, CholeskyFactor.n_entries(p)))
        return GaussianMixture(logits, loc, self.cholesky(raw))
