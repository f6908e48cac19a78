"""The result of a bootstrap: samples, standard errors and confidence intervals.

Interval kinds map names to functions in one registry, ``INTERVAL_KINDS``; each takes
the samples ``(n, B, p)``, the estimates ``(n, p)``, ``alpha`` and the estimator's
Jacobian (or None) and returns ``(n, p, 2)`` bounds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ._checks import check_alpha

__all__ = ["BootstrapResult", "INTERVAL_KINDS"]


def _quantiles_at(sorted_samples: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Linear-interpolation quantiles of ``(n, B, p)`` sorted samples at ``(n, p)``
    levels (numpy's default rule, with a level per data set and parameter)."""
    n_boot = sorted_samples.shape[1]
    position = np.clip(levels, 0.0, 1.0) * (n_boot - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, n_boot - 1)
    low = np.take_along_axis(sorted_samples, below[:, None, :], axis=1)[:, 0]
    high = np.take_along_axis(sorted_samples, above[:, None, :], axis=1)[:, 0]
    return low + (position - below) * (high - low)


def _percentile(samples, estimate, alpha, jacobian=None):
    levels = [alpha / 2, 1 - alpha / 2]
    return np.moveaxis(np.quantile(samples, levels, axis=1), 0, -1)


def _basic(samples, estimate, alpha, jacobian=None):
    # Reflect the percentile interval about the estimate: the bootstrap spread of
    # theta* - theta_hat stands in for that of theta_hat - theta.
    q = _percentile(samples, estimate, alpha)
    return np.stack([2 * estimate - q[..., 1], 2 * estimate - q[..., 0]], axis=-1)


def _bias_corrected(samples, estimate, alpha, jacobian=None):
    # Efron's bias-corrected percentile interval: shift the percentile levels by the
    # median bias z0 = Phi^-1(share of draws below the estimate).
    n_boot = samples.shape[1]
    below = (samples < estimate[:, None, :]).mean(axis=1)
    below += 0.5 * (samples == estimate[:, None, :]).mean(axis=1)
    z0 = stats.norm.ppf(np.clip(below, 0.5 / n_boot, 1 - 0.5 / n_boot))
    z = stats.norm.ppf([alpha / 2, 1 - alpha / 2])
    ordered = np.sort(samples, axis=1)
    bounds = [_quantiles_at(ordered, stats.norm.cdf(2 * z0 + zq)) for zq in z]
    return np.stack(bounds, axis=-1)


def _rescaled(samples, estimate, alpha, jacobian):
    # The estimator's mean g(theta) = E_theta[theta_hat] is linearised at the
    # estimate, g(theta) ~ g(theta_hat) + J (theta - theta_hat). The basic interval
    # holds g(theta); mapping each reflected draw back through J^-1 undoes both the
    # bias and the shrunken spread of a shrinkage estimator.
    if jacobian is None:
        raise ValueError(
            "kind='rescaled' needs the estimator's Jacobian: run bootstrap(..., "
            "method='parametric', jacobian=True)."
        )
    deviation = estimate[:, None, :] - samples
    inverse = np.linalg.pinv(jacobian)
    corrected = estimate[:, None, :] + np.einsum("nij,nbj->nbi", inverse, deviation)
    return _percentile(corrected, estimate, alpha)


INTERVAL_KINDS = {
    "percentile": _percentile,
    "basic": _basic,
    "bc": _bias_corrected,
    "rescaled": _rescaled,
}


