"""Likelihood-ratio tests and Wilks confidence intervals and sets.

All routines take a batched log likelihood ``loglik_fn(theta)`` mapping
``(n_datasets, k, n_parameters)`` to ``(n_datasets, k)`` and treat
``2 * (max l - l)`` as chi-square distributed (Wilks' theorem). Nuisance
parameters are maximised out with :func:`skamortise.inference.optimize.ascend`,
for all data sets and all candidate values at once.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy.stats import chi2

from ._tensor import (
    Bounds,
    LogFn,
    as_tensor,
    bounds_tensors,
    nan_to_neginf,
    safe_log_fn,
    to_numpy,
)
from .importance import finite_box, regular_grid
from .optimize import ascend

_MAX_EXPANSIONS = 8


def _fix_components(
    log_fn: LogFn, n_parameters: int, fixed: Sequence[int], values: torch.Tensor
) -> LogFn:
    """Log function of the free components with ``fixed`` held at ``values``.

    ``values`` broadcasts to ``(n_datasets, k, len(fixed))``.
    """
    free = [j for j in range(n_parameters) if j not in fixed]

    def restricted(z: torch.Tensor) -> torch.Tensor:
        n_datasets, k, _ = z.shape
        full = z.new_empty(n_datasets, k, n_parameters)
        full[..., free] = z
        full[..., list(fixed)] = values.expand(n_datasets, k, len(fixed)).to(z)
        return log_fn(full)

    return restricted


def _evaluate(log_fn: LogFn, theta: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        value = torch.as_tensor(log_fn(theta)).to(theta)
    return nan_to_neginf(value)


@dataclass(frozen=True)
class LRTestResult:
    """Output of :func:`lr_test`; arrays have one row per data set.

    Attributes
    ----------
    statistic : ndarray of shape (n_datasets,)
        ``2 * (l(theta_hat) - l(theta_null))``, clipped at 0.
    pvalue : ndarray of shape (n_datasets,)
        Chi-square survival function of the statistic with ``df`` degrees.
    df : int
        Number of tested components.
    theta_hat : ndarray of shape (n_datasets, n_parameters)
        Unrestricted maximiser.
    theta_null : ndarray of shape (n_datasets, n_parameters)
        Maximiser under the null (``theta0`` itself for a simple null).
    """

    statistic: np.ndarray
    pvalue: np.ndarray
    df: int
    theta_hat: np.ndarray
    theta_null: np.ndarray


def lr_test(
    loglik_fn: LogFn,
    theta0: np.ndarray | torch.Tensor,
    theta_hat: np.ndarray | torch.Tensor | None = None,
    *,
    index: Sequence[int] | None = None,
    init: np.ndarray | torch.Tensor | None = None,
    bounds: Bounds = None,
    n_steps: int = 500,
    lr: float = 0.05,
    method: str = "adam",
) -> LRTestResult:
    """Likelihood-ratio test of ``theta[index] == theta0[index]`` per data set.

    Parameters
    ----------
    loglik_fn : callable
        Batched log likelihood ``(n_datasets, k, n_parameters) -> (n_datasets, k)``,
        differentiable when anything must be maximised.
    theta0 : array-like of shape (n_datasets, n_parameters) or (n_parameters,)
        Null values; only the components in ``index`` are used when it is given.
        A 1-D value is shared and needs ``theta_hat`` or ``init`` for the number
        of data sets.
    theta_hat : array-like of shape (n_datasets, n_parameters), default=None
        Unrestricted maximum-likelihood estimates; found by maximisation from
        ``init`` (or from ``theta0``) when omitted.
    index : sequence of int, default=None
        Tested components; the others are nuisance parameters maximised under the
        null. ``None`` tests all, a simple null with ``df = n_parameters``.
    init : array-like of shape (n_datasets, n_starts, n_parameters), default=None
        Starting points for the unrestricted maximisation.
    bounds : tuple of (array-like, array-like), default=None
        Parameter bounds for the maximisations.
    n_steps, lr, method
        Passed to the maximiser; see :func:`skamortise.inference.maximize`.

    Returns
    -------
    LRTestResult
        Statistics, p-values and both maximisers.
    """
    reference = theta_hat if theta_hat is not None else init
    null = as_tensor(theta0)
    if null.ndim == 1:
        if reference is None:
            raise ValueError("a shared theta0 needs theta_hat or init.")
        n_datasets = as_tensor(reference).shape[0]
        null = null.expand(n_datasets, -1).clone()
    n_datasets, n_parameters = null.shape
    lower, upper = bounds_tensors(bounds, n_parameters, null)
    options = {"n_steps": n_steps, "lr": lr, "method": method}

    if theta_hat is None:
        starts = null[:, None, :] if init is None else as_tensor(init, null)
        starts = starts if starts.ndim == 3 else starts[:, None, :]
        points, values = ascend(loglik_fn, starts, lower, upper, **options)
        best = values.argmax(dim=1)
        hat = points[torch.arange(n_datasets, device=null.device), best]
    else:
        hat = as_tensor(theta_hat, null)
    loglik_hat = _evaluate(loglik_fn, hat[:, None, :])[:, 0]

    tested = list(range(n_parameters)) if index is None else [int(j) for j in index]
    if len(tested) == n_parameters:
        theta_null = null
        loglik_null = _evaluate(loglik_fn, null[:, None, :])[:, 0]
    else:
        free = [j for j in range(n_parameters) if j not in tested]
        restricted = _fix_components(
            loglik_fn, n_parameters, tested, null[:, None, tested]
        )
        nuisance, loglik_null = ascend(
            restricted, hat[:, None, free], lower[free], upper[free], **options
        )
        loglik_null = loglik_null[:, 0]
        theta_null = null.clone()
        theta_null[:, free] = nuisance[:, 0]
    # The restricted maximum cannot exceed the unrestricted one; an imperfect
    # optimiser may say otherwise, and the clip keeps the statistic valid.
    statistic = 2.0 * (torch.maximum(loglik_hat, loglik_null) - loglik_null)
    statistic = to_numpy(statistic)
    return LRTestResult(
        statistic=statistic,
        pvalue=chi2.sf(statistic, df=len(tested)),
        df=len(tested),
        theta_hat=to_numpy(hat),
        theta_null=to_numpy(theta_null),
    )


@dataclass(frozen=True)
class ProfileInterval:
    """Output of :func:`profile_interval`; arrays have one row per data set.

    Attributes
    ----------
    lower, upper : ndarray of shape (n_datasets,)
        Interval ends; a finite bound where the profile never drops below the
        threshold inside it, ``-inf``/``inf`` when unbounded and still not found.
    estimate : ndarray of shape (n_datasets,)
        ``theta_hat[:, index]``.
    max_loglik : ndarray of shape (n_datasets,)
        Largest log likelihood found (at ``theta_hat`` or on the profile grid).
    grid, profile : ndarray of shape (n_datasets, n_grid)
        Parameter values and profile log likelihood of the last grid evaluated.
    threshold : float
        ``chi2.ppf(1 - alpha, 1) / 2``: the drop that defines the interval.
    """

    lower: np.ndarray
    upper: np.ndarray
    estimate: np.ndarray
    max_loglik: np.ndarray
    grid: np.ndarray
    profile: np.ndarray
    threshold: float


def _initial_half_width(loglik_fn, hat, index, lower, upper) -> torch.Tensor:
    """Four standard errors from the observed information, else a safe guess.

    Networks with piecewise-linear activations have no useful curvature, so a
    failed Hessian falls back on the bounded range or 1 and the grid is expanded.
    """
    theta = hat.detach().clone().requires_grad_(True)
    try:
        total = torch.as_tensor(loglik_fn(theta[:, None, :])).sum()
        (gradient,) = torch.autograd.grad(total, theta, create_graph=True)
        rows = [
            torch.autograd.grad(gradient[:, j].sum(), theta, retain_graph=True)[0]
            for j in range(theta.shape[1])
        ]
        information = -torch.stack(rows, dim=1).detach()
        variance = torch.linalg.inv(information)[:, index, index]
        half = 4.0 * variance.sqrt()
    except (RuntimeError, torch.linalg.LinAlgError):
        half = torch.full_like(hat[:, 0], torch.nan)
    span = upper[index] - lower[index]
    fallback = torch.where(torch.isfinite(span), span, torch.ones_like(span))
    usable = torch.isfinite(half) & (half > 0)
    return torch.where(usable, half, fallback.expand_as(half))


def profile_interval(
    loglik_fn: LogFn,
    theta_hat: np.ndarray | torch.Tensor,
    index: int,
    alpha: float = 0.05,
    *,
    bounds: Bounds = None,
    n_grid: int = 41,
    n_refine: int = 20,
    n_steps: int = 300,
    lr: float = 0.05,
    method: str = "adam",
) -> ProfileInterval:
    """Wilks profile-likelihood interval for one parameter, per data set.

    Parameters
    ----------
    loglik_fn : callable
        Batched log likelihood ``(n_datasets, k, n_parameters) -> (n_datasets, k)``.
    theta_hat : array-like of shape (n_datasets, n_parameters)
        Maximum-likelihood estimates; they centre the grid and start the nuisance
        maximisations.
    index : int
        The parameter of interest.
    alpha : float, default=0.05
        One minus the confidence level.
    bounds : tuple of (array-like, array-like), default=None
        Parameter bounds; the interval is clipped to them.
    n_grid : int, default=41
        Grid points per data set for the first pass.
    n_refine : int, default=20
        Bisection steps on each bracketed crossing, followed by a linear
        interpolation between the final bracket ends.
    n_steps, lr, method
        Passed to the nuisance maximiser (unused with a single parameter).

    Returns
    -------
    ProfileInterval
        Interval ends, profile grid and threshold.

    Notes
    -----
    The grid spans four standard errors (from the observed information) either
    side of the estimate and is doubled, for the data sets that need it, until the
    profile falls below ``max l - chi2.ppf(1 - alpha, 1) / 2`` at both ends or
    reaches a bound (at most eight times). One grid serves all data sets at once;
    nuisance maxima are warm-started from ``theta_hat``.
    """
    hat = as_tensor(theta_hat)
    n_datasets, n_parameters = hat.shape
    lower, upper = bounds_tensors(bounds, n_parameters, hat)
    free = [j for j in range(n_parameters) if j != index]
    options = {"n_steps": n_steps, "lr": lr, "method": method}

    def profile(psi: torch.Tensor, nuisance: torch.Tensor):
        """Profile log likelihood at ``psi`` ``(n_datasets, k)``."""
        restricted = _fix_components(loglik_fn, n_parameters, [index], psi[..., None])
        if not free:
            empty = psi.new_empty(*psi.shape, 0)
            return safe_log_fn(restricted, empty, lower[free], upper[free]), nuisance
        return ascend(restricted, nuisance, lower[free], upper[free], **options)[::-1]

    threshold = float(chi2.ppf(1.0 - alpha, df=1) / 2.0)
    centre = hat[:, index]
    loglik_hat = _evaluate(loglik_fn, hat[:, None, :])[:, 0]
    half = _initial_half_width(loglik_fn, hat, index, lower, upper)
    offsets = torch.linspace(-1.0, 1.0, n_grid, dtype=hat.dtype, device=hat.device)
    start = hat[:, None, free].expand(-1, n_grid, -1)
    for _ in range(_MAX_EXPANSIONS + 1):
        grid = centre[:, None] + half[:, None] * offsets
        grid = torch.minimum(torch.maximum(grid, lower[index]), upper[index])
        values, nuisance = profile(grid, start)
        level = torch.maximum(loglik_hat, values.amax(dim=1)) - threshold
        closed_low = (values[:, 0] < level) | (grid[:, 0] <= lower[index])
        closed_high = (values[:, -1] < level) | (grid[:, -1] >= upper[index])
        closed = closed_low & closed_high
        if bool(closed.all()):
            break
        half = torch.where(closed, half, 2.0 * half)

    rows = torch.arange(n_datasets, device=hat.device)
    steps = torch.arange(n_grid, device=hat.device)
    peak = values.argmax(dim=1, keepdim=True)
    below = values < level[:, None]
    # Nearest grid point below the level on each side of the peak.
    out_low = torch.where(below & (steps < peak), steps, -1).amax(dim=1)
    out_high = torch.where(below & (steps > peak), steps, n_grid).amin(dim=1)
    found = torch.stack([out_low >= 0, out_high < n_grid], dim=1)
    outer = torch.stack([out_low.clamp(min=0), out_high.clamp(max=n_grid - 1)], 1)
    inner = outer + torch.tensor([1, -1], device=hat.device)
    inner = torch.where(found, inner, peak.expand(-1, 2))
    a, b = grid[rows[:, None], inner], grid[rows[:, None], outer]
    f_a, f_b = values[rows[:, None], inner], values[rows[:, None], outer]
    warm = nuisance[rows[:, None], inner]
    for _ in range(n_refine if bool(found.any()) else 0):
        middle = 0.5 * (a + b)
        f_mid, warm_mid = profile(middle, warm)
        inside = f_mid >= level[:, None]
        a, f_a = torch.where(inside, middle, a), torch.where(inside, f_mid, f_a)
        b, f_b = torch.where(inside, b, middle), torch.where(inside, f_b, f_mid)
        warm = torch.where(inside[..., None], warm_mid, warm)
    fraction = ((f_a - level[:, None]) / (f_a - f_b)).nan_to_num(0.5).clamp(0, 1)
    ends = a + fraction * (b - a)
    # Without a crossing the interval runs to the bound (or to infinity).
    ends = torch.where(found, ends, torch.stack([lower[index], upper[index]]))
    if bool((~found & ~torch.isfinite(ends)).any()):
        warnings.warn(
            "the profile did not fall below the threshold for some data sets; "
            "their interval is unbounded on that side.",
            RuntimeWarning,
            stacklevel=2,
        )
    return ProfileInterval(
        lower=to_numpy(ends[:, 0]),
        upper=to_numpy(ends[:, 1]),
        estimate=to_numpy(centre),
        max_loglik=to_numpy(level + threshold),
        grid=to_numpy(grid),
        profile=to_numpy(values),
        threshold=threshold,
    )


@dataclass(frozen=True)
class ConfidenceSetGrid:
    """Output of :func:`confidence_set_grid`.

    Attributes
    ----------
    axes : list of ndarray
        Cell centres along each parameter.
    points : ndarray of shape (n_cells, n_parameters)
        All cell centres.
    inside : ndarray of shape (n_datasets, n_cells)
        Whether each point belongs to the confidence set.
    loglik : ndarray of shape (n_datasets, n_cells)
        Log likelihood at the points.
    threshold : float
        ``chi2.ppf(1 - alpha, n_parameters) / 2``.
    """

    axes: list[np.ndarray]
    points: np.ndarray
    inside: np.ndarray
    loglik: np.ndarray
    threshold: float


def confidence_set_grid(
    loglik_fn: LogFn,
    bounds: tuple[Sequence[float] | np.ndarray | torch.Tensor, ...],
    n_grid: int,
    *,
    n_datasets: int,
    alpha: float = 0.05,
    theta_hat: np.ndarray | torch.Tensor | None = None,
) -> ConfidenceSetGrid:
    """Wilks confidence set ``{theta : 2 (max l - l(theta)) <= chi2_p(1 - alpha)}``.

    Parameters
    ----------
    loglik_fn : callable
        Batched log likelihood ``(n_datasets, k, n_parameters) -> (n_datasets, k)``.
    bounds : tuple of (array-like, array-like)
        Finite box of one or two parameters to tabulate.
    n_grid : int
        Cells per parameter.
    n_datasets : int
        Number of data sets ``loglik_fn`` expects.
    alpha : float, default=0.05
        One minus the confidence level.
    theta_hat : array-like of shape (n_datasets, n_parameters), default=None
        Maximum-likelihood estimates; without them the grid maximum stands in.

    Returns
    -------
    ConfidenceSetGrid
        Grid, membership mask and log likelihood per data set.
    """
    like = bounds[0] if isinstance(bounds[0], torch.Tensor) else None
    lower, upper = finite_box(bounds, like)
    axes, points, _ = regular_grid(lower, upper, n_grid)
    loglik = safe_log_fn(loglik_fn, points.expand(n_datasets, -1, -1), lower, upper)
    best = loglik.amax(dim=1)
    if theta_hat is not None:
        hat = as_tensor(theta_hat, points)[:, None, :]
        best = torch.maximum(best, _evaluate(loglik_fn, hat)[:, 0])
    threshold = float(chi2.ppf(1.0 - alpha, df=len(lower)) / 2.0)
    return ConfidenceSetGrid(
        axes=[to_numpy(axis) for axis in axes],
        points=to_numpy(points),
        inside=(to_numpy(best[:, None] - loglik) <= threshold),
        loglik=to_numpy(loglik),
        threshold=threshold,
    )
