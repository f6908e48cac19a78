"""Assessment of estimators on a held-out simulated test set.

:func:`assess` gathers every estimator's point estimates and credible intervals into
one tidy table; :class:`Assessment` summarises that table (risk, bias, RMSE,
coverage, interval width and interval score) per estimator and parameter, and
optionally per replicate count.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.utils import check_random_state

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
    replicate_counts,
)

__all__ = ["Assessment", "assess"]


def _squared(truth: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    return (estimate - truth) ** 2


def _absolute(truth: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    return np.abs(estimate - truth)


LOSS_FUNCTIONS: dict[str, Callable] = {"squared": _squared, "absolute": _absolute}

_KEYS = ["estimator", "parameter"]


def _resolve_loss(loss) -> Callable:
    if callable(loss):
        return loss
    if loss in LOSS_FUNCTIONS:
        return LOSS_FUNCTIONS[loss]
    raise ValueError(
        f"loss must be one of {sorted(LOSS_FUNCTIONS)} or a callable; got {loss!r}."
    )


@dataclass
class Assessment:
    """Estimates and intervals of one or more estimators on a test set.

    Built by :func:`assess`. Every summary method returns a DataFrame with one row
    per estimator and parameter (and per replicate count with
    ``by_replicates=True``).

    Attributes
    ----------
    estimates : pandas.DataFrame
        One row per estimator, data set and parameter, with columns ``estimator``,
        ``dataset``, ``parameter``, ``truth``, ``estimate``, ``lower``, ``upper``
        (NaN where the estimator gives no interval) and ``n_replicates`` (NaN for
        unreplicated data).
    alpha : float
        The intervals are central ``1 - alpha`` credible intervals.
    loss : str or callable
        Default loss of :meth:`risk`.

    Examples
    --------
    >>> import pandas as pd
    >>> from skamortise.diagnostics import Assessment
    >>> table = pd.DataFrame({
    ...     "estimator": "est", "dataset": [0, 1], "parameter": "mu",
    ...     "truth": [0.0, 1.0], "estimate": [0.5, 1.5],
    ...     "lower": [-1.0, 0.0], "upper": [1.0, 2.0], "n_replicates": float("nan")})
    >>> Assessment(table, alpha=0.1).bias()
      estimator parameter  bias  bias_se
    0       est        mu   0.5      0.0
    """

    estimates: pd.DataFrame
    alpha: float = 0.05
    loss: str | Callable = "squared"

    def _groups(self, by_replicates: bool):
        keys = _KEYS + (["n_replicates"] if by_replicates else [])
        # Groups keep the order in which estimators and parameters were given
        # (sort=False); dropna=False keeps unreplicated data (NaN counts) as a group.
        return keys, self.estimates.groupby(keys, sort=False, dropna=False)

    def _summarise(self, by_replicates: bool, function) -> pd.DataFrame:
        keys, groups = self._groups(by_replicates)
        rows = []
        for key, group in groups:
            row = dict(zip(keys, key, strict=True))
            row.update(function(group))
            rows.append(row)
        result = pd.DataFrame(rows)
        if by_replicates:
            # Replicate counts ascend within each estimator and parameter.
            order = result.groupby(_KEYS, sort=False).ngroup()
            result = (
                result.assign(_order=order)
                .sort_values(["_order", "n_replicates"], kind="stable")
                .drop(columns="_order")
                .reset_index(drop=True)
            )
        return result

    def risk(self, loss=None, *, by_replicates: bool = False) -> pd.DataFrame:
        """Empirical Bayes risk: mean loss of the estimates.

        Parameters
        ----------
        loss : {"squared", "absolute"} or callable, default=None
            The loss; None uses the assessment's ``loss``. A callable is called as
            ``loss(truth, estimate)`` with two 1-D arrays and returns either one
            loss per entry (averaged here, with a standard error) or one number
            (such as ``sklearn.metrics.mean_absolute_error``).
        by_replicates : bool, default=False
            Also group by replicate count.

        Returns
        -------
        pandas.DataFrame
            Columns ``risk`` and ``risk_se`` (standard error of the mean loss; NaN
            when the loss returns one number).
        """
        function = _resolve_loss(self.loss if loss is None else loss)

        def summary(group):
            values = np.asarray(
                function(group["truth"].to_numpy(), group["estimate"].to_numpy()),
                dtype=np.float64,
            )
            if values.ndim == 0:
                return {"risk": float(values), "risk_se": np.nan}
            return {"risk": values.mean(), "risk_se": _standard_error(values)}

        return self._summarise(by_replicates, summary)

    def bias(self, *, by_replicates: bool = False) -> pd.DataFrame:
        """Mean of ``estimate - truth``, with its standard error ``bias_se``."""

        def summary(group):
            error = (group["estimate"] - group["truth"]).to_numpy()
            return {"bias": error.mean(), "bias_se": _standard_error(error)}

        return self._summarise(by_replicates, summary)

    def rmse(self, *, by_replicates: bool = False) -> pd.DataFrame:
        """Root mean squared error of the estimates, column ``rmse``."""

        def summary(group):
            error = (group["estimate"] - group["truth"]).to_numpy()
            return {"rmse": float(np.sqrt(np.mean(error**2)))}

        return self._summarise(by_replicates, summary)

    def coverage(self, *, by_replicates: bool = False) -> pd.DataFrame:
        """Share of truths inside their interval, against ``nominal = 1 - alpha``.

        Columns ``coverage``, ``coverage_se`` (binomial standard error under
        nominal coverage) and ``nominal``; NaN for estimators without intervals.
        """
        nominal = 1 - self.alpha

        def summary(group):
            inside = (group["lower"] <= group["truth"]) & (
                group["truth"] <= group["upper"]
            )
            has_interval = group["lower"].notna().all()
            return {
                "coverage": float(inside.mean()) if has_interval else np.nan,
                "coverage_se": float(np.sqrt(nominal * (1 - nominal) / len(group))),
                "nominal": nominal,
            }

        return self._summarise(by_replicates, summary)

    def width(self, *, by_replicates: bool = False) -> pd.DataFrame:
        """Mean interval width ``upper - lower``, column ``width``."""

        def summary(group):
            return {"width": float((group["upper"] - group["lower"]).mean())}

        return self._summarise(by_replicates, summary)

    def interval_score(self, *, by_replicates: bool = False) -> pd.DataFrame:
        """Mean interval score of Gneiting and Raftery (2007); lower is better.

        For a central ``1 - alpha`` interval ``[l, u]`` and truth ``x`` the score is
        ``(u - l) + 2 / alpha * ((l - x) 1{x < l} + (x - u) 1{x > u})``: it rewards
        narrow intervals and penalises misses in proportion to their distance, and
        it is a proper scoring rule, so it is minimised in expectation by the true
        ``alpha / 2`` and ``1 - alpha / 2`` posterior quantiles.

        References
        ----------
        .. [1] Gneiting, T. and Raftery, A. E. (2007). Strictly proper scoring rules,
           prediction, and estimation. JASA 102(477), 359-378.
        """
        alpha = self.alpha

        def summary(group):
            lower, upper = group["lower"].to_numpy(), group["upper"].to_numpy()
            truth = group["truth"].to_numpy()
            score = (
                (upper - lower)
                + 2 / alpha * np.clip(lower - truth, 0, None)
                + 2 / alpha * np.clip(truth - upper, 0, None)
            )
            return {"interval_score": float(score.mean())}

        return self._summarise(by_replicates, summary)

    def summary(self, *, by_replicates: bool = False) -> pd.DataFrame:
        """All summaries side by side, one row per estimator and parameter."""
        keys = _KEYS + (["n_replicates"] if by_replicates else [])
        tables = [
            self.risk(by_replicates=by_replicates),
            self.bias(by_replicates=by_replicates),
            self.rmse(by_replicates=by_replicates),
            self.coverage(by_replicates=by_replicates),
            self.width(by_replicates=by_replicates),
            self.interval_score(by_replicates=by_replicates),
        ]
        result = tables[0]
        for table in tables[1:]:
            result = result.merge(table, on=keys, how="left")
        return result


def _standard_error(values: np.ndarray) -> float:
    if len(values) < 2:
        return np.nan
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))


def _estimates_of(estimator, X, theta, alpha, n_samples, seed) -> dict:
    """Point estimates ``(n, p)`` and interval bounds ``(n, p)`` of one estimator."""
    n, p = theta.shape
    samples = None
    needs_samples = not hasattr(estimator, "predict") or not hasattr(
        estimator, "predict_interval"
    )
    if needs_samples and hasattr(estimator, "sample"):
        samples = posterior_samples(estimator, X, n_samples, seed)

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
    return {"estimate": estimate, "lower": interval[..., 0], "upper": interval[..., 1]}


def assess(
    estimators,
    X_test,
    y_test,
    *,
    loss: str | Callable = "squared",
    alpha: float = 0.05,
    n_samples: int = 500,
    parameter_names: Sequence[str] | None = None,
    n_replicates=None,
    random_state=None,
) -> Assessment:
    """Point estimates and credible intervals of estimators on a test set.

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
    n_replicates : int or array-like of shape (n_datasets,), default=None
        Replicate count of each test data set. By default it is read from
        ``X_test``: each array's length for a list, the second axis of a 3-D array,
        none (NaN) otherwise. Pass it for layouts where the number of axes does not
        tell, such as images.
    random_state : int, RandomState instance or None, default=None
        Seeds the posterior draws.

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
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1); got {alpha}.")
    _resolve_loss(loss)
    if not isinstance(estimators, Mapping):
        estimators = {type(estimators).__name__: estimators}
    theta, names = as_parameters(y_test, parameter_names)
    n, p = theta.shape
    if n_datasets(X_test) != n:
        raise ValueError(
            f"X_test holds {n_datasets(X_test)} data sets but y_test holds {n}."
        )
    counts = replicate_counts(X_test, n_replicates)
    rng = check_random_state(random_state)

    frames = []
    for name, estimator in estimators.items():
        result = _estimates_of(
            estimator, X_test, theta, alpha, n_samples, draw_seed(rng)
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
                }
            )
        )
    return Assessment(pd.concat(frames, ignore_index=True), alpha=alpha, loss=loss)
