"""Gaussian random field on a grid with an unknown range parameter."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from ._base import BoxUniformPrior, SimulationModel, as_generator

__all__ = ["GaussianField"]


class GaussianField(SimulationModel):
    """Zero-mean Gaussian field with exponential covariance on a square grid.

    The field lives on a ``grid_size x grid_size`` regular grid on the unit square
    (points ``0, 1/(g-1), ..., 1`` per axis) with unit variance and covariance
    ``exp(-d / range)`` between two points at distance ``d``. The one parameter is
    ``range``, with prior ``U(range_low, range_high)``.

    Parameters
    ----------
    grid_size : int, default=16
        Points per side of the grid.
    range_low, range_high : float, default=0.05, 0.5
        Support of the uniform prior on the range. The default spans fields that
        decorrelate within about one grid step to fields correlated across half
        the square.
    chunk_size : int, default=64
        Parameters handled per batched Cholesky factorisation; bounds the memory
        to ``chunk_size * grid_size**4 * 8`` bytes (32 MB by default).
    cache_size : int, default=32
        Number of Cholesky factors kept between calls, keyed by the range value;
        repeated simulation at the same parameter (a parametric bootstrap)
        factorises once.

    Attributes
    ----------
    n_parameters : int
        1.
    parameter_names : tuple of str
        ``("range",)``.
    bounds : list of tuple
        ``[(range_low, range_high)]``.
    coords : ndarray of shape (grid_size**2, 2)
        Grid coordinates in row-major order of the field images.

    Notes
    -----
    The simulator returns ``(n, grid_size, grid_size)`` fields, or
    ``(n, n_replicates, grid_size, grid_size)`` independent fields per parameter when
    ``n_replicates`` is given. The likelihood is the multivariate normal density,
    and :meth:`reference_posterior` evaluates it on a grid of range values (a coarse
    grid over the prior, then a fine grid over the region within 25 log units of
    the maximum) and samples the piecewise-constant density by inversion.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.models.gaussian_field import GaussianField
    >>> model = GaussianField(grid_size=8)
    >>> theta, x = model.observations(3, np.random.default_rng(0), n_replicates=2)
    >>> x.shape
    (3, 2, 8, 8)
    """

    def __init__(
        self,
        grid_size: int = 16,
        range_low: float = 0.05,
        range_high: float = 0.5,
        chunk_size: int = 64,
        cache_size: int = 32,
    ):
        if grid_size < 2:
            raise ValueError(f"grid_size must be at least 2, got {grid_size}.")
        if not 0 < range_low < range_high:
            raise ValueError("need 0 < range_low < range_high.")
        self.grid_size = int(grid_size)
        self.range_low = float(range_low)
        self.range_high = float(range_high)
        self.chunk_size = int(chunk_size)
        self.cache_size = int(cache_size)
        self._prior = BoxUniformPrior([self.range_low], [self.range_high])
        self.parameter_names = ("range",)
        self.bounds = self._prior.bounds
        axis = np.linspace(0.0, 1.0, self.grid_size)
        gx, gy = np.meshgrid(axis, axis, indexing="ij")
        self.coords = np.column_stack([gx.ravel(), gy.ravel()])
        diff = self.coords[:, None, :] - self.coords[None, :, :]
        self._dist = np.sqrt(np.sum(diff**2, axis=-1))
        self._cache: OrderedDict[float, np.ndarray] = OrderedDict()

    def __repr__(self) -> str:
        return (
            f"GaussianField(grid_size={self.grid_size}, range_low={self.range_low}, "
            f"range_high={self.range_high})"
        )

    def prior(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ``n`` range values, shape ``(n, 1)``."""
        return self._prior.sample(n, as_generator(rng))

    def prior_log_prob(self, theta: np.ndarray) -> np.ndarray:
        """Prior log density of each row, ``-inf`` outside the prior support."""
        return self._prior.log_prob(self._check_theta(theta))

    def covariance(self, range_: float) -> np.ndarray:
        """Covariance matrix of the flattened field for one range value."""
        return np.exp(-self._dist / float(range_))

    def simulator(
        self,
        theta: np.ndarray,
        rng: np.random.Generator | int | None = None,
        n_replicates: int | None = None,
    ) -> np.ndarray:
        """Simulate fields, one data set per row of ``theta``.

        Parameters
        ----------
        theta : array-like of shape (n, 1)
            Range values.
        rng : numpy.random.Generator, int or None
            Source of randomness.
        n_replicates : int, optional
            Independent fields per data set. When given the output has a replicate
            axis, even for one replicate.

        Returns
        -------
        ndarray of shape (n, grid_size, grid_size) or
        (n, n_replicates, grid_size, grid_size)
        """
        rng = as_generator(rng)
        theta = self._check_theta(theta)
        m = 1 if n_replicates is None else int(n_replicates)
        g, n = self.grid_size, theta.shape[0]
        # Noise is drawn once, up front, so results do not depend on chunk_size.
        z = rng.standard_normal((n, g * g, m))
        fields = np.empty((n, g * g, m))
        for rows, chol in self._factors(theta[:, 0]):
            fields[rows] = chol @ z[rows]
        fields = fields.transpose(0, 2, 1).reshape(n, m, g, g)
        return fields[:, 0] if n_replicates is None else fields

    def log_likelihood(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Gaussian log density of the fields ``x`` given ``theta``, row by row.

        Parameters
        ----------
        x : array-like of shape (n, g, g), (n, m, g, g) or (g, g)
            Fields, one data set per row of ``theta`` (the leading axis may also
            have length 1 to broadcast one data set against every row). Replicates
            are independent and their log densities add.
        theta : array-like of shape (n, 1)

        Returns
        -------
        ndarray of shape (n,)
        """
        return self._log_likelihood(x, self._check_theta(theta), use_cache=True)

    def _log_likelihood(self, x, theta: np.ndarray, use_cache: bool) -> np.ndarray:
        g, n = self.grid_size, theta.shape[0]
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 2:
            x = x[None, None]
        elif x.ndim == 3:
            x = x[:, None]
        flat = x.reshape(x.shape[0], x.shape[1], g * g).transpose(0, 2, 1)
        flat = np.broadcast_to(flat, (n, *flat.shape[1:]))
        out = np.empty(n)
        for rows, chol in self._factors(theta[:, 0], use_cache):
            white = np.linalg.solve(chol, flat[rows])
            log_det = 2.0 * np.sum(np.log(np.diagonal(chol, axis1=1, axis2=2)), -1)
            per_field = log_det + g * g * np.log(2 * np.pi)
            out[rows] = -0.5 * (
                np.sum(white**2, axis=(1, 2)) + white.shape[-1] * per_field
            )
        return out

    def reference_posterior(
        self,
        x_obs: np.ndarray,
        n_samples: int,
        rng: np.random.Generator | int | None = None,
        *,
        n_grid: int = 400,
    ) -> np.ndarray:
        """Sample the posterior of the range for one observed data set.

        Parameters
        ----------
        x_obs : array-like of shape (g, g) or (m, g, g)
            One field or ``m`` replicated fields.
        n_samples : int
            Number of draws.
        rng : numpy.random.Generator, int or None
            Source of randomness.
        n_grid : int, default=400
            Points of the fine grid; the coarse grid has a quarter as many.

        Returns
        -------
        ndarray of shape (n_samples, 1)
        """
        rng = as_generator(rng)
        x_obs = np.asarray(x_obs, dtype=np.float64)
        # One data set, with a replicate axis.
        x_obs = x_obs.reshape(1, -1, self.grid_size, self.grid_size)
        coarse = np.linspace(self.range_low, self.range_high, max(n_grid // 4, 8))
        logp = self._log_lik_one(x_obs, coarse)
        keep = np.flatnonzero(logp > logp.max() - 25.0)
        step = coarse[1] - coarse[0]
        lo = max(coarse[keep[0]] - step, self.range_low)
        hi = min(coarse[keep[-1]] + step, self.range_high)
        edges = np.linspace(lo, hi, n_grid + 1)
        mids = 0.5 * (edges[1:] + edges[:-1])
        logp = self._log_lik_one(x_obs, mids)
        p = np.exp(logp - logp.max())
        cell = rng.choice(n_grid, size=n_samples, p=p / p.sum())
        draws = edges[cell] + (edges[1] - edges[0]) * rng.random(n_samples)
        return draws[:, None]

    def _log_lik_one(self, x_obs: np.ndarray, ranges: np.ndarray) -> np.ndarray:
        # Grid values are used once, so they bypass the factor cache.
        return self._log_likelihood(x_obs, ranges[:, None], use_cache=False)

    def _factors(self, ranges: np.ndarray, use_cache: bool = True):
        """Yield ``(rows, cholesky_factors)`` in batches that together cover ``ranges``.

        Each distinct range value is factorised once. At most ``chunk_size`` factors
        are held at a time, however many rows share a value.
        """
        unique, inverse = np.unique(ranges, return_inverse=True)
        order = np.argsort(inverse, kind="stable")
        group_start = np.searchsorted(inverse[order], np.arange(unique.size + 1))
        step = max(self.chunk_size, 1)
        for start in range(0, unique.size, step):
            stop = min(start + step, unique.size)
            chunk = self._chunk_factors(unique[start:stop], use_cache)
            rows = order[group_start[start] : group_start[stop]]
            local = inverse[rows] - start
            for i in range(0, rows.size, step):
                yield rows[i : i + step], chunk[local[i : i + step]]

    def _chunk_factors(self, values: np.ndarray, use_cache: bool) -> np.ndarray:
        """Cholesky factors for a few range values, through the LRU cache."""
        out = np.empty((values.size, *self._dist.shape))
        missing = []
        for k, r in enumerate(values.tolist()):
            hit = self._cache.get(r) if use_cache else None
            if hit is None:
                missing.append(k)
            else:
                self._cache.move_to_end(r)
                out[k] = hit
        if missing:
            cov = np.exp(-self._dist[None] / values[missing, None, None])
            out[missing] = np.linalg.cholesky(cov)
        if use_cache and self.cache_size > 0:
            for k in missing[-self.cache_size :]:
                self._cache[float(values[k])] = out[k]
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return out
