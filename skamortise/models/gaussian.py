"""Gaussian data with unknown mean and standard deviation under a conjugate prior."""

from __future__ import annotations

import numpy as np
from scipy import special, stats

from .._data import as_data


class GaussianReplicates:
    """iid ``N(mu, sigma^2)`` replicates with a normal-inverse-gamma prior.

    Prior: ``sigma^2 ~ InvGamma(alpha0, beta0)``, ``mu | sigma^2 ~ N(mu0,
    sigma^2 / kappa0)``. The posterior given ``m`` replicates is normal-inverse-gamma
    with ``kappa = kappa0 + m``, ``mu_n = (kappa0 mu0 + m xbar) / kappa``,
    ``alpha = alpha0 + m / 2``, ``beta = beta0 + SS / 2 + kappa0 m (xbar - mu0)^2 /
    (2 kappa)``, so the marginal posteriors are exact: ``mu`` is Student-t with
    ``2 alpha`` degrees of freedom, location ``mu_n`` and scale
    ``sqrt(beta / (alpha kappa))``; ``sigma^2`` is ``InvGamma(alpha, beta)``.
    Parameters are ``(mu, sigma)``.

    Parameters
    ----------
    mu0, kappa0, alpha0, beta0 : float
        Prior hyperparameters (``alpha0 > 1`` keeps ``E[sigma]`` finite).
    n_replicates : int, default=10
        Replicates per data set when the simulator is called without the keyword.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.models import GaussianReplicates
    >>> model = GaussianReplicates()
    >>> rng = np.random.default_rng(0)
    >>> theta = model.prior(3, rng)
    >>> X = model.simulator(theta, rng, n_replicates=5)
    >>> X.shape, model.posterior_mean(X).shape
    ((3, 5, 1), (3, 2))
    """

    parameter_names = ("mu", "sigma")
    n_parameters = 2

    def __init__(self, mu0=0.0, kappa0=1.0, alpha0=3.0, beta0=2.0, n_replicates=10):
        self.mu0, self.kappa0, self.alpha0, self.beta0 = mu0, kappa0, alpha0, beta0
        self.n_replicates = n_replicates
        self.bounds = [(None, None), (0.0, None)]

    # -- protocol -----------------------------------------------------------------
    def prior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``(n, 2)`` parameters ``(mu, sigma)`` from the prior."""
        sigma2 = 1.0 / rng.gamma(self.alpha0, 1.0 / self.beta0, size=n)
        mu = rng.normal(self.mu0, np.sqrt(sigma2 / self.kappa0))
        return np.column_stack([mu, np.sqrt(sigma2)])

    def prior_log_prob(self, theta: np.ndarray) -> np.ndarray:
        """Log prior density of ``(mu, sigma)`` rows (with the sigma Jacobian)."""
        theta = np.atleast_2d(theta)
        mu, sigma = theta[:, 0], theta[:, 1]
        out = np.full(len(theta), -np.inf)
        ok = sigma > 0
        s2 = sigma[ok] ** 2
        out[ok] = (
            stats.invgamma.logpdf(s2, self.alpha0, scale=self.beta0)
            + np.log(2 * sigma[ok])
            + stats.norm.logpdf(mu[ok], self.mu0, np.sqrt(s2 / self.kappa0))
        )
        return out

    def simulator(
        self,
        theta: np.ndarray,
        rng: np.random.Generator,
        n_replicates: int | None = None,
    ) -> np.ndarray:
        """``(n, m, 1)`` replicates, one data set per row of ``theta``."""
        m = self.n_replicates if n_replicates is None else int(n_replicates)
        theta = np.atleast_2d(theta)
        noise = rng.standard_normal((len(theta), m, 1))
        return theta[:, None, :1] + theta[:, None, 1:2] * noise

    def log_likelihood(self, X, theta: np.ndarray) -> np.ndarray:
        """``log p(X_i | theta_i)`` for each data set (ragged lists allowed)."""
        data = as_data(X)
        theta = np.atleast_2d(theta)
        mask = np.ones(data.values.shape[:2], bool) if data.mask is None else data.mask
        z = stats.norm.logpdf(data.values[..., 0], theta[:, :1], theta[:, 1:2])
        return np.where(mask, z, 0.0).sum(axis=1)

    # -- exact posterior ----------------------------------------------------------
    def posterior_params(self, X) -> dict:
        """Normal-inverse-gamma posterior hyperparameters for each data set."""
        data = as_data(X)
        x = data.values[..., 0]
        mask = np.ones(x.shape, bool) if data.mask is None else data.mask
        m = mask.sum(axis=1)
        xbar = np.where(mask, x, 0).sum(axis=1) / m
        ss = np.where(mask, (x - xbar[:, None]) ** 2, 0).sum(axis=1)
        kappa = self.kappa0 + m
        return {
            "mu": (self.kappa0 * self.mu0 + m * xbar) / kappa,
            "kappa": kappa,
            "alpha": self.alpha0 + m / 2,
            "beta": self.beta0
            + ss / 2
            + self.kappa0 * m * (xbar - self.mu0) ** 2 / (2 * kappa),
        }

    def _marginals(self, X):
        q = self.posterior_params(X)
        mu = stats.t(
            df=2 * q["alpha"],
            loc=q["mu"],
            scale=np.sqrt(q["beta"] / (q["alpha"] * q["kappa"])),
        )
        return q, mu

    def posterior_mean(self, X) -> np.ndarray:
        """Exact ``E[(mu, sigma) | X]``: the Bayes estimator under squared error."""
        q = self.posterior_params(X)
        e_sigma = np.sqrt(q["beta"]) * np.exp(
            special.gammaln(q["alpha"] - 0.5) - special.gammaln(q["alpha"])
        )
        return np.column_stack([q["mu"], e_sigma])

    def posterior_quantile(self, X, levels) -> np.ndarray:
        """Exact marginal posterior quantiles, shape ``(n, 2, len(levels))``."""
        levels = np.atleast_1d(levels)
        q, mu = self._marginals(X)
        mu_q = mu.ppf(levels[:, None]).T
        # sigma = sqrt(sigma^2) is monotone, so its quantiles are those of sigma^2.
        s2_q = stats.invgamma.ppf(levels[:, None], q["alpha"], scale=q["beta"]).T
        return np.stack([mu_q, np.sqrt(s2_q)], axis=1)

    def posterior_median(self, X) -> np.ndarray:
        """Exact marginal posterior medians (Bayes estimator under absolute error)."""
        return self.posterior_quantile(X, [0.5])[..., 0]

    def posterior_sample(
        self, X, n_samples: int, rng: np.random.Generator
    ) -> np.ndarray:
        """Exact joint posterior draws, shape ``(n, n_samples, 2)``."""
        q = self.posterior_params(X)
        n = len(q["mu"])
        sigma2 = 1.0 / rng.gamma(
            q["alpha"][:, None], 1.0 / q["beta"][:, None], size=(n, n_samples)
        )
        mu = rng.normal(q["mu"][:, None], np.sqrt(sigma2 / q["kappa"][:, None]))
        return np.stack([mu, np.sqrt(sigma2)], axis=-1)
