"""Gaussian mixture task: a broad and a sharp component with a shared mean."""

from __future__ import annotations

import numpy as np
from scipy.special import log_ndtr, logsumexp
from scipy.stats import truncnorm

from ._base import BoxUniformPrior, SimulationModel, as_generator

__all__ = ["GaussianMixture"]


class GaussianMixture(SimulationModel):
    """Gaussian mixture task of the sbibm benchmark.

    Prior ``theta ~ U(-bound, bound)^dim``; data
    ``x ~ 0.5 N(theta, I) + 0.5 N(theta, 0.01 I)``: each data set draws its own
    component, shared by all coordinates.

    Parameters
    ----------
    dim : int, default=2
        Number of parameters, equal to the data dimension.
    bound : float, default=10.0
        Half-width of the uniform prior box.

    Attributes
    ----------
    n_parameters : int
        ``dim``.
    parameter_names : tuple of str
        ``("theta_1", ..., "theta_dim")``.
    bounds : list of tuple
        ``(-bound, bound)`` per parameter.

    Notes
    -----
    The likelihood is symmetric in ``x`` and ``theta``, so under the flat prior the
    posterior is the same mixture centred at ``x`` and truncated to the box. Its
    component weights are ``0.5`` times the box mass of each component,
    renormalised. :meth:`reference_posterior` draws the component with those weights
    and then each coordinate from a truncated normal: exact, with no rejection,
    however close ``x`` lies to the edge of the box.

    The benchmark's simulator draws one component per batch of parameters; here
    each data set draws its own, as the model states.

    References
    ----------
    .. [1] Sisson, S., Fan, Y. and Tanaka, M. (2007). Sequential Monte Carlo without
       likelihoods. PNAS 104(6).
    .. [2] Lueckmann, J.-M. et al. (2021). Benchmarking simulation-based inference.
       AISTATS.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.models.gaussian_mixture import GaussianMixture
    >>> model = GaussianMixture()
    >>> theta, x = model.observations(2, np.random.default_rng(0))
    >>> model.reference_posterior(x[0], 5, np.random.default_rng(1)).shape
    (5, 2)
    """

    weights = (0.5, 0.5)
    scales = (1.0, 0.1)

    def __init__(self, dim: int = 2, bound: float = 10.0):
        if dim < 1 or bound <= 0:
            raise ValueError("need dim >= 1 and bound > 0.")
        self.dim = int(dim)
        self.bound = float(bound)
        self._prior = BoxUniformPrior([-self.bound] * self.dim, [self.bound] * self.dim)
        self.parameter_names = tuple(f"theta_{i + 1}" for i in range(self.dim))
        self.bounds = self._prior.bounds

    def __repr__(self) -> str:
        return f"GaussianMixture(dim={self.dim}, bound={self.bound})"

    def prior(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ``n`` parameter vectors, shape ``(n, dim)``."""
        return self._prior.sample(n, as_generator(rng))

    def prior_log_prob(self, theta: np.ndarray) -> np.ndarray:
        """Prior log density of each row, ``-inf`` outside the box."""
        return self._prior.log_prob(self._check_theta(theta))

    def simulator(
        self, theta: np.ndarray, rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Simulate one data vector per row of ``theta``, shape ``(n, dim)``."""
        rng = as_generator(rng)
        theta = self._check_theta(theta)
        component = rng.choice(len(self.weights), size=theta.shape[0], p=self.weights)
        scale = np.asarray(self.scales)[component]
        return theta + scale[:, None] * rng.standard_normal(theta.shape)

    def log_likelihood(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Log density of ``x`` given ``theta``, row by row, shape ``(n,)``."""
        theta = self._check_theta(theta)
        sq = np.sum((np.asarray(x, dtype=np.float64) - theta) ** 2, axis=-1)
        terms = [
            np.log(w) - 0.5 * sq / s**2 - self.dim * np.log(np.sqrt(2 * np.pi) * s)
            for w, s in zip(self.weights, self.scales, strict=True)
        ]
        return logsumexp(np.stack(terms), axis=0)

    def posterior_log_prob(self, x_obs: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Exact, normalised posterior log density of each row of ``theta``."""
        theta = self._check_theta(theta)
        x_obs = np.asarray(x_obs, dtype=np.float64).reshape(self.dim)
        log_evidence = logsumexp(np.log(self.weights) + self._log_box_mass(x_obs))
        logp = self.log_likelihood(x_obs, theta) - log_evidence
        return np.where(self._prior.contains(theta), logp, -np.inf)

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
            All inside the prior box.
        """
        rng = as_generator(rng)
        x_obs = np.asarray(x_obs, dtype=np.float64).reshape(self.dim)
        log_w = np.log(self.weights) + self._log_box_mass(x_obs)
        w = np.exp(log_w - logsumexp(log_w))
        component = rng.choice(len(w), size=n_samples, p=w)
        scale = np.asarray(self.scales)[component][:, None]
        a = (-self.bound - x_obs) / scale
        b = (self.bound - x_obs) / scale
        z = truncnorm.rvs(a, b, size=(n_samples, self.dim), random_state=rng)
        # Guard the edges against rounding in the inverse CDF far in the tails.
        return np.clip(x_obs + scale * z, -self.bound, self.bound)

    def _log_box_mass(self, x_obs: np.ndarray) -> np.ndarray:
        """Log mass inside the box of each component centred at ``x_obs``."""
        out = []
        for s in self.scales:
            hi = (self.bound - x_obs) / s
            lo = (-self.bound - x_obs) / s
            # Subtract in the tail where the CDF is not close to one, for accuracy.
            upper = np.where(lo > 0, log_ndtr(-lo), log_ndtr(hi))
            lower = np.where(lo > 0, log_ndtr(-hi), log_ndtr(lo))
            mass = np.log1p(-np.exp(np.minimum(lower - upper, 0.0))) + upper
            out.append(np.sum(mass))
        return np.asarray(out)
