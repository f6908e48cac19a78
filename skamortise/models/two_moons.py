"""Two moons task: a bimodal, crescent-shaped posterior with an exact sampler."""

from __future__ import annotations

import numpy as np

from ._base import BoxUniformPrior, SimulationModel, as_generator

__all__ = ["TwoMoons"]

_SQRT2 = np.sqrt(2.0)


class TwoMoons(SimulationModel):
    """Two moons task of the sbibm benchmark.

    Prior ``theta ~ U(-1, 1)^2``. The simulator draws an angle ``a ~ U(-pi/2,
    pi/2)`` and a radius ``r ~ N(0.1, 0.01^2)``, forms the point
    ``p = (r cos a + 0.25, r sin a)`` on a half ring and returns

    ``x = p + (-|theta_1 + theta_2| / sqrt(2), (theta_2 - theta_1) / sqrt(2))``.

    The absolute value makes the posterior two crescents, mirror images of each
    other across the line ``theta_1 + theta_2 = 0``.

    Attributes
    ----------
    n_parameters : int
        2.
    parameter_names : tuple of str
        ``("theta_1", "theta_2")``.
    bounds : list of tuple
        ``[(-1.0, 1.0), (-1.0, 1.0)]``.

    Notes
    -----
    The likelihood is available in closed form. With ``u = x - g(theta)`` where
    ``g`` is the shift above, ``u - (0.25, 0)`` is the half-ring point in Cartesian
    coordinates, so ``p(x | theta) = N(r; 0.1, 0.01^2) / (pi r)`` with
    ``r = |u - (0.25, 0)|`` when ``u_1 > 0.25`` and zero otherwise (``1 / r`` is the
    polar Jacobian). The negligible mass of ``r < 0`` (about ``1e-23``) is ignored.

    :meth:`reference_posterior` inverts the simulator: for a draw of ``(a, r)`` the
    shift ``g(theta) = x - p`` fixes ``theta`` up to the sign of ``theta_1 +
    theta_2``, which is chosen with probability one half. The map from ``p`` to
    ``theta`` has unit Jacobian, so a draw is exactly a posterior draw once those
    outside the prior box, or with ``p_1 < x_1`` (no ``theta`` reaches ``x`` from such
    a ``p``), are rejected. The benchmark's own sampler omits the second check.

    References
    ----------
    .. [1] Greenberg, D., Nonnenmacher, M. and Macke, J. (2019). Automatic posterior
       transformation for likelihood-free inference. ICML.
    .. [2] Lueckmann, J.-M. et al. (2021). Benchmarking simulation-based inference.
       AISTATS.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.models.two_moons import TwoMoons
    >>> model = TwoMoons()
    >>> rng = np.random.default_rng(0)
    >>> theta, x = model.observations(4, rng)
    >>> x.shape
    (4, 2)
    >>> model.reference_posterior(x[0], 100, rng).shape
    (100, 2)
    """

    a_low = -np.pi / 2.0
    a_high = np.pi / 2.0
    r_loc = 0.1
    r_scale = 0.01
    base_offset = 0.25

    def __init__(self):
        self._prior = BoxUniformPrior([-1.0, -1.0], [1.0, 1.0])
        self.parameter_names = ("theta_1", "theta_2")
        self.bounds = self._prior.bounds

    def prior(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ``n`` parameter vectors, shape ``(n, 2)``."""
        return self._prior.sample(n, as_generator(rng))

    def prior_log_prob(self, theta: np.ndarray) -> np.ndarray:
        """Prior log density of each row, ``-inf`` outside the box."""
        return self._prior.log_prob(self._check_theta(theta))

    def simulator(
        self, theta: np.ndarray, rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Simulate one data point per row of ``theta``, shape ``(n, 2)``."""
        rng = as_generator(rng)
        theta = self._check_theta(theta)
        a, r = self._draw_latent(theta.shape[0], rng)
        return self.forward(theta, a, r)

    def forward(self, theta: np.ndarray, a: np.ndarray, r: np.ndarray) -> np.ndarray:
        """Deterministic part of the simulator: data from parameters and latents.

        Parameters
        ----------
        theta : array-like of shape (n, 2)
            Parameters.
        a, r : array-like of shape (n,)
            Angle and radius of the half-ring point.

        Returns
        -------
        ndarray of shape (n, 2)
        """
        theta = self._check_theta(theta)
        p = np.stack([r * np.cos(a) + self.base_offset, r * np.sin(a)], axis=-1)
        return p + self._shift(theta)

    def log_likelihood(self, x: np.ndarray, theta: np.ndarray) -> np.ndarray:
        """Exact log density of ``x`` given ``theta``, row by row.

        Parameters
        ----------
        x : array-like of shape (n, 2) or (2,)
            Data; a single point is broadcast against every row of ``theta``.
        theta : array-like of shape (n, 2)
            Parameters.

        Returns
        -------
        ndarray of shape (n,)
            ``-inf`` where no half-ring point reaches ``x``.
        """
        theta = self._check_theta(theta)
        u = np.asarray(x, dtype=np.float64) - self._shift(theta)
        u0 = u[..., 0] - self.base_offset
        r = np.hypot(u0, u[..., 1])
        z = (r - self.r_loc) / self.r_scale
        with np.errstate(divide="ignore"):
            logp = (
                -0.5 * z**2
                - np.log(np.sqrt(2.0 * np.pi) * self.r_scale)
                - np.log(np.pi * r)
            )
        return np.where(u0 > 0.0, logp, -np.inf)

    def reference_posterior(
        self,
        x_obs: np.ndarray,
        n_samples: int,
        rng: np.random.Generator | int | None = None,
        *,
        return_latent: bool = False,
        max_draws: int = 100_000_000,
    ):
        """Draw exact posterior samples for one observation by inverting the model.

        Parameters
        ----------
        x_obs : array-like of shape (2,)
            The observed data point.
        n_samples : int
            Number of posterior draws.
        rng : numpy.random.Generator, int or None
            Source of randomness.
        return_latent : bool, default=False
            Also return the angle and radius that, with each draw, reproduce
            ``x_obs`` through :meth:`forward`.
        max_draws : int, default=100_000_000
            Give up (``RuntimeError``) after this many proposals; it only triggers
            for an ``x_obs`` that the model can hardly produce.

        Returns
        -------
        theta : ndarray of shape (n_samples, 2)
        a, r : ndarray of shape (n_samples,)
            Only when ``return_latent`` is True.
        """
        rng = as_generator(rng)
        x_obs = np.asarray(x_obs, dtype=np.float64).reshape(2)
        kept_theta, kept_a, kept_r = [], [], []
        n_kept = n_drawn = 0
        batch = max(4 * n_samples, 10_000)
        while n_kept < n_samples:
            if n_drawn >= max_draws:
                raise RuntimeError(
                    f"accepted {n_kept} of {n_drawn} proposals; x_obs={x_obs} is "
                    "(nearly) outside the support of the prior predictive."
                )
            a, r = self._draw_latent(batch, rng)
            n_drawn += batch
            p0 = r * np.cos(a) + self.base_offset
            p1 = r * np.sin(a)
            sign = np.where(rng.random(batch) < 0.5, -1.0, 1.0)
            z0 = sign * (p0 - x_obs[0])  # theta_1 + theta_2, over sqrt(2)
            z1 = x_obs[1] - p1  # theta_2 - theta_1, over sqrt(2)
            theta = np.stack([(z0 - z1) / _SQRT2, (z0 + z1) / _SQRT2], axis=-1)
            ok = (p0 > x_obs[0]) & self._prior.contains(theta)
            kept_theta.append(theta[ok])
            kept_a.append(a[ok])
            kept_r.append(r[ok])
            n_kept += int(ok.sum())
        theta = np.concatenate(kept_theta)[:n_samples]
        if not return_latent:
            return theta
        a = np.concatenate(kept_a)[:n_samples]
        return theta, a, np.concatenate(kept_r)[:n_samples]

    def _draw_latent(self, n: int, rng: np.random.Generator):
        a = rng.uniform(self.a_low, self.a_high, size=n)
        r = rng.normal(self.r_loc, self.r_scale, size=n)
        return a, r

    @staticmethod
    def _shift(theta: np.ndarray) -> np.ndarray:
        z0 = (theta[..., 0] + theta[..., 1]) / _SQRT2
        z1 = (theta[..., 1] - theta[..., 0]) / _SQRT2
        return np.stack([-np.abs(z0), z1], axis=-1)