@dataclass(repr=False)
class BootstrapResult:
    """Bootstrap re-estimates of one or more observed data sets.

    Built by :func:`bootstrap`.

    Attributes
    ----------
    samples : ndarray of shape (n_datasets, n_boot, n_parameters)
        The estimator's output on each bootstrap data set.
    estimate : ndarray of shape (n_datasets, n_parameters)
        The estimate on each observed data set.
    parameter_names : list of str
        One name per parameter.
    method : {"parametric", "nonparametric"}
        How the bootstrap data sets were made.
    block_length : int or None
        Block length of a nonparametric block bootstrap, else None.
    jacobian : ndarray of shape (n_datasets, n_parameters, n_parameters) or None
        ``d E[theta_hat] / d theta`` at each estimate (rows: estimates, columns:
        parameters), from ``bootstrap(..., jacobian=True)``; else None.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.bootstrap import BootstrapResult
    >>> rng = np.random.default_rng(0)
    >>> result = BootstrapResult(rng.normal(size=(2, 200, 1)), np.zeros((2, 1)),
    ...                          ["mu"], "parametric")
    >>> result
    BootstrapResult('parametric', n_datasets=2, n_boot=200, parameter_names=['mu'])
    >>> result.interval(alpha=0.1).shape
    (2, 1, 2)
    >>> result.to_frame().columns.tolist()
    ['dataset', 'parameter', 'estimate', 'bias', 'standard_error', 'lower', 'upper']
    """

    samples: np.ndarray
    estimate: np.ndarray
    parameter_names: list
    method: str
    block_length: int | None = None
    jacobian: np.ndarray | None = None

    def __repr__(self) -> str:
        return (
            f"BootstrapResult({self.method!r}, n_datasets={self.n_datasets}, "
            f"n_boot={self.n_boot}, parameter_names={list(self.parameter_names)})"
        )

    @property
    def n_datasets(self) -> int:
        return self.samples.shape[0]

    @property
    def n_boot(self) -> int:
        return self.samples.shape[1]

    @property
    def n_parameters(self) -> int:
        return self.samples.shape[2]

    @property
    def standard_error(self) -> np.ndarray:
        """Bootstrap standard error, ``(n_datasets, n_parameters)`` (ddof=1)."""
        return self.samples.std(axis=1, ddof=1)

    @property
    def bias(self) -> np.ndarray:
        """Bootstrap bias estimate ``mean(theta*) - theta_hat``, ``(n, p)``."""
        return self.samples.mean(axis=1) - self.estimate

    def interval(self, alpha: float = 0.05, kind: str = "percentile") -> np.ndarray:
        """Bootstrap confidence intervals of level ``1 - alpha``.

        Parameters
        ----------
        alpha : float, default=0.05
            One minus the nominal coverage; each tail holds ``alpha / 2``.
        kind : {"percentile", "basic", "bc", "rescaled"}, default="percentile"
            ``"percentile"``: the ``alpha/2`` and ``1 - alpha/2`` quantiles of the
            bootstrap samples. ``"basic"``: those quantiles reflected about the
            estimate, ``(2 theta_hat - q_hi, 2 theta_hat - q_lo)``, which undoes a
            bias of the estimator (e.g. shrinkage) instead of doubling it.
            ``"bc"``: Efron's bias-corrected percentile interval, whose quantile
            levels are shifted by ``z0 = Phi^-1(share of samples below the
            estimate)``. ``"rescaled"`` (needs :attr:`jacobian`): percentiles of
            ``theta_hat + J^-1 (theta_hat - theta*)``, the basic interval mapped
            back through the linearised mean ``E_theta[theta_hat]`` of the
            estimator, which also widens the too-narrow spread of a shrinkage
            estimator.

        Returns
        -------
        interval : ndarray of shape (n_datasets, n_parameters, 2)
            Lower and upper bounds.

        Notes
        -----
        Around a shrinkage estimator (a Bayes estimator under an informative prior)
        the bootstrap spread is that of the shrunken estimator, narrower than the
        sampling spread of an unbiased one, so percentile, basic and bc intervals
        can under-cover even once the bias is corrected; ``"rescaled"`` corrects
        the spread to first order. ``benchmarks/RESULTS.md`` reports measured
        coverage.
        """
        alpha = check_alpha(alpha)
        if kind not in INTERVAL_KINDS:
            raise ValueError(
                f"kind must be one of {sorted(INTERVAL_KINDS)}; got {kind!r}."
            )
        return INTERVAL_KINDS[kind](
            self.samples, self.estimate, float(alpha), self.jacobian
        )

    def to_frame(self, alpha: float = 0.05, kind: str = "percentile") -> pd.DataFrame:
        """A tidy summary: one row per data set and parameter.

        Parameters
        ----------
        alpha : float, default=0.05
            Interval level, as in :meth:`interval`.
        kind : {"percentile", "basic", "bc", "rescaled"}, default="percentile"
            Interval kind, as in :meth:`interval`.

        Returns
        -------
        frame : DataFrame
            Columns ``dataset``, ``parameter``, ``estimate``, ``bias``,
            ``standard_error``, ``lower``, ``upper``.
        """
        bounds = self.interval(alpha, kind)
        n, p = self.estimate.shape
        return pd.DataFrame(
            {
                "dataset": np.repeat(np.arange(n), p),
                "parameter": np.tile(np.asarray(self.parameter_names, dtype=object), n),
                "estimate": self.estimate.ravel(),
                "bias": self.bias.ravel(),
                "standard_error": self.standard_error.ravel(),
                "lower": bounds[..., 0].ravel(),
                "upper": bounds[..., 1].ravel(),
            }
        )

    def samples_frame(self) -> pd.DataFrame:
        """The bootstrap samples in long form.

        Returns
        -------
        frame : DataFrame
            Columns ``dataset``, ``boot``, ``parameter``, ``value``; one row per
            sample and parameter.
        """
        n, b, p = self.samples.shape
        index = np.indices((n, b, p)).reshape(3, -1)
        return pd.DataFrame(
            {
                "dataset": index[0],
                "boot": index[1],
                "parameter": np.asarray(self.parameter_names, dtype=object)[index[2]],
                "value": self.samples.ravel(),
            }
        )
