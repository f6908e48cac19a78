"""Sampling-importance-resampling and grid posteriors for low dimensions.

Both work on the same batched log density as :mod:`skamortise.inference.mcmc` and
never loop over data sets or candidates.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ._tensor import (
    LogFn,
    as_tensor,
    make_generator,
    nan_to_neginf,
    rand,
    safe_log_fn,
    to_numpy,
)


@dataclass(frozen=True)
class ImportanceResult:
    """Output of :func:`sample_importance`.

    Attributes
    ----------
    samples : ndarray of shape (n_datasets, n_samples, n_parameters)
        Draws resampled with replacement from the weighted candidates.
    ess : ndarray of shape (n_datasets,)
        Kish effective sample size ``1 / sum(w**2)`` of the normalised weights;
        far below ``n_samples`` means the resample repeats few candidates.
    log_normalizer : ndarray of shape (n_datasets,)
        Log of the mean importance weight, an estimate of the log normalising
        constant of ``exp(log_fn)`` (the log evidence when ``log_fn`` is a log
        prior plus a log likelihood).
    """

    samples: np.ndarray
    ess: np.ndarray
    log_normalizer: np.ndarray


def sample_importance(
    log_fn: LogFn,
    proposal_sample: Callable[[int, torch.Generator], torch.Tensor],
    proposal_log_prob: LogFn,
    n_samples: int,
    *,
    n_proposals: int | None = None,
    n_datasets: int | None = None,
    generator: torch.Generator | int | None = None,
) -> ImportanceResult:
    """Sampling-importance-resampling from batched unnormalised densities.

    Parameters
    ----------
    log_fn : callable
        Target log density, ``(n_datasets, k, n_parameters) -> (n_datasets, k)``.
    proposal_sample : callable
        ``proposal_sample(n, generator)`` returns ``n`` candidates per data set,
        shape ``(n_datasets, n, n_parameters)``, or ``(n, n_parameters)`` shared by
        all data sets (then ``n_datasets`` is required).
    proposal_log_prob : callable
        Normalised log density of the proposal, same signature as ``log_fn``.
    n_samples : int
        Draws returned per data set.
    n_proposals : int, default=None
        Candidates per data set; defaults to ``max(10 * n_samples, 1000)``.
    n_datasets : int, default=None
        Number of data sets, needed only when the proposal is shared.
    generator : torch.Generator or int, default=None
        Source of the resampling randomness, also handed to ``proposal_sample``.

    Returns
    -------
    ImportanceResult
        Resampled draws, effective sample sizes and log normalising constants.

    Notes
    -----
    The proposal must cover the target (heavier tails are safer); the weights
    ``exp(log_fn - proposal_log_prob)`` are normalised per data set in log space.
    Data sets where every weight is zero get NaN samples and a warning.
    """
    generator = make_generator(generator)
    n_proposals = max(10 * n_samples, 1000) if n_proposals is None else n_proposals
    candidates = as_tensor(proposal_sample(n_proposals, generator))
    if candidates.ndim == 2:
        if n_datasets is None:
            raise ValueError("a shared (2-D) proposal needs n_datasets.")
        candidates = candidates.expand(n_datasets, -1, -1)
    n_datasets, _, n_parameters = candidates.shape

    with torch.no_grad():
        log_target = torch.as_tensor(log_fn(candidates)).to(candidates)
        log_proposal = torch.as_tensor(proposal_log_prob(candidates)).to(candidates)
    log_weights = nan_to_neginf(log_target - log_proposal)
    log_total = torch.logsumexp(log_weights, dim=1)
    empty = ~torch.isfinite(log_total)
    if bool(empty.any()):
        warnings.warn(
            f"{int(empty.sum())} data sets have no candidate with positive weight.",
            RuntimeWarning,
            stacklevel=2,
        )
    weights = torch.exp(log_weights - log_total[:, None]).nan_to_num(0.0)
    ess = 1.0 / (weights**2).sum(dim=1)
    # multinomial needs a valid row even where everything vanished; those rows
    # are overwritten with NaN below.
    safe = torch.where(empty[:, None], torch.ones_like(weights), weights)
    index = torch.multinomial(
        safe.to(generator.device), n_samples, replacement=True, generator=generator
    ).to(candidates.device)
    samples = torch.gather(
        candidates, 1, index[..., None].expand(-1, -1, n_parameters)
    ).clone()
    samples[empty] = torch.nan
    ess = torch.where(empty, torch.zeros_like(ess), ess)
    log_normalizer = log_total - np.log(candidates.shape[1])
    return ImportanceResult(
        samples=to_numpy(samples),
        ess=to_numpy(ess),
        log_normalizer=to_numpy(log_normalizer),
    )


@dataclass(frozen=True)
class GridPosterior:
    """A density tabulated on a regular grid of cell centres.

    Attributes
    ----------
    axes : list of ndarray
        Cell centres along each parameter (length ``n_grid`` each).
    points : ndarray of shape (n_cells, n_parameters)
        All cell centres; for two parameters the first varies slowest.
    density : ndarray of shape (n_datasets, n_cells)
        Normalised density at the cell centres; ``(density * cell_volume).sum(1)``
        is 1 for every data set.
    log_density : ndarray of shape (n_datasets, n_cells)
        Unnormalised log density as returned by ``log_fn``.
    cell_widths : ndarray of shape (n_parameters,)
        Side lengths of a cell.
    """

    axes: list[np.ndarray]
    points: np.ndarray
    density: np.ndarray
    log_density: np.ndarray
    cell_widths: np.ndarray

    @property
    def cell_volume(self) -> float:
        """Volume (length or area) of one cell."""
        return float(np.prod(self.cell_widths))

    def density_grid(self) -> np.ndarray:
        """Density reshaped to ``(n_datasets, n_grid)`` or ``(n_datasets, n1, n2)``."""
        sizes = [len(axis) for axis in self.axes]
        return self.density.reshape(self.density.shape[0], *sizes)

    def sample(
        self, n_samples: int, generator: torch.Generator | int | None = None
    ) -> np.ndarray:
        """Draw ``(n_datasets, n_samples, n_parameters)`` from the tabulated density.

        A cell is chosen with probability proportional to its mass, then the draw
        is placed uniformly inside it.
        """
        generator = make_generator(generator)
        probabilities = torch.as_tensor(self.density * self.cell_volume)
        cells = torch.multinomial(
            probabilities.to(generator.device),
            n_samples,
            replacement=True,
            generator=generator,
        ).cpu()
        centres = torch.as_tensor(self.points)[cells]
        widths = torch.as_tensor(self.cell_widths)
        jitter = (rand(centres.shape, generator, centres) - 0.5) * widths
        return to_numpy(centres + jitter)


def regular_grid(
    lower: torch.Tensor, upper: torch.Tensor, n_grid: int
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Cell centres of a regular grid on a box: axes, points, cell widths."""
    widths = (upper - lower) / n_grid
    steps = torch.arange(n_grid, dtype=lower.dtype, device=lower.device) + 0.5
    axes = [lower[j] + steps * widths[j] for j in range(len(lower))]
    mesh = torch.meshgrid(*axes, indexing="ij")
    points = torch.stack([m.reshape(-1) for m in mesh], dim=-1)
    return axes, points, widths


