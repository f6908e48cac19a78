"""Conditional mixture of full-covariance Gaussians."""

from __future__ import annotations

import torch
from torch import Size, Tensor, nn
from torch.distributions import (
    Categorical,
    Distribution,
    MultivariateNormal,
    constraints,
)

from ._mlp import check_positive_int, make_mlp
from .gaussian import CholeskyFactor


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
