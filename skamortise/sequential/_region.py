"""The prior truncated to a posterior's highest-probability region.

The region of a posterior ``q(theta | x_o)`` is ``{theta : log q(theta | x_o) >= t}``
with ``t`` the ``quantile`` (1e-4) quantile of ``log q`` at draws from ``q``: it holds
all but that share of the posterior mass (Deistler et al., 2022). The truncated prior
is the prior restricted to it. It is drawn by rejection from the prior; when the
region holds too little prior mass for rejection, by sampling-importance-resampling
from a Gaussian fitted to the posterior draws (widened), weighted by the prior
density, which only approximates the truncated prior and says so in a warning.
"""

from __future__ import annotations

import copy
import math
import warnings

import numpy as np
import torch

from .._runtime import thread_limit
from .._seeds import draw_seed
from ..inference.priors import prior_log_density
from ..simulation import draw_prior

__all__ = ["TruncatedPrior", "TruncationWarning", "prior_density"]

# Posterior draws behind the threshold.
N_THRESHOLD_DRAWS = 100_000
# Prior draws behind the estimate of the region's prior mass (acceptance rate).
N_ACCEPTANCE_DRAWS = 10_000
# Below this acceptance rate, rejection gives way to importance resampling.
MIN_ACCEPTANCE = 1e-3
# Candidates per draw of the importance resampling, and the widening of the
# Gaussian fitted to the posterior draws (its standard deviations are doubled).
N_CANDIDATES = 32
WIDEN = 2.0
# Prior draws per rejection pass, at most: bounds memory.
MAX_PASS = 200_000


class TruncationWarning(UserWarning):
    """The truncated region is too small for exact rejection sampling."""


def prior_density(prior):
    """The prior's log density as a numpy function, or None when it has none.

    A prior in the simulation protocol (``prior(n, rng)`` or an object with ``rvs``)
    has a density when it also has ``log_prob`` or ``logpdf``.
    """
    if not (hasattr(prior, "log_prob") or hasattr(prior, "logpdf")):
        return None
    log_fn, _ = prior_log_density(prior)

    def log_prior(theta: np.ndarray) -> np.ndarray:
        return log_fn(torch.as_tensor(theta, dtype=torch.float64)).numpy()

    return log_prior


class _PosteriorDensity:
    """``log q(theta | x_o)`` of a fitted posterior estimator, up to a constant.

    Holds a copy of the estimator: the region stays that of the round it was made
    in while the estimator trains on.
    """

    def __init__(self, estimator, x_observed, log_prior):
        self.estimator = copy.deepcopy(estimator)
        self.x_observed = x_observed
        self.log_prior = log_prior

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        est, x = self.estimator, self.x_observed
        if hasattr(est, "log_ratio"):  # posterior = prior x ratio
            values = self.log_prior(theta)
            inside = np.isfinite(values)
            if inside.any():
                values[inside] += est.log_ratio(x, theta[inside][None])[0]
            return values
        return est.log_prob(_repeat(x, len(theta)), theta)

    def sample(self, n: int, seed: int) -> np.ndarray:
        return self.estimator.sample(self.x_observed, n, random_state=seed)[0]


def _repeat(x, n: int):
    if isinstance(x, list):
        return x * n
    return np.repeat(x, n, axis=0)


