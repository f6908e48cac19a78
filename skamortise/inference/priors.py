"""Priors chosen after training, as batched torch log densities."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch.distributions import Distribution


def prior_log_density(prior) -> tuple[Callable[[torch.Tensor], torch.Tensor], bool]:
    """``(log_fn, differentiable)`` for a prior given in any accepted form.

    ``log_fn(theta)`` maps ``(..., p)`` tensors to ``(...)`` log densities. Accepted:
    None (flat on the support), a :class:`torch.distributions.Distribution`, an object
    with ``log_prob`` or ``logpdf`` (e.g. a frozen scipy distribution), or a callable
    mapping an ``(m, p)`` array to ``(m,)`` log densities. Only torch priors are
    differentiable (needed by MAP estimation).
    """
    if prior is None:
        return (lambda theta: torch.zeros(theta.shape[:-1]).to(theta)), True
    if isinstance(prior, Distribution):

        def torch_log(theta):
            value = prior.log_prob(theta)
            # a univariate distribution scores each coordinate separately
            return value.sum(-1) if value.shape == theta.shape else value

        return torch_log, True
    for name in ("log_prob", "logpdf"):
        if hasattr(prior, name):
            return _numpy_log(getattr(prior, name), univariate=name == "logpdf"), False
    if callable(prior):
        return _numpy_log(prior, univariate=False), False
    raise TypeError(
        "prior must be None, a torch Distribution, an object with log_prob or logpdf, "
        f"or a callable log density; got {type(prior).__name__}."
    )


def _numpy_log(fn, univariate: bool):
    def log_fn(theta: torch.Tensor) -> torch.Tensor:
        flat = theta.detach().reshape(-1, theta.shape[-1]).cpu().numpy()
        if univariate and flat.shape[1] == 1:
            value = np.asarray(fn(flat[:, 0]), dtype=np.float64)
        else:
            value = np.asarray(fn(flat), dtype=np.float64)
        if value.shape != (len(flat),):
            value = value.reshape(len(flat), -1).sum(axis=1)  # per-coordinate logpdf
        return torch.as_tensor(value).to(theta).reshape(theta.shape[:-1])

    return log_fn
