"""Vectorised multi-start maximisation of batched log densities.

Every data set and every start is an independent problem, so the gradient of the
sum of all objectives is, block by block, the gradient of each one; a single
optimiser on the summed objective therefore solves them all at once. Adam's
per-coordinate step sizes keep the problems fully independent; L-BFGS shares one
line search across them and is faster on smooth, well-scaled problems.
"""

from __future__ import annotations

import numpy as np
import torch

from ..distributions.transforms import BoundsTransform
from ._tensor import Bounds, LogFn, as_tensor, bounds_tensors, nan_to_neginf, to_numpy

# Starts on or beyond a bound are pulled this far inside (as a fraction of a finite
# range, or in absolute terms for a one-sided bound): the maps must stay invertible,
# and a start deep in the flat tail of a sigmoid or softplus would spend most of
# Adam's budget (about lr per step in z) just getting back.
_INSIDE = 1e-3
# Unconstrained coordinates beyond this are tried on their bound after optimising
# (sigmoid(-4) is 1.8 % of the range, softplus(-4) is 0.018).
_SNAP = 4.0
METHODS = ("adam", "lbfgs")


def _pull_inside(
    theta: torch.Tensor, lower: torch.Tensor, upper: torch.Tensor
) -> torch.Tensor:
    """Move starts on or beyond a bound ``_INSIDE`` inside it (see ``_INSIDE``)."""
    width = torch.where(
        torch.isfinite(lower) & torch.isfinite(upper),
        upper - lower,
        torch.ones_like(lower),
    )
    margin = _INSIDE * width
    return torch.minimum(torch.maximum(theta, lower + margin), upper - margin)


