"""Conditional affine coupling flow (RealNVP / Glow style)."""

from __future__ import annotations

import math

import torch
from torch import Size, Tensor, nn
from torch.distributions import Distribution, constraints

from ._mlp import check_positive_int


class ActNorm(nn.Module):
    """Learnt elementwise affine map ``y = x * exp(log_scale) + shift``.

    Initialised to the identity rather than from the first batch: the targets are
    standardised before they reach the flow, and a data-dependent start would add
    hidden state that ``load_state_dict``, ``.double()`` and repeated fits would
    have to respect.

    Parameters
    ----------
    n_parameters : int
        Dimension ``p``.
    """

    def __init__(self, n_parameters: int) -> None:
        super().__init__()
        self.log_scale = nn.Parameter(torch.zeros(n_parameters))
        self.shift = nn.Parameter(torch.zeros(n_parameters))

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``y`` and ``log|det dy/dx|`` of shape ``x.shape[:-1]``."""
        y = x * self.log_scale.exp() + self.shift
        return y, self.log_scale.sum().expand(x.shape[:-1])

    def inverse(self, y: Tensor) -> Tensor:
        return (y - self.shift) * torch.exp(-self.log_scale)


class AffineCoupling(nn.Module):
    """Affine coupling layer conditioned on the context.

    The first ``p // 2`` coordinates pass unchanged; the others are scaled and
    shifted by a network that sees the unchanged coordinates and the context. For
    ``p == 1`` nothing passes unchanged, so the network sees only the context and
    the layer is a conditional elementwise affine map.

    Parameters
    ----------
    n_parameters : int
        Dimension ``p``.
    context_features : int
        Dimension ``s`` of the context.
    hidden_features : int, default=64
        Width of the hidden layers of the scale-and-shift network.
    n_hidden_layers : int, default=2
        Number of hidden layers of the scale-and-shift network (at least 1).
    scale_clamp : float, default=3.0
        Log-scales are soft-clamped to ``(-scale_clamp, scale_clamp)`` with
        ``scale_clamp * tanh(s / scale_clamp)``, which keeps deep stacks stable.
    """

    def __init__(
        self,
        n_parameters: int,
        context_features: int,
        hidden_features: int = 64,
        n_hidden_layers: int = 2,
        scale_clamp: float = 3.0,
    ) -> None:
        super().__init__()
        if not scale_clamp > 0:
            raise ValueError(f"scale_clamp must be > 0, got {scale_clamp!r}.")
        self.n_identity = n_parameters // 2
        n_transformed = n_parameters - self.n_identity
        self.scale_clamp = float(scale_clamp)
        # The first layer is split in a theta part and a context part so that many
        # theta values per context (sampling, grids) never copy the context.
        self.context_in = nn.Linear(context_features, hidden_features)
        self.theta_in = (
            nn.Linear(self.n_identity, hidden_features, bias=False)
            if self.n_identity > 0
            else None
        )
        layers: list[nn.Module] = [nn.ReLU()]
        for _ in range(n_hidden_layers - 1):
            layers += [nn.Linear(hidden_features, hidden_features), nn.ReLU()]
        out = nn.Linear(hidden_features, 2 * n_transformed)
        # Start every coupling at the identity so an untrained flow is the base
        # normal; this is the usual Glow initialisation and keeps early steps tame.
        nn.init.zeros_(out.weight)
        nn.init.zeros_(out.bias)
        layers.append(out)
        self.body = nn.Sequential(*layers)

    def _scale_shift(
        self, x_identity: Tensor, context: Tensor
    ) -> tuple[Tensor, Tensor]:
        hidden = self.context_in(context)
        if self.theta_in is not None:
            hidden = hidden + self.theta_in(x_identity)
        raw_scale, shift = self.body(hidden).chunk(2, dim=-1)
        log_scale = self.scale_clamp * torch.tanh(raw_scale / self.scale_clamp)
        return log_scale, shift

    def forward(self, x: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Return ``y`` and ``log|det dy/dx|`` of shape ``x.shape[:-1]``."""
        x_identity, x_transformed = x[..., : self.n_identity], x[..., self.n_identity :]
        log_scale, shift = self._scale_shift(x_identity, context)
        y_transformed = x_transformed * log_scale.exp() + shift
        log_det = log_scale.expand_as(y_transformed).sum(-1)
        return torch.cat([x_identity, y_transformed], dim=-1), log_det

    def inverse(self, y: Tensor, context: Tensor) -> Tensor:
        y_identity, y_transformed = y[..., : self.n_identity], y[..., self.n_identity :]
        log_scale, shift = self._scale_shift(y_identity, context)
        x_transformed = (y_transformed - shift) * torch.exp(-log_scale)
        return torch.cat([y_identity, x_transformed], dim=-1)


