"""Assessment of estimators on a held-out simulated test set.

:func:`assess` gathers every estimator's point estimates, credible intervals and
posterior moments into one tidy table, an :class:`~.assessment.Assessment`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

from .._checks import check_alpha
from .._deprecation import DEPRECATED, renamed_argument
from ._readers import (
    as_parameters,
    draw_seed,
    has_quantiles,
    intervals,
    n_datasets,
    point_estimates,
    posterior_samples,
    quantile_level_index,
    quantile_outputs,
)
from ._readers import (
    replicate_counts as replicate_counts_of,
)
from .assessment import Assessment, resolve_loss

__all__ = ["assess"]


def _estimates_of(estimator, X, theta, alpha, n_samples, seed, moments) -> dict:
    """Point estimates, interval bounds and posterior moments, each ``(n, p)``."""
    n, p = theta.shape
    samples = None
    needs_samples = moments or not (
        hasattr(estimator, "predict") and hasattr(estimator, "predict_interval")
    )
    if needs_samples and hasattr(estimator, "sample"):
        samples = posterior_samples(estimator, X, n_samples, seed, n_parameters=p)

    if hasattr(estimator, "predict"):
        estimate = point_estimates(estimator, X, p)
    elif samples is not None:
        estimate = samples.mean(axis=1)
    elif has_quantiles(estimator):
        levels, quantiles = quantile_outputs(estimator, X, p)
        median = quantile_level_index(levels, 0.5)
        if median is None:
            raise TypeError(
                f"{type(estimator).__name__} has no predict or sample and its "
                "quantile levels hold no median, so it gives no point estimate."
            )
        estimate = quantiles[:, :, median]
    else:
        raise TypeError(
            f"{type(estimator).__name__} has neither predict nor sample; "
            "it gives no point estimate."
        )

    try:
        interval = intervals(estimator, X, p, alpha, samples)
    except ValueError:
        # Quantile levels without the requested pair: point summaries still stand.
        interval = None
    if interval is None:
        interval = np.full((n, p, 2), np.nan)
    mean = sd = np.full((n, p), np.nan)
    if moments and samples is not None:
        mean, sd = samples.mean(axis=1), samples.std(axis=1, ddof=1)
    return {
        "estimate": estimate,
        "lower": interval[..., 0],
        "upper": interval[..., 1],
        "posterior_mean": mean,
        "posterior_sd": sd,
    }


def assess(
    estimators,
    X_test,
    y_test,
    *,
    loss: str | Callable = "squared",
    alpha: float = 0.05,
    n_samples: int = 500,
    parameter_names: Sequence[str] | None = None,
    replicate_counts=None,
    posterior_moments: bool = True,
    random_state=None,
    n_replicates=DEPRECATED,
) -> Assessment:
    """Point estimates, credible intervals and posterior moments on a test set.

    Parameters
    ----------
    estimators : object or dict of str to object
        One fitted estimator, or several keyed by the names under which they are
        compared side by side. Each needs ``predict`` or ``sample``; intervals come
        from ``predict_interval``, else from quantiles of ``sample`` draws, else
        from ``predict_quantiles`` levels ``alpha / 2`` and ``1 - alpha / 2``.
    X_test : array-like or list of array-like
        Test data: ``(n_datasets, n_features)``, ``(n_datasets, n_replicates,
        n_features)`` or a list of ``(n_replicates_i, n_features)`` arrays.
    y_test : array-like of shape (n_datasets, n_parameters) or (n_datasets,)
        True parameters; a DataFrame names the parameters.
    loss : {"squared", "absolute"} or callable, default="squared"
        Default loss of :meth:`Assessment.risk`.
    alpha : float, default=0.05
        Intervals are central ``1 - alpha`` credible intervals.
    n_samples : int, default=500
        Posterior draws per data set where estimates or intervals come from
        ``sample``.
    parameter_names : sequence of str, default=None
        Names of the parameters; overrides the columns of a DataFrame ``y_test``.
    replicate_counts : int or array-like of shape (n_datasets,), default=None
        Replicate count of each test data set. By default it is read from
        ``X_test``: each array's length for a list, the second axis of a 3-D array,
        none (NaN) otherwise. Pass it for layouts where the number of axes does not
        tell, such as images.
    posterior_moments : bool, default=True
        Record the mean and standard deviation of ``n_samples`` posterior draws of
        each estimator with ``sample`` (columns ``posterior_mean`` and
        ``posterior_sd``, NaN otherwise), for :meth:`Assessment.contraction` and
        :meth:`Assessment.z_scores`. False skips those draws where ``predict`` and
        ``predict_interval`` give the rest, which matters for estimators whose
        sampling is slow (MCMC).
    random_state : int, RandomState instance or None, default=None
        Seeds the posterior draws.
    n_replicates : int or array-like of shape (n_datasets,)
        Deprecated alias of ``replicate_counts``.

    Returns
    -------
    Assessment
        The tidy table ``estimates`` and its summaries.

    See Also
    --------
    coverage : Coverage at several credibility levels.
    skamortise.plotting.plot_recovery : Estimates against truths.

    Notes
    -----
    Without ``predict`` the point estimate is the mean of the posterior draws, the
    Bayes estimator under squared loss; for another loss prefer an estimator whose
    ``predict`` targets that loss (for example the median for absolute loss).

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import assess
    >>> class ExactPosterior:  # x ~ N(mu, 1), mu ~ N(0, 1): mu | x ~ N(x/2, 1/2)
    ...     def predict(self, X):
    ...         return X / 2
    ...     def sample(self, X, n_samples, random_state=None):
    ...         rng = np.random.default_rng(random_state)
    ...         z = rng.standard_normal((len(X), n_samples, 1))
    ...         return X[:, None, :] / 2 + np.sqrt(0.5) * z
    >>> rng = np.random.default_rng(0)
    >>> mu = rng.standard_normal((4000, 1))
    >>> x = mu + rng.standard_normal((4000, 1))
    >>> result = assess(ExactPosterior(), x, mu, parameter_names=["mu"],
    ...                 random_state=0)
    >>> round(float(result.risk()["risk"].iloc[0]), 1)  # Bayes risk 1/2
    0.5
    """
    alpha = check_alpha(alpha)
    resolve_loss(loss)
    if not isinstance(estimators, Mapping):
        estimators = {type(estimators).__name__: estimators}
    theta, names = as_parameters(y_test, parameter_names)
    n, p = theta.shape
    if n_datasets(X_test) != n:
        raise ValueError(
            f"X_test holds {n_datasets(X_test)} data sets but y_test holds {n}."
        )
    counts = replicate_counts_of(
        X_test,
        renamed_argument(
            "assess", "n_replicates", "replicate_counts", n_replicates, replicate_counts
        ),
    )
    rng = check_random_state(random_state)

    frames = []
    for name, estimator in estimators.items():
        result = _estimates_of(
            estimator,
            X_test,
            theta,
            alpha,
            n_samples,
            draw_seed(rng),
            posterior_moments,
        )
        frames.append(
            pd.DataFrame(
                {
                    "estimator": str(name),
                    "dataset": np.repeat(np.arange(n), p),
                    "parameter": np.tile(names, n),
                    "truth": theta.ravel(),
                    "estimate": result["estimate"].ravel(),
                    "lower": result["lower"].ravel(),
                    "upper": result["upper"].ravel(),
                    "n_replicates": np.repeat(counts, p),
                    "posterior_mean": result["posterior_mean"].ravel(),
                    "posterior_sd": result["posterior_sd"].ravel(),
                }
            )
        )
    return Assessment(pd.concat(frames, ignore_index=True), alpha=alpha, loss=loss)