class TruncatedPrior:
    """A prior restricted to the highest-probability region of a posterior.

    A prior in the simulation protocol, ``truncated(n, rng) -> (n, n_parameters)``,
    so it plugs into :func:`skamortise.simulate` and every simulator source; with a
    ``log_prob``. Build it from a fitted estimator with :meth:`from_estimator`.

    Parameters
    ----------
    prior : callable or object with ``rvs``
        The prior, ``prior(n, rng)`` or e.g. a frozen scipy distribution.
    log_density : callable
        ``log_density(theta) -> (n,)``: the posterior's log density (up to a constant)
        at ``(n, n_parameters)`` parameters.
    threshold : float
        The region is ``log_density >= threshold``.
    posterior_draws : ndarray of shape (n, n_parameters)
        Draws from the posterior; they shape the importance-resampling proposal.
    acceptance : float
        Estimated share of the prior mass inside the region.
    method : {"rejection", "importance"}
        How draws are made (``from_estimator`` chooses by ``acceptance``).

    Attributes
    ----------
    acceptance : float
        Share of prior draws that land in the region (estimated from
        10,000 prior draws).
    method : str
        ``"rejection"`` (exact) or ``"importance"`` (approximate).

    References
    ----------
    .. [1] Deistler, M., Goncalves, P. J. and Macke, J. H. (2022). Truncated proposals
       for scalable and hassle-free simulation-based inference. NeurIPS.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from skamortise.sequential import TruncatedPrior
    >>> prior = stats.uniform(-1, 2)
    >>> inner = TruncatedPrior(prior, lambda t: -np.abs(t[:, 0]), -0.5,
    ...                        np.zeros((10, 1)), 0.5)
    >>> draws = inner(1000, np.random.default_rng(0))
    >>> bool(np.abs(draws).max() <= 0.5)
    True
    """

    def __init__(
        self,
        prior,
        log_density,
        threshold,
        posterior_draws,
        acceptance,
        method="rejection",
    ):
        if method not in ("rejection", "importance"):
            raise ValueError(
                f"method must be 'rejection' or 'importance'; got {method!r}."
            )
        self.prior, self.log_density = prior, log_density
        self.threshold = float(threshold)
        self.acceptance, self.method = float(acceptance), method
        draws = np.asarray(posterior_draws, dtype=np.float64)
        self.mean = draws.mean(axis=0)
        cov = np.atleast_2d(np.cov(draws, rowvar=False))
        jitter = 1e-9 * np.trace(cov) / len(cov) + 1e-300
        self.proposal_cholesky = WIDEN * np.linalg.cholesky(
            cov + jitter * np.eye(len(cov))
        )
        self._log_prior = prior_density(prior)
        if method == "importance" and self._log_prior is None:
            raise ValueError(
                "Importance resampling of the truncated prior needs the prior's "
                "density: give the prior a log_prob or logpdf method."
            )

    @classmethod
    def from_estimator(
        cls,
        estimator,
        prior,
        X_observed,
        *,
        quantile=1e-4,
        n_samples=N_THRESHOLD_DRAWS,
        random_state=None,
    ):
        """The prior truncated to an estimator's posterior region for one data set.

        Parameters
        ----------
        estimator : NeuralPosteriorEstimator or NeuralRatioEstimator
            Fitted. A posterior estimator's region is that of ``log_prob``; a ratio
            estimator's that of ``prior x ratio`` (its posterior draws come from
            ``sample`` with its default prior, so regions of later rounds nest).
        prior : callable or object with ``rvs``
            The prior the region restricts. A ratio estimator needs its density
            (``log_prob`` or ``logpdf``).
        X_observed : array-like
            One data set, with a leading axis of length one.
        quantile : float, default=1e-4
            Posterior mass left outside the region.
        n_samples : int, default=100000
            Posterior draws behind the threshold (the 1e-4 quantile of 100,000
            draws is their tenth lowest log density).
        random_state : int, RandomState instance or None, default=None
            Seeds the posterior draws and the estimate of the acceptance rate.

        Returns
        -------
        TruncatedPrior
        """
        if not 0 < quantile < 1:
            raise ValueError(f"quantile must lie in (0, 1); got {quantile!r}.")
        log_prior = prior_density(prior)
        if hasattr(estimator, "log_ratio") and log_prior is None:
            raise ValueError(
                "A ratio estimator's posterior region needs the prior's density: "
                "give the prior a log_prob or logpdf method (e.g. a frozen scipy "
                "distribution)."
            )
        density = _PosteriorDensity(estimator, X_observed, log_prior)
        seeds = draw_seed(random_state, size=2)
        draws = density.sample(n_samples, int(seeds[0]))
        if log_prior is not None:
            # The posterior lives where the prior does: draws a posterior estimator
            # leaks outside the prior's support would lower the threshold.
            inside = np.isfinite(log_prior(draws))
            if inside.any():
                draws = draws[inside]
        values = density(draws)
        threshold = np.quantile(values[np.isfinite(values)], quantile)
        rng = np.random.default_rng(int(seeds[1]))
        theta = draw_prior(prior, N_ACCEPTANCE_DRAWS, rng)
        acceptance = float(np.mean(density(theta) >= threshold))
        method = "rejection"
        if acceptance < MIN_ACCEPTANCE:
            if log_prior is None:
                raise ValueError(
                    f"The posterior region holds less than {MIN_ACCEPTANCE:g} of the "
                    f"prior mass ({acceptance:.2g} of {N_ACCEPTANCE_DRAWS} prior draws "
                    "landed in it), too little for rejection sampling; give the prior "
                    "a log_prob or logpdf method so that it can be importance "
                    "resampled."
                )
            method = "importance"
            warnings.warn(
                f"The posterior region holds about {acceptance:.2g} of the prior mass "
                f"(below {MIN_ACCEPTANCE:g}): the truncated prior is drawn by "
                "importance resampling, which only approximates it.",
                TruncationWarning,
                stacklevel=2,
            )
        return cls(prior, density, threshold, draws, acceptance, method)

    def contains(self, theta) -> np.ndarray:
        """Whether each row of ``theta`` lies in the region (within the prior)."""
        theta = np.asarray(theta, dtype=np.float64)
        inside = self.log_density(theta) >= self.threshold
        if self._log_prior is not None:
            inside &= np.isfinite(self._log_prior(theta))
        return inside

    def log_prob(self, theta) -> np.ndarray:
        """Log density: the prior's inside the region, divided by its mass."""
        if self._log_prior is None:
            raise ValueError("The prior has no log_prob or logpdf method.")
        theta = np.asarray(theta, dtype=np.float64)
        values = self._log_prior(theta) - math.log(max(self.acceptance, 1e-300))
        return np.where(self.contains(theta), values, -np.inf)

    def __call__(self, n: int, rng) -> np.ndarray:
        # One thread: draws must not depend on the worker's thread count.
        with thread_limit(1):
            if self.method == "rejection":
                return self._rejection(n, rng)
            return self._importance(n, rng)

    def _rejection(self, n: int, rng) -> np.ndarray:
        kept, total = [], 0
        rate = max(self.acceptance, MIN_ACCEPTANCE)
        while total < n:
            size = min(MAX_PASS, math.ceil(1.2 * (n - total) / rate) + 16)
            theta = draw_prior(self.prior, size, rng)
            theta = theta[self.contains(theta)]
            kept.append(theta)
            total += len(theta)
        return np.concatenate(kept)[:n]

    def _importance(self, n: int, rng) -> np.ndarray:
        out = np.empty((n, len(self.mean)))
        pending = np.arange(n)
        for _ in range(100):
            draws, found = self._resample(len(pending), rng)
            out[pending[found]] = draws[found]
            pending = pending[~found]
            if not len(pending):
                return out
        raise RuntimeError(
            "Importance resampling found no candidate inside the truncated region."
        )

    def _resample(self, n: int, rng) -> tuple[np.ndarray, np.ndarray]:
        """One draw per row from ``N_CANDIDATES`` candidates; rows with none inside
        the region are marked False."""
        p = len(self.mean)
        z = rng.standard_normal((n, N_CANDIDATES, p))
        candidates = self.mean + z @ self.proposal_cholesky.T
        flat = candidates.reshape(-1, p)
        # Weights prior / proposal; the proposal's constant cancels.
        log_weights = self._log_prior(flat) + 0.5 * (z**2).sum(-1).ravel()
        inside = self.log_density(flat) >= self.threshold
        log_weights = np.where(inside, log_weights, -np.inf).reshape(n, N_CANDIDATES)
        found = np.isfinite(log_weights).any(axis=1)
        log_weights[~found] = 0.0
        weights = np.exp(log_weights - log_weights.max(axis=1, keepdims=True))
        weights /= weights.sum(axis=1, keepdims=True)
        u = rng.random((n, 1))
        pick = np.minimum((weights.cumsum(axis=1) < u).sum(axis=1), N_CANDIDATES - 1)
        return candidates[np.arange(n), pick], found
