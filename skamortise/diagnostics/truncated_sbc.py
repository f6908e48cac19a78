"""Simulation-based calibration of a posterior focused on one observed data set.

A sequentially fitted posterior is trained for data near ``X_observed``, so plain SBC
(parameters from the whole prior) tests it where it was never meant to hold. The
truncated version draws the parameters from the prior restricted to the posterior's
highest-probability region for ``X_observed`` (:class:`~skamortise.sequential.
TruncatedPrior`), simulates one data set from each, and ranks each true parameter
among posterior draws given its data set. For a calibrated focused posterior these
ranks are uniform: inside the region the truncated prior is the prior up to a
constant, so the posterior under it is the posterior under the prior restricted to
the region (Deistler et al., 2022).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

from sklearn.utils import check_random_state

from .._deprecation import DEPRECATED, renamed_argument
from ..sequential import FocusWarning, TruncatedPrior
from ._readers import draw_seed
from .sbc import sbc
from .sbc_result import SBCResult

__all__ = ["truncated_sbc"]


def truncated_sbc(
    estimator,
    prior,
    simulator,
    X_observed=None,
    n_simulations: int = 1000,
    n_posterior_samples: int = 100,
    *,
    quantile: float = 1e-4,
    simulator_kwargs: dict | None = None,
    parameter_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    random_state=None,
    n_sims=DEPRECATED,
) -> SBCResult:
    """SBC with parameters from the prior truncated to the posterior's region.

    Parameters
    ----------
    estimator : object
        A fitted posterior estimator (``sample`` and ``log_prob``, e.g. from
        ``NeuralPosteriorEstimator.fit_sequential``), or a ratio estimator.
    prior : callable or object with ``rvs``
        The prior of the fit, ``prior(n, rng)`` or a frozen scipy distribution.
    simulator : callable
        ``simulator(theta, rng, **simulator_kwargs)``.
    X_observed : array-like, default=None
        The observed data set; None uses the estimator's ``focus_``.
    n_simulations : int, default=1000
        Simulations from the truncated prior.
    n_posterior_samples : int, default=100
        Posterior draws per simulation.
    quantile : float, default=1e-4
        Posterior mass outside the region.
    simulator_kwargs : dict, default=None
        Further keywords for the simulator.
    parameter_names : sequence of str, default=None
        Names of the parameters.
    batch_size : int, default=None
        Data sets sampled at once (all by default).
    random_state : int, RandomState instance or None, default=None
        Seeds the region, the simulations and the posterior draws.
    n_sims : int
        Deprecated alias of ``n_simulations``.

    Returns
    -------
    SBCResult
        Its ``uniformity_test`` tests the ranks.

    See Also
    --------
    sbc : Calibration over the whole prior, for amortised estimators.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import truncated_sbc
    >>> def prior(n, rng):
    ...     return rng.standard_normal((n, 1))
    >>> def simulator(theta, rng):
    ...     return theta + rng.standard_normal(theta.shape)
    >>> class ExactPosterior:  # theta | x ~ N(x/2, 1/2)
    ...     def sample(self, X, n_samples, random_state=None):
    ...         rng = np.random.default_rng(random_state)
    ...         z = rng.standard_normal((len(X), n_samples, 1))
    ...         return np.asarray(X)[:, None, :] / 2 + np.sqrt(0.5) * z
    ...     def log_prob(self, X, theta):
    ...         return -((theta - np.asarray(X) / 2) ** 2).sum(axis=1)
    >>> result = truncated_sbc(ExactPosterior(), prior, simulator, [[2.0]],
    ...                        n_simulations=300, random_state=0)
    >>> result.ranks.shape
    (300, 1)
    """
    if X_observed is None:
        X_observed = getattr(estimator, "focus_", None)
        if X_observed is None:
            raise ValueError(
                "X_observed is None and the estimator has no focus_ (it was not "
                "fitted with fit_sequential); pass the observed data set."
            )
    n_simulations = renamed_argument(
        "truncated_sbc", "n_sims", "n_simulations", n_sims, n_simulations
    )
    rng = check_random_state(random_state)
    truncated = TruncatedPrior.from_estimator(
        estimator,
        prior,
        X_observed,
        quantile=quantile,
        random_state=draw_seed(rng),
    )
    with warnings.catch_warnings():
        # The simulated data sets lie near the focus by design.
        warnings.simplefilter("ignore", FocusWarning)
        return sbc(
            estimator,
            truncated,
            simulator,
            n_simulations,
            n_posterior_samples,
            simulator_kwargs=simulator_kwargs,
            parameter_names=parameter_names,
            batch_size=batch_size,
            random_state=rng,
        )
