"""Conditional spline and autoregressive flows backed by zuko."""

from __future__ import annotations

import torch
import zuko
from torch import Tensor, nn
from torch.distributions import Distribution
from zuko.distributions import NormalizingFlow

from ._mlp import check_positive_int


class _ZukoFlowHead(nn.Module):
    """Shared wrapper: hold a zuko flow and return its distribution per context."""

    flow: nn.Module

    def __init__(self, n_parameters: int, context_features: int) -> None:
        super().__init__()
        self.n_parameters = check_positive_int(n_parameters, "n_parameters")
        self.context_features = check_positive_int(context_features, "context_features")

    def forward(self, context: Tensor) -> Distribution:
        """Return ``q(theta | context)`` with batch shape ``context.shape[:-1]``."""
        transform = self.flow.transform(context)
        base = self.flow.base(context).expand(context.shape[:-1])
        return BroadcastingFlow(transform, base)


class BroadcastingFlow(NormalizingFlow):
    """A zuko normalising flow whose ``log_prob`` broadcasts like the others.

    zuko's elementwise transforms (used when ``p == 1``) fail on values whose
    batch dimensions are 1 where the context's are not, e.g. one ``theta`` scored
    under many contexts; expanding the value first makes every head behave alike.
    """

    def log_prob(self, value: Tensor) -> Tensor:
        shape = torch.broadcast_shapes(value.shape[:-1], self.batch_shape)
        return super().log_prob(value.expand(shape + value.shape[-1:]))


class NeuralSplineFlow(_ZukoFlowHead):
    """Conditional neural spline flow (monotonic rational-quadratic splines).

    A thin wrapper of :class:`zuko.flows.NSF` with fully autoregressive
    transforms; much more flexible than affine flows on multimodal or skewed
    posteriors.

    Parameters
    ----------
    n_parameters : int
        Dimension ``p`` of ``theta``.
    context_features : int
        Dimension ``s`` of the context.
    n_transforms : int, default=3
        Number of spline transforms.
    n_bins : int, default=8
        Number of spline bins per transform.
    hidden_features : int, default=64
        Width of the hidden layers of each conditioner.
    n_hidden_layers : int, default=2
        Number of hidden layers of each conditioner.
    passes : int or None, default=None
        Passes of each transform: None is fully autoregressive (``p`` sequential
        passes to sample); ``2`` makes every transform a coupling layer, which
        samples in two passes whatever ``p``, at some loss of flexibility.

    Notes
    -----
    The splines act on ``[-5, 5]`` and are the identity outside, so ``theta``
    should be standardised (about zero mean, unit variance) before it reaches the
    flow. For ``p == 1`` zuko replaces each autoregressive transform by an
    elementwise spline whose knots depend on the context only. Sampling inverts
    each transform in ``p`` sequential passes.

    Examples
    --------
    >>> import torch
    >>> head = NeuralSplineFlow(n_parameters=2, context_features=3)
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
        n_transforms: int = 3,
        n_bins: int = 8,
        hidden_features: int = 64,
        n_hidden_layers: int = 2,
        passes: int | None = None,
    ) -> None:
        super().__init__(n_parameters, context_features)
        hidden = check_positive_int(hidden_features, "hidden_features")
        depth = check_positive_int(n_hidden_layers, "n_hidden_layers", minimum=0)
        if passes is not None:
            passes = check_positive_int(passes, "passes")
        self.flow = zuko.flows.NSF(
            passes=passes,
            features=self.n_parameters,
            context=self.context_features,
            transforms=check_positive_int(n_transforms, "n_transforms"),
            bins=check_positive_int(n_bins, "n_bins", minimum=2),
            hidden_features=(hidden,) * depth,
        )


class MaskedAutoregressiveFlow(_ZukoFlowHead):
    """Conditional masked autoregressive flow with affine transforms.

    A thin wrapper of :class:`zuko.flows.MAF`.

    Parameters
    ----------
    n_parameters : int
        Dimension ``p`` of ``theta``.
    context_features : int
        Dimension ``s`` of the context.
    n_transforms : int, default=3
        Number of autoregressive transforms.
    hidden_features : int, default=64
        Width of the hidden layers of each conditioner.
    n_hidden_layers : int, default=2
        Number of hidden layers of each conditioner.

    Notes
    -----
    For ``p == 1`` every transform is a conditional affine map, so the flow is a
    conditional Gaussian. Sampling inverts each transform in ``p`` sequential
    passes.

    Examples
    --------
    >>> import torch
    >>> head = MaskedAutoregressiveFlow(n_parameters=2, context_features=3)
    >>> head(torch.zeros(4, 3)).sample((10,)).shape
    torch.Size([10, 4, 2])
    """

    def __init__(
        self,
        n_parameters: int,
        context_features: int,
        n_transforms: int = 3,
        hidden_features: int = 64,
        n_hidden_layers: int = 2,
    ) -> None:
        super().__init__(n_parameters, context_features)
        hidden = check_positive_int(hidden_features, "hidden_features")
        depth = check_positive_int(n_hidden_layers, "n_hidden_layers", minimum=0)
        # randperm stays False: zuko would draw the orders from the global RNG.
        self.flow = zuko.flows.MAF(
            features=self.n_parameters,
            context=self.context_features,
            transforms=check_positive_int(n_transforms, "n_transforms"),
            hidden_features=(hidden,) * depth,
            randperm=False,
        )