def ascend(
    log_fn: LogFn,
    init: torch.Tensor,
    lower: torch.Tensor,
    upper: torch.Tensor,
    *,
    n_steps: int,
    lr: float,
    method: str = "adam",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Maximise every start of ``init`` ``(n_datasets, k, p)`` independently.

    Returns the best point met by each start and its value, shapes
    ``(n_datasets, k, p)`` and ``(n_datasets, k)``, as tensors. Keeping the best
    point rather than the last one protects against Adam's oscillation and
    against line-search trial points.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    transform = BoundsTransform(lower, upper)
    z = transform.inv(_pull_inside(init, lower, upper)).detach().clone()
    z.requires_grad_(True)
    best_theta = transform(z.detach())
    best_value = torch.full(init.shape[:2], -torch.inf, dtype=init.dtype)
    best_value = best_value.to(init.device)

    def objective() -> torch.Tensor:
        nonlocal best_theta, best_value
        theta = transform(z)
        value = torch.as_tensor(log_fn(theta)).to(theta)
        value = nan_to_neginf(value)
        finite = torch.isfinite(value)
        with torch.no_grad():
            better = finite & (value > best_value)
            best_value = torch.where(better, value, best_value)
            best_theta = torch.where(better[..., None], theta, best_theta)
        # Starts outside the support contribute nothing (and no gradient).
        return -torch.where(finite, value, torch.zeros_like(value)).sum()

    def backward(loss: torch.Tensor) -> None:
        loss.backward()
        # A -inf value can leave NaN gradients on its own start only; zeroing them
        # keeps one bad start from poisoning the shared optimiser state.
        z.grad.nan_to_num_(nan=0.0, posinf=0.0, neginf=0.0)

    if method == "adam":
        # A short second-moment memory: near a bound the sigmoid/softplus gradient
        # shrinks geometrically, and the default 0.999 would keep dividing it by
        # the old, larger gradients, stalling the approach to the bound.
        optimiser = torch.optim.Adam([z], lr=lr, betas=(0.9, 0.9))
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(
            optimiser, T_max=max(n_steps, 1), eta_min=lr * 1e-2
        )
        for _ in range(n_steps):
            optimiser.zero_grad()
            backward(objective())
            optimiser.step()
            schedule.step()
    else:
        optimiser = torch.optim.LBFGS(
            [z],
            lr=1.0,
            max_iter=n_steps,
            history_size=20,
            tolerance_grad=1e-12,
            tolerance_change=1e-15,
            line_search_fn="strong_wolfe",
        )

        def closure() -> torch.Tensor:
            optimiser.zero_grad()
            loss = objective()
            backward(loss)
            return loss

        optimiser.step(closure)
    with torch.no_grad():
        objective()
        best_theta, best_value = _snap_to_bounds(
            log_fn, best_theta, best_value, transform
        )
    return best_theta.detach(), best_value.detach()


def _snap_to_bounds(log_fn, theta, value, transform: BoundsTransform):
    """Try moving coordinates deep in a map's flat tail onto their bound.

    An optimum on a bound sits at infinity in the unconstrained space, which
    gradient steps only approach; evaluating the bound itself settles it exactly.
    """
    z = transform.inv(theta)
    lower, upper = (b.to(theta) for b in (transform.lower, transform.upper))
    snapped = torch.where(torch.isfinite(lower) & (z < -_SNAP), lower, theta)
    snapped = torch.where(torch.isfinite(upper) & (z > _SNAP), upper, snapped)
    moved = (snapped != theta).any(dim=-1)
    if not bool(moved.any()):
        return theta, value
    candidate = nan_to_neginf(torch.as_tensor(log_fn(snapped)).to(theta))
    better = moved & (candidate >= value)
    return (
        torch.where(better[..., None], snapped, theta),
        torch.where(better, candidate, value),
    )


def maximize(
    log_fn: LogFn,
    init: np.ndarray | torch.Tensor,
    *,
    n_steps: int = 500,
    lr: float = 0.05,
    bounds: Bounds = None,
    method: str = "adam",
) -> tuple[np.ndarray, np.ndarray]:
    """Multi-start gradient ascent of a batched log density.

    Parameters
    ----------
    log_fn : callable
        ``(n_datasets, k, n_parameters) -> (n_datasets, k)``, differentiable in its
        argument with torch operations; ``-inf`` outside the support is allowed.
    init : array-like of shape (n_datasets, n_starts, n_parameters)
        Starting points; a 2-D ``(n_datasets, n_parameters)`` array is one start each.
    n_steps : int, default=500
        Adam steps, or the L-BFGS iteration budget.
    lr : float, default=0.05
        Adam learning rate in the unconstrained space (cosine-decayed to 1 % of
        it). Adam moves each coordinate by about ``lr`` per step, so unbounded
        parameters far from their starts need larger values or more steps.
    bounds : tuple of (array-like, array-like), default=None
        Lower and upper bounds per parameter (``-inf``/``inf`` for open sides).
        The search runs on ``z`` with ``theta = lower + (upper - lower) *
        sigmoid(z)``, ``lower + softplus(z)`` or ``upper - softplus(-z)``;
        coordinates that end deep in a map's tail are then tried on the bound
        itself, so ``log_fn`` may be evaluated on (never beyond) the bounds.
    method : {"adam", "lbfgs"}, default="adam"
        Optimiser applied to the summed objective.

    Returns
    -------
    theta_hat : ndarray of shape (n_datasets, n_parameters)
        Best point over all starts per data set.
    value : ndarray of shape (n_datasets,)
        ``log_fn`` at ``theta_hat``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.inference import maximize
    >>> def log_fn(theta):
    ...     return -((theta - 2.0) ** 2).sum(-1)
    >>> theta_hat, value = maximize(log_fn, np.zeros((3, 2, 1)), bounds=([0], [1]))
    >>> np.round(theta_hat, 3).ravel().tolist()
    [1.0, 1.0, 1.0]
    """
    theta = as_tensor(init)
    if theta.ndim == 2:
        theta = theta[:, None, :]
    if theta.ndim != 3:
        raise ValueError("init must have shape (n_datasets, n_starts, n_parameters).")
    lower, upper = bounds_tensors(bounds, theta.shape[-1], theta)
    points, values = ascend(
        log_fn, theta, lower, upper, n_steps=n_steps, lr=lr, method=method
    )
    best = values.argmax(dim=1)
    rows = torch.arange(theta.shape[0], device=theta.device)
    return to_numpy(points[rows, best]), to_numpy(values[rows, best])