class AffineCouplingFlow(nn.Module):
    """Conditional normalising flow made of affine coupling blocks.

    Each block maps ``theta`` towards the standard normal base by an ActNorm, a
    reversal of the coordinates and an affine coupling layer whose scale-and-shift
    network sees the unchanged half and the context. The log-determinant is the sum
    of the log-scales of all ActNorm and coupling layers.

    Parameters
    ----------
    n_parameters : int
        Dimension ``p`` of ``theta``.
    context_features : int
        Dimension ``s`` of the context.
    n_transforms : int, default=5
        Number of blocks.
    hidden_features : int, default=64
        Width of the hidden layers of each scale-and-shift network.
    n_hidden_layers : int, default=2
        Number of hidden layers of each scale-and-shift network.
    scale_clamp : float, default=3.0
        Bound of the soft clamp on each log-scale.

    Notes
    -----
    The permutation is a fixed reversal: it involves no random numbers, and with
    the ``p // 2`` split every coordinate is transformed by every second block.
    For ``p == 1`` every block is a conditional affine map, so the flow is a
    conditional Gaussian; use ``"mixture"`` or ``"spline"`` for a multimodal
    one-dimensional posterior.

    Examples
    --------
    >>> import torch
    >>> head = AffineCouplingFlow(n_parameters=2, context_features=3)
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
        n_transforms: int = 5,
        hidden_features: int = 64,
        n_hidden_layers: int = 2,
        scale_clamp: float = 3.0,
    ) -> None:
        super().__init__()
        self.n_parameters = check_positive_int(n_parameters, "n_parameters")
        self.context_features = check_positive_int(context_features, "context_features")
        n_transforms = check_positive_int(n_transforms, "n_transforms")
        hidden_features = check_positive_int(hidden_features, "hidden_features")
        n_hidden_layers = check_positive_int(n_hidden_layers, "n_hidden_layers")
        self.norms = nn.ModuleList(
            ActNorm(self.n_parameters) for _ in range(n_transforms)
        )
        self.couplings = nn.ModuleList(
            AffineCoupling(
                self.n_parameters,
                self.context_features,
                hidden_features,
                n_hidden_layers,
                scale_clamp,
            )
            for _ in range(n_transforms)
        )

    def normalize(self, theta: Tensor, context: Tensor) -> tuple[Tensor, Tensor]:
        """Map ``theta`` to the base space; return ``z`` and ``log|det dz/dtheta|``.

        ``theta`` has shape ``(..., p)`` and must broadcast against the context's
        leading shape.
        """
        z = theta
        log_det = theta.new_zeros(())
        for norm, coupling in zip(self.norms, self.couplings, strict=True):
            z, step = norm(z)
            log_det = log_det + step
            z = z.flip(-1)
            z, step = coupling(z, context)
            log_det = log_det + step
        return z, log_det

    def generate(self, z: Tensor, context: Tensor) -> Tensor:
        """Map base-space ``z`` back to ``theta`` (the inverse of ``normalize``)."""
        theta = z
        for norm, coupling in zip(
            reversed(self.norms), reversed(self.couplings), strict=True
        ):
            theta = coupling.inverse(theta, context)
            theta = norm.inverse(theta.flip(-1))
        return theta

    def forward(self, context: Tensor) -> CouplingFlowDistribution:
        """Return ``q(theta | context)`` with batch shape ``context.shape[:-1]``."""
        return CouplingFlowDistribution(self, context)


class CouplingFlowDistribution(Distribution):
    """The distribution an :class:`AffineCouplingFlow` defines for one context.

    Parameters
    ----------
    flow : AffineCouplingFlow
        The flow module.
    context : Tensor of shape (..., s)
        The context; its leading shape is the batch shape.
    """

    arg_constraints: dict = {}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, flow: AffineCouplingFlow, context: Tensor) -> None:
        self.flow = flow
        self.context = context
        super().__init__(
            batch_shape=context.shape[:-1],
            event_shape=Size([flow.n_parameters]),
            validate_args=False,
        )

    def _broadcast(self, value: Tensor) -> Tensor:
        shape = torch.broadcast_shapes(value.shape[:-1], self.batch_shape)
        return value.expand(shape + self.event_shape)

    def normalize(self, value: Tensor) -> tuple[Tensor, Tensor]:
        """Return the base-space image of ``value`` and ``log|det dz/dtheta|``."""
        z, log_det = self.flow.normalize(self._broadcast(value), self.context)
        return z, log_det.expand(z.shape[:-1])

    def generate(self, z: Tensor) -> Tensor:
        """Return ``theta`` for base-space values ``z``."""
        return self.flow.generate(self._broadcast(z), self.context)

    def log_prob(self, value: Tensor) -> Tensor:
        """Log density of ``value`` of shape ``sample_shape + batch_shape + (p,)``."""
        z, log_det = self.normalize(value)
        p = self.event_shape[0]
        log_base = -0.5 * z.square().sum(-1) - 0.5 * p * math.log(2 * math.pi)
        return log_base + log_det

    def rsample(self, sample_shape: Size | tuple[int, ...] = ()) -> Tensor:
        """Draw differentiable values, shape ``sample_shape + batch_shape + (p,)``."""
        shape = self._extended_shape(Size(sample_shape))
        z = torch.randn(shape, dtype=self.context.dtype, device=self.context.device)
        return self.flow.generate(z, self.context)
