"""Draws from any head's distribution as a function of given base noise.

Sampling from noise the caller supplies, instead of torch's global generator, makes
draws reproducible from a seeded ``torch.Generator`` and lets the same noise serve
every data set (common random numbers), so Monte Carlo summaries of one data set do
not depend on which other data sets share the batch.
"""

from __future__ import annotations

import torch
from torch import Tensor
from torch.distributions import (
    Distribution,
    MultivariateNormal,
    TransformedDistribution,
)
from zuko.distributions import NormalizingFlow

from .coupling import CouplingFlowDistribution
from .mixture import MultivariateGaussianMixture


def draw_from_noise(dist: Distribution, normal: Tensor, uniform: Tensor) -> Tensor:
    """Values of ``dist`` for standard-normal and uniform base noise.

    Parameters
    ----------
    dist : Distribution
        A head's output with batch shape ``(B,)`` and event shape ``(p,)``.
    normal : Tensor of shape (S, B, p) or (S, 1, p)
        Standard-normal noise.
    uniform : Tensor of shape (S, B) or (S, 1)
        Uniform noise on (0, 1) (used by discrete choices, e.g. mixture components).

    Returns
    -------
    Tensor of shape (S, B, p)
    """
    if isinstance(dist, TransformedDistribution):
        value = draw_from_noise(dist.base_dist, normal, uniform)
        for transform in dist.transforms:
            value = transform(value)
        return value
    shape = torch.Size([normal.shape[0], *dist.batch_shape, *dist.event_shape])
    normal = normal.expand(shape)
    if isinstance(dist, MultivariateNormal):
        return dist.loc + (dist.scale_tril @ normal.unsqueeze(-1)).squeeze(-1)
    if isinstance(dist, MultivariateGaussianMixture):
        edges = dist.weights.cumsum(dim=-1)  # (B, K)
        index = (edges < uniform.expand(shape[:-1]).unsqueeze(-1)).sum(dim=-1)
        index = index.clamp(max=dist.n_components - 1)  # (S, B)
        loc = dist.loc.expand(shape[:-1] + dist.loc.shape[-2:])
        tril = dist.scale_tril.expand(shape[:-1] + dist.scale_tril.shape[-3:])
        p = shape[-1]
        loc = loc.gather(-2, index[..., None, None].expand(*shape[:-1], 1, p))
        tril = tril.gather(
            -3, index[..., None, None, None].expand(*shape[:-1], 1, p, p)
        )
        return loc.squeeze(-2) + (tril.squeeze(-3) @ normal.unsqueeze(-1)).squeeze(-1)
    if isinstance(dist, CouplingFlowDistribution):
        return dist.generate(normal)
    if isinstance(dist, NormalizingFlow):
        return dist.transform.inv(normal)
    raise TypeError(f"Cannot sample {type(dist).__name__} from given noise.")
