"""The tidy table of an assessment and its summaries.

:class:`Assessment` holds every estimator's point estimates, credible intervals and
posterior moments on a test set (built by :func:`~skamortise.diagnostics.assess`)
and summarises them per estimator and parameter, optionally per replicate count:
risk, bias, RMSE, coverage, interval width, interval score, posterior contraction
and z-scores (as in BayesFlow's diagnostics, after Schad et al. 2021).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["LOSS_FUNCTIONS", "Assessment", "resolve_loss"]


def _squared(truth: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    return (estimate - truth) ** 2


def _absolute(truth: np.ndarray, estimate: np.ndarray) -> np.ndarray:
    return np.abs(estimate - truth)


LOSS_FUNCTIONS: dict[str, Callable] = {"squared": _squared, "absolute": _absolute}

_KEYS = ["estimator", "parameter"]


def resolve_loss(loss) -> Callable:
    """The loss function named by ``loss`` (a callable passes through)."""
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
        (NaN where the estimator gives no interval), ``n_replicates`` (NaN for
        unreplicated data), and ``posterior_mean`` and ``posterior_sd`` (moments
        of posterior draws; NaN, or absent, for estimators without ``sample``).
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

    def _summarise(self, by_replicates: bool, function, table=None) -> pd.DataFrame:
        """``function(group)`` for each group of ``table`` (the estimates)."""
        table = self.estimates if table is None else table
        keys = _KEYS + (["n_replicates"] if by_replicates else [])
        # Groups keep the order in which estimators and parameters were given
        # (sort=False); dropna=False keeps unreplicated data (NaN counts) as a group.
        groups = table.groupby(keys, sort=False, dropna=False)
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
        function = resolve_loss(self.loss if loss is None else loss)

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

    def posterior_scores(self) -> pd.DataFrame:
        """Posterior contraction and z-score of every estimate with draws.

        For data set ``i`` and parameter ``j``, the contraction is ``1 -
        posterior_sd^2 / prior variance`` and the z-score ``(posterior_mean -
        truth) / posterior_sd``. The prior variance is the variance of the true
        parameters over the test set, which is drawn from the prior. A contraction
        near 1 means the data pin the parameter down, near 0 that they teach
        little; a calibrated posterior has z-scores of mean square 1.

        Returns
        -------
        pandas.DataFrame
            The columns ``estimator``, ``dataset``, ``parameter`` and
            ``n_replicates`` of :attr:`estimates`, with ``contraction`` and
            ``z_score`` (NaN for estimators without posterior moments).
        """
        table = self.estimates
        mean = table.get("posterior_mean", pd.Series(np.nan, index=table.index))
        sd = table.get("posterior_sd", pd.Series(np.nan, index=table.index))
        prior_variance = table.groupby(_KEYS, sort=False)["truth"].transform("var")
        return table[["estimator", "dataset", "parameter", "n_replicates"]].assign(
            contraction=1 - sd**2 / prior_variance,
            z_score=(mean - table["truth"]) / sd,
        )

    def contraction(self, *, by_replicates: bool = False) -> pd.DataFrame:
        """Mean posterior contraction, column ``contraction`` (and ``_se``).

        See :meth:`posterior_scores`; NaN for estimators without ``sample``.
        """

        def summary(group):
            values = group["contraction"].to_numpy()
            return {
                "contraction": values.mean(),
                "contraction_se": _standard_error(values),
            }

        return self._summarise(by_replicates, summary, self.posterior_scores())

    def z_scores(self, *, by_replicates: bool = False) -> pd.DataFrame:
        """Posterior z-scores: ``z_mean`` and root mean square ``z_rms``.

        A calibrated posterior has ``z_mean`` near 0 (no bias relative to its own
        spread) and ``z_rms`` near 1: the posterior variance is, on average, the
        squared error of the posterior mean. ``z_rms`` above 1 means too narrow
        (overconfident) posteriors, below 1 too wide ones. See
        :meth:`posterior_scores`; NaN for estimators without ``sample``.
        """

        def summary(group):
            z = group["z_score"].to_numpy()
            return {
                "z_mean": z.mean(),
                "z_mean_se": _standard_error(z),
                "z_rms": float(np.sqrt(np.mean(z**2))),
            }

        return self._summarise(by_replicates, summary, self.posterior_scores())

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
            self.contraction(by_replicates=by_replicates),
            self.z_scores(by_replicates=by_replicates),
        ]
        result = tables[0]
        for table in tables[1:]:
            result = result.merge(table, on=keys, how="left")
        return result


def _standard_error(values: np.ndarray) -> float:
    if len(values) < 2:
        return np.nan
    return float(np.std(values, ddof=1) / np.sqrt(len(values)))
