"""Loss functions of the point and quantile estimators.

Each maps ``(estimate, truth)`` tensors of shape ``(batch, n_parameters)`` to a loss
per entry; the Bayes estimator under the loss (its minimiser in expectation over the
posterior) is given for each.
"""

from __future__ import annotations

import torch


def squared_error(estimate: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``(estimate - truth)^2``: the Bayes estimator is the posterior mean."""
    return (estimate - truth) ** 2


def absolute_error(estimate: torch.Tensor, truth: torch.Tensor) -> torch.Tensor:
    """``|estimate - truth|``: the Bayes estimator is the posterior median."""
    return (estimate - truth).abs()


def tanh_loss(estimate: torch.Tensor, truth: torch.Tensor, k: float) -> torch.Tensor:
    """``tanh(|estimate - truth| / k)``: a smooth 0-1 loss; as k -> 0 its Bayes
    estimator tends to the posterior mode."""
    return torch.tanh((estimate - truth).abs() / k)


def pinball(
    estimate: torch.Tensor, truth: torch.Tensor, tau: torch.Tensor
) -> torch.Tensor:
    """``u * (tau - 1{u < 0})`` with ``u = truth - estimate``: the Bayes estimator is
    the posterior tau-quantile. ``tau`` broadcasts against the last axis."""
    u = truth - estimate
    return u * (tau - (u < 0).to(u.dtype))


POINT_LOSSES = {"squared": squared_error, "absolute": absolute_error, "tanh": tanh_loss}
