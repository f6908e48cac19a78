"""Gaussian linear task: a conjugate model with an exact Gaussian posterior."""

from __future__ import annotations

import numpy as np

from ._base import SimulationModel, as_generator

__all__ = ["GaussianLinear"]


class GaussianLinear(SimulationModel):
    """Gaussian linear task of the sbibm benchmark.

    Prior ``theta ~ N(0, prior_var * I)`` and simulator ``x | theta ~ N(theta,
    noise_var * I)`` in ``dim`` dimensions. The posterior is Gaussian with
    precision ``1 / prior_var + 1 / noise_var`` per coordinate.

    Parameters
    ----------
    dim : int, default=10
        Number of parameters, equal to the data dimension.
    prior_var : float, default=0.1
        Prior variance of every coordinate.
    noise_var : float, default=0.1
        Variance of the observation noise.

    Attributes
    ----------
    n_parameters : int
        ``dim``.
    parameter_names : tuple of str
        ``("theta_1", ..., "theta_dim")``.
    bounds : list of tuple
        ``(None, None)`` per parameter: the prior has unbounded support.

    Notes
    -----
    With the default settings the posterior for one observation ``x`` is
    ``N(x / 2, 0.05 I)``. The benchmark's published definition (Lueckmann et al.,
    2021) writes ``0.1`` for the covariance, not the standard deviation, and so do we.

    References
    ----------
    .. [1] Lueckmann, J.-M., Boelts, J., Greenberg, D., Goncalves, P. and Macke, J.
       (2021). Benchmarking simulation-based inference. AISTATS.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.models.gaussian_linear import GaussianLinear
    >>> model = GaussianLinear(dim=3)
    >>> rng = np.random.default_rng(0)
    >>> theta = model.prior(5, rng)
    >>> model.simulator(theta, rng).shape
    (5, 3)
    """

    def __init__(self, dim: int = 10, prior_var: float = 0.1, noise_var: float = 0.1):
        if dim < 1 or prior_var <= 0 or noise_var <= 0:
            raise ValueError("need dim >= 1 and positive variances.")
        self.dim = int(dim)
        self.prior_var = float(prior_var)
        self.noise_var = float(noise_var)
        self.parameter_names = tuple(f"theta_{i + 1}" for i in range(self.dim))
        self.bounds = [(None, None)] * self.dim

    def __repr__(self) -> str:
        return (
            f"GaussianLinear(dim={self.dim}, prior_var={self.prior_var}, "
            f"noise_var={self.noise_var})"
        )

    def prior(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ``n`` parameter vectors, shape ``(n, dim)``."""
        rng = as_generator(rng)
        return np.sqrt(self.prior_var) * rng.standard_normal((n, self.dim))

    def prior_log_prob(self, theta: np.ndarray) -> np.ndarray:
        """Prior log density of each row of ``theta``, shape ``(n,)``."""
        theta = self._check_theta(theta)
        return _isotropic_normal_logpdf(theta, 0.0, self.prior_var)

    def simulator(
        self, theta: np.ndarray, rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Simulate one data vector per row of ``theta``, shape ``(n, dim)``."""
        rng = as_generator(rng)
        theta = self._check_theta(theta)
        return theta + np.sqrt(self.noise_var) * rng.standard_normal(theta.shape)

    def log_likelihood(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Log density of ``x`` given ``theta``, row by row.

        Parameters
        ----------
        x : array-like of shape (n, dim) or (dim,)
            Data; a single vector is broadcast against every row of ``theta``.
        theta : array-like of shape (n, dim) or (dim,)
            Parameters.

        Returns
        -------
        ndarray of shape (n,)
        """
        theta = self._check_theta(theta)
        x = np.asarray(x, dtype=np.float64)
        return _isotropic_normal_logpdf(x, theta, self.noise_var)

    def posterior_params(self, x_obs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and covariance of the exact posterior for one observation.

        Parameters
        ----------
        x_obs : array-like of shape (dim,)
            The observed data vector.

        Returns
        -------
        mean : ndarray of shape (dim,)
        cov : ndarray of shape (dim, dim)
        """
        x_obs = np.asarray(x_obs, dtype=np.float64).reshape(self.dim)
        post_var = 1.0 / (1.0 / self.prior_var + 1.0 / self.noise_var)
        mean = post_var * x_obs / self.noise_var
        return mean, post_var * np.eye(self.dim)

    def posterior_log_prob(self, x_obs: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Exact posterior log density of each row of ``theta`` given ``x_obs``."""
        theta = self._check_theta(theta)
        mean, cov = self.posterior_params(x_obs)
        return _isotropic_normal_logpdf(theta, mean, cov[0, 0])

    def reference_posterior(
        self,
        x_obs: np.ndarray,
        n_samples: int,
        rng: np.random.Generator | int | None = None,
    ) -> np.ndarray:
        """Draw exact posterior samples for one observation.

        Parameters
        ----------
        x_obs : array-like of shape (dim,)
            The observed data vector.
        n_samples : int
            Number of draws.
        rng : numpy.random.Generator, int or None
            Source of randomness.

        Returns
        -------
        ndarray of shape (n_samples, dim)
        """
        rng = as_generator(rng)
        mean, cov = self.posterior_params(x_obs)
        return mean + np.sqrt(cov[0, 0]) * rng.standard_normal((n_samples, self.dim))


def _isotropic_normal_logpdf(x, mean, var: float) -> np.ndarray:
    dim = np.shape(x)[-1]
    sq = np.sum((x - mean) ** 2, axis=-1)
    return -0.5 * (sq / var + dim * np.log(2.0 * np.pi * var))