def finite_box(
    bounds: tuple[Sequence[float] | np.ndarray | torch.Tensor, ...],
    like: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate a finite box ``(lower, upper)`` for grid methods (at most 2-D)."""
    lower = as_tensor(bounds[0], like).reshape(-1)
    upper = as_tensor(bounds[1], like).reshape(-1)
    if lower.shape != upper.shape or lower.numel() > 2:
        raise ValueError("grid methods need lower and upper of equal length <= 2.")
    if not bool(torch.isfinite(lower).all() & torch.isfinite(upper).all()):
        raise ValueError("grid methods need finite bounds.")
    if bool((lower >= upper).any()):
        raise ValueError("every lower bound must be smaller than its upper bound.")
    return lower, upper


def grid_posterior(
    log_fn: LogFn,
    bounds: tuple[Sequence[float] | np.ndarray | torch.Tensor, ...],
    n_grid: int,
    *,
    n_datasets: int,
) -> GridPosterior:
    """Tabulate and normalise a batched density on a grid (one or two parameters).

    Parameters
    ----------
    log_fn : callable
        Log density, ``(n_datasets, k, n_parameters) -> (n_datasets, k)``.
    bounds : tuple of (array-like, array-like)
        Finite lower and upper ends of the box, length ``n_parameters`` <= 2. Tensor
        bounds set the dtype and device ``log_fn`` sees; otherwise float64 CPU.
    n_grid : int
        Cells per parameter (``n_grid ** n_parameters`` evaluations per data set).
    n_datasets : int
        Number of data sets ``log_fn`` expects.

    Returns
    -------
    GridPosterior
        Grid, normalised density per data set and a cell-then-jitter sampler.

    Notes
    -----
    Mass outside the box is ignored, so the box should cover the posterior.
    """
    like = bounds[0] if isinstance(bounds[0], torch.Tensor) else None
    lower, upper = finite_box(bounds, like)
    axes, points, widths = regular_grid(lower, upper, n_grid)
    theta = points.expand(n_datasets, -1, -1)
    log_density = safe_log_fn(log_fn, theta, lower, upper)
    log_mass = log_density + torch.log(torch.prod(widths))
    log_total = torch.logsumexp(log_mass, dim=1, keepdim=True)
    density = torch.exp(log_density - log_total)
    return GridPosterior(
        axes=[to_numpy(axis) for axis in axes],
        points=to_numpy(points),
        density=to_numpy(density),
        log_density=to_numpy(log_density),
        cell_widths=to_numpy(widths),
    )
