"""Simulation-based calibration (SBC) of amortised posteriors.

If ``theta ~ prior``, ``X ~ simulator(theta)`` and ``theta_1..theta_L`` are drawn
from a calibrated posterior given ``X``, the rank of ``theta`` among the draws is
uniform on ``{0, ..., L}`` (Talts et al., 2018). A U-shaped rank histogram means
the posterior is too narrow (overconfident), a hump means it is too wide
(underconfident), a slope means it is biased.

For estimators that output marginal quantiles instead of draws, the analogue is that
``P(q_tau(X) > theta) = tau`` at every level ``tau``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.utils import check_random_state

from .._deprecation import DEPRECATED, renamed_argument
from ..simulation import simulate
from ._readers import (
    as_parameters,
    draw_seed,
    has_quantiles,
    n_datasets,
    posterior_samples,
    quantile_outputs,
)
from .sbc_result import SBCResult

__all__ = ["sbc", "sbc_ranks"]


def sbc_ranks(
    estimator,
    X,
    y,
    n_posterior_samples: int = 100,
    *,
    parameter_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    random_state=None,
) -> SBCResult:
    """Simulation-based calibration on precomputed pairs ``(X, y)``.

    ``y`` must be drawn from the prior the estimator was trained for and ``X`` from
    the simulator given ``y``; a held-out test set from training qualifies.

    Parameters
    ----------
    estimator : object
        Fitted estimator with ``sample(X, n_samples, random_state=None)``, or a
        quantile estimator with ``predict_quantiles(X)`` and ``quantiles_``.
    X : array-like or list of array-like
        Simulated data, one data set per row of ``y``.
    y : array-like of shape (n_datasets, n_parameters) or (n_datasets,)
        The parameters that generated ``X``; a DataFrame names them.
    n_posterior_samples : int, default=100
        ``L``, posterior draws per data set; ranks lie in ``{0, ..., L}``.
    parameter_names : sequence of str, default=None
        Names of the parameters; overrides the columns of a DataFrame ``y``.
    batch_size : int, default=None
        Data sets sampled at once (all by default); bounds memory.
    random_state : int, RandomState instance or None, default=None
        Seeds the posterior draws, the tie breaking and the rank jitter.

    Returns
    -------
    SBCResult

    See Also
    --------
    sbc : Simulates the pairs, then calls this function.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import sbc_ranks
    >>> class ExactPosterior:  # x ~ N(mu, 1), mu ~ N(0, 1): mu | x ~ N(x/2, 1/2)
    ...     def sample(self, X, n_samples, random_state=None):
    ...         rng = np.random.default_rng(random_state)
    ...         z = rng.standard_normal((len(X), n_samples, 1))
    ...         return X[:, None, :] / 2 + np.sqrt(0.5) * z
    >>> rng = np.random.default_rng(0)
    >>> mu = rng.standard_normal((1000, 1))
    >>> x = mu + rng.standard_normal((1000, 1))
    >>> result = sbc_ranks(ExactPosterior(), x, mu, random_state=0)
    >>> result.ranks.shape
    (1000, 1)
    >>> bool(result.uniformity_test()["ks_pvalue"].iloc[0] > 0.01)
    True
    """
    theta, names = as_parameters(y, parameter_names)
    n, p = theta.shape
    if n_datasets(X) != n:
        raise ValueError(f"X holds {n_datasets(X)} data sets but y holds {n}.")
    rng = check_random_state(random_state)
    sample_seed = draw_seed(rng)
    generator = np.random.default_rng(draw_seed(rng))

    if not hasattr(estimator, "sample") and has_quantiles(estimator):
        levels, quantiles = quantile_outputs(estimator, X, p)
        return SBCResult(
            ranks=None,
            n_posterior_samples=None,
            parameter_names=names,
            quantile_levels=levels,
            exceedances=quantiles > theta[:, :, None],
            jitter=generator.random((n, p)),
        )
    if not hasattr(estimator, "sample"):
        raise TypeError(
            f"{type(estimator).__name__} has neither sample nor predict_quantiles "
            "with quantiles_; SBC needs posterior draws or quantiles."
        )

    draws = posterior_samples(
        estimator, X, n_posterior_samples, sample_seed, batch_size, n_parameters=p
    )
    truth = theta[:, None, :]
    below = (draws < truth).sum(axis=1)
    ties = (draws == truth).sum(axis=1)
    # A truth equal to some draws could take any rank among them; picking one
    # uniformly keeps the ranks uniform for discrete posteriors too.
    ranks = below + generator.integers(0, ties + 1)
    return SBCResult(
        ranks=ranks.astype(np.int64),
        n_posterior_samples=int(n_posterior_samples),
        parameter_names=names,
        jitter=generator.random((n, p)),
    )


def sbc(
    estimator,
    prior,
    simulator,
    n_simulations: int = 1000,
    n_posterior_samples: int = 100,
    *,
    n_replicates: int | Sequence[int] | None = None,
    simulator_kwargs: dict | None = None,
    parameter_names: Sequence[str] | None = None,
    batch_size: int | None = None,
    random_state=None,
    n_sims=DEPRECATED,
) -> SBCResult:
    """Simulation-based calibration: simulate from the prior, then rank the truths.

    Draws ``n_simulations`` parameters from ``prior`` and one data set for each from
    ``simulator`` (with :func:`skamortise.simulate`, the path of training data), and
    ranks each true parameter among ``n_posterior_samples``
    posterior draws (see :func:`sbc_ranks`).

    Parameters
    ----------
    estimator : object
        Fitted estimator with ``sample``, or a quantile estimator with
        ``predict_quantiles`` and ``quantiles_``.
    prior : callable or object with ``rvs``
        ``prior(n, rng) -> (n, n_parameters)`` with ``rng`` a
        :class:`numpy.random.Generator`, or an object with
        ``rvs(size=..., random_state=...)`` such as a frozen ``scipy.stats``
        distribution.
    simulator : callable
        ``simulator(theta, rng, **simulator_kwargs)`` returning one data set per row
        of ``theta`` (2-D, 3-D replicated, or a list for ragged data).
    n_simulations : int, default=1000
        Number of simulations.
    n_posterior_samples : int, default=100
        ``L``, posterior draws per simulation.
    n_replicates : int or sequence of int, default=None
        Replicate count passed to the simulator as the keyword ``n_replicates``; a
        sequence draws one count per simulation from it (ragged data), to check
        calibration across sample sizes. See :func:`skamortise.simulate`.
    simulator_kwargs : dict, default=None
        Further keyword arguments of the simulator.
    parameter_names : sequence of str, default=None
        Names of the parameters.
    batch_size : int, default=None
        Data sets sampled at once (all by default).
    random_state : int, RandomState instance or None, default=None
        Seeds the simulations and the posterior draws.
    n_sims : int
        Deprecated alias of ``n_simulations``.

    Returns
    -------
    SBCResult

    See Also
    --------
    sbc_ranks : The same check on precomputed pairs.
    skamortise.plotting.plot_sbc_ranks, skamortise.plotting.plot_sbc_ecdf

    References
    ----------
    .. [1] Talts, S., Betancourt, M., Simpson, D., Vehtari, A. and Gelman, A.
       (2018). Validating Bayesian inference algorithms with simulation-based
       calibration. arXiv:1804.06788.
    .. [2] Saeilynoja, T., Buerkner, P.-C. and Vehtari, A. (2022). Graphical test
       for discrete uniformity and its applications in goodness-of-fit evaluation
       and multiple sample comparison. Statistics and Computing 32, 32.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import sbc
    >>> def prior(n, rng):
    ...     return rng.standard_normal((n, 1))
    >>> def simulator(theta, rng):
    ...     return theta + rng.standard_normal(theta.shape)
    >>> class ExactPosterior:  # mu | x ~ N(x/2, 1/2)
    ...     def sample(self, X, n_samples, random_state=None):
    ...         rng = np.random.default_rng(random_state)
    ...         z = rng.standard_normal((len(X), n_samples, 1))
    ...         return X[:, None, :] / 2 + np.sqrt(0.5) * z
    >>> result = sbc(ExactPosterior(), prior, simulator, n_simulations=500,
    ...              random_state=0)
    >>> result.ranks.shape
    (500, 1)
    """
    n_simulations = renamed_argument(
        "sbc", "n_sims", "n_simulations", n_sims, n_simulations
    )
    rng = check_random_state(random_state)
    X, y = simulate(
        prior,
        simulator,
        n_simulations,
        n_replicates=n_replicates,
        simulator_kwargs=simulator_kwargs,
        random_state=draw_seed(rng),
    )
    return sbc_ranks(
        estimator,
        X,
        y,
        n_posterior_samples,
        parameter_names=parameter_names,
        batch_size=batch_size,
        random_state=rng,
    )
