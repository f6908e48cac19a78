"""The outcome of simulation-based calibration and its checks."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from ._readers import DEFAULT_LEVELS, quantile_level_index

__all__ = ["SBCResult"]

DEFAULT_QUANTILE_LEVELS = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)


@dataclass
class SBCResult:
    """Outcome of simulation-based calibration.

    Built by :func:`sbc` or :func:`sbc_ranks`. For an estimator with ``sample`` it
    holds ranks; for a quantile estimator (``predict_quantiles`` without
    ``sample``) it holds which quantiles lie above the truth.

    Attributes
    ----------
    ranks : ndarray of shape (n_sims, n_parameters) of int, or None
        Number of posterior draws below the true parameter, in ``{0, ..., L}``;
        ties, which only discrete posteriors produce, are broken at random.
    n_posterior_samples : int or None
        ``L``, the posterior draws per simulation.
    parameter_names : list of str
        One name per parameter.
    quantile_levels : ndarray of shape (n_quantiles,) or None
        The estimator's quantile levels (quantile estimators only).
    exceedances : ndarray of shape (n_sims, n_parameters, n_quantiles) of bool, \
            or None
        Whether each predicted quantile lies above the truth (quantile estimators).
    jitter : ndarray of shape (n_sims, n_parameters)
        Uniform draws on [0, 1) that spread each integer rank over its cell for
        the continuous checks (see :meth:`fractional_ranks`).

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import SBCResult
    >>> rng = np.random.default_rng(0)
    >>> result = SBCResult(ranks=rng.integers(0, 101, size=(500, 1)),
    ...                    n_posterior_samples=100, parameter_names=["mu"])
    >>> bool(result.uniformity_test()["ks_pvalue"].iloc[0] > 0.01)
    True
    """

    ranks: np.ndarray | None
    n_posterior_samples: int | None
    parameter_names: list[str]
    quantile_levels: np.ndarray | None = None
    exceedances: np.ndarray | None = None
    jitter: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.ranks is None and self.exceedances is None:
            raise ValueError("an SBCResult needs ranks or exceedances.")
        if self.jitter is None:
            self.jitter = np.random.default_rng(0).random((self.n_sims, self.n_params))

    @property
    def n_sims(self) -> int:
        """Number of simulations."""
        source = self.ranks if self.ranks is not None else self.exceedances
        return int(source.shape[0])

    @property
    def n_params(self) -> int:
        """Number of parameters."""
        return len(self.parameter_names)

    @property
    def is_quantile(self) -> bool:
        """Whether the result comes from a quantile estimator (no ranks)."""
        return self.ranks is None

    def _require_ranks(self, what: str) -> None:
        if self.ranks is None:
            raise ValueError(
                f"{what} needs ranks, which a quantile estimator does not give; "
                "use quantile_calibration() or expected_coverage() instead."
            )

    def fractional_ranks(self) -> np.ndarray:
        """Ranks mapped into (0, 1): ``(rank + jitter) / (L + 1)``, ``(n_sims, p)``.

        A calibrated posterior makes the integer rank uniform on ``{0, ..., L}``;
        adding an independent uniform jitter in [0, 1) spreads each rank evenly over
        its cell, so the result is then exactly uniform on (0, 1) and continuous
        tests such as Kolmogorov-Smirnov keep their nominal size.
        """
        self._require_ranks("fractional_ranks")
        return (self.ranks + self.jitter) / (self.n_posterior_samples + 1)

    def rank_counts(self, n_bins: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Histogram of the ranks in ``n_bins`` bins of (nearly) equal size.

        Parameters
        ----------
        n_bins : int, default=None
            Number of bins; by default ``min(L + 1, max(2, n_sims // 20))``, about
            20 expected counts per bin. When ``L + 1`` is not a multiple of
            ``n_bins`` the bins differ in size by one rank.

        Returns
        -------
        counts : ndarray of shape (n_bins, n_parameters)
            Number of ranks in each bin.
        edges : ndarray of shape (n_bins + 1,) of int
            Bin ``k`` holds the ranks ``edges[k] <= r < edges[k + 1]``.
        """
        self._require_ranks("rank_counts")
        n_ranks = self.n_posterior_samples + 1
        if n_bins is None:
            n_bins = min(n_ranks, max(2, self.n_sims // 20))
        n_bins = int(min(n_bins, n_ranks))
        sizes = np.full(n_bins, n_ranks // n_bins)
        sizes[: n_ranks % n_bins] += 1
        edges = np.concatenate([[0], np.cumsum(sizes)])
        which = np.searchsorted(edges, self.ranks, side="right") - 1
        counts = np.stack(
            [np.bincount(which[:, j], minlength=n_bins) for j in range(self.n_params)],
            axis=1,
        )
        return counts, edges

    def uniformity_test(self, n_bins: int | None = None) -> pd.DataFrame:
        """Test each parameter's ranks for uniformity.

        Two tests per parameter:

        - Kolmogorov-Smirnov on :meth:`fractional_ranks` against U(0, 1). The jitter
          makes the statistic exact under calibration despite the discrete ranks.
          It is sensitive to the broad, smooth departures miscalibration produces
          (U shapes, humps, slopes), so it is the **recommended** test.
        - Pearson chi-square on the binned ranks (:meth:`rank_counts`), which
          ignores the order of the bins; it also reacts to local spikes that KS
          smooths over, but with many bins it has less power against smooth shapes.

        For a quantile estimator the chi-square test runs on the cells between
        consecutive predicted quantiles (expected shares ``tau_{k+1} - tau_k``) and
        the KS columns are NaN.

        Parameters
        ----------
        n_bins : int, default=None
            Bins of the chi-square test; see :meth:`rank_counts`.

        Returns
        -------
        pandas.DataFrame
            One row per parameter: ``parameter``, ``ks_statistic``, ``ks_pvalue``,
            ``chi2_statistic``, ``chi2_pvalue``, ``n_bins``.

        Notes
        -----
        The p-values are per parameter; with several parameters compare them to a
        Bonferroni-corrected level (``level / n_parameters``).
        """
        rows = []
        if self.is_quantile:
            n_quantiles = len(self.quantile_levels)
            # The truth's cell is the number of predicted quantiles below it.
            cells = n_quantiles - self.exceedances.sum(axis=2)
            shares = np.diff(np.concatenate([[0.0], self.quantile_levels, [1.0]]))
            for j, name in enumerate(self.parameter_names):
                observed = np.bincount(cells[:, j], minlength=n_quantiles + 1)
                chi2 = stats.chisquare(observed, shares * self.n_sims)
                rows.append(_test_row(name, np.nan, np.nan, chi2, n_quantiles + 1))
            return pd.DataFrame(rows)

        counts, edges = self.rank_counts(n_bins)
        sizes = np.diff(edges)
        expected = self.n_sims * sizes / sizes.sum()
        u = self.fractional_ranks()
        for j, name in enumerate(self.parameter_names):
            ks = stats.kstest(u[:, j], "uniform")
            chi2 = stats.chisquare(counts[:, j], expected)
            rows.append(_test_row(name, ks.statistic, ks.pvalue, chi2, len(sizes)))
        return pd.DataFrame(rows)

    def expected_coverage(self, levels: Sequence[float] | None = None) -> pd.DataFrame:
        """Empirical against nominal credibility of central posterior intervals.

        With ranks, the truth lies in the central ``c`` interval of the draws when
        its fractional rank is within ``c / 2`` of one half. For a quantile
        estimator, the central ``c`` interval is the pair of predicted quantiles at
        ``(1 - c) / 2`` and ``(1 + c) / 2``, which must be among its levels.

        Parameters
        ----------
        levels : sequence of float, default=None
            Nominal levels in (0, 1); by default (0.5, 0.8, 0.9, 0.95), or for a
            quantile estimator every symmetric pair of its levels.

        Returns
        -------
        pandas.DataFrame
            Columns ``parameter``, ``level``, ``coverage``, ``se`` (binomial
            standard error under nominal coverage) and ``n``; the layout of
            :func:`~skamortise.diagnostics.coverage`, so
            :func:`~skamortise.plotting.plot_coverage` draws both.
        """
        if self.is_quantile:
            taus = self.quantile_levels
            if levels is None:
                levels = sorted(
                    {round(1 - 2 * t, 10) for t in taus if t < 0.5}
                    & {round(2 * t - 1, 10) for t in taus if t > 0.5}
                )
        elif levels is None:
            levels = DEFAULT_LEVELS
        levels = np.asarray(levels, dtype=np.float64).ravel()
        if np.any((levels <= 0) | (levels >= 1)):
            raise ValueError(f"levels must lie in (0, 1); got {levels.tolist()}.")

        rows = []
        for level in levels:
            if self.is_quantile:
                lo = quantile_level_index(self.quantile_levels, (1 - level) / 2)
                hi = quantile_level_index(self.quantile_levels, (1 + level) / 2)
                if lo is None or hi is None:
                    raise ValueError(
                        f"no central {level:g} interval among the quantile levels "
                        f"{self.quantile_levels.tolist()}."
                    )
                # Inside: the lower quantile is not above the truth, the upper is.
                inside = ~self.exceedances[:, :, lo] & self.exceedances[:, :, hi]
            else:
                inside = np.abs(self.fractional_ranks() - 0.5) <= level / 2
            for j, name in enumerate(self.parameter_names):
                rows.append(_coverage_row(name, level, inside[:, j]))
        return pd.DataFrame(rows)

    def quantile_calibration(
        self, levels: Sequence[float] | None = None
    ) -> pd.DataFrame:
        """Empirical ``P(q_tau > theta)`` against ``tau``, per parameter and level.

        Parameters
        ----------
        levels : sequence of float, default=None
            Levels ``tau``; by default the estimator's quantile levels, or
            (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975) with ranks.

        Returns
        -------
        pandas.DataFrame
            Columns ``parameter``, ``level``, ``coverage`` (the empirical share),
            ``se`` (binomial, under calibration), ``n`` and ``pvalue`` (exact
            two-sided binomial test of share ``tau``).
        """
        if levels is None:
            levels = (
                self.quantile_levels if self.is_quantile else DEFAULT_QUANTILE_LEVELS
            )
        levels = np.asarray(levels, dtype=np.float64).ravel()
        rows = []
        for tau in levels:
            if self.is_quantile:
                k = quantile_level_index(self.quantile_levels, tau)
                if k is None:
                    raise ValueError(
                        f"level {tau:g} is not among the estimator's quantile "
                        f"levels {self.quantile_levels.tolist()}."
                    )
                below = self.exceedances[:, :, k]
            else:
                below = self.fractional_ranks() < tau
            for j, name in enumerate(self.parameter_names):
                row = _coverage_row(name, tau, below[:, j])
                hits = int(below[:, j].sum())
                row["pvalue"] = stats.binomtest(hits, self.n_sims, tau).pvalue
                rows.append(row)
        return pd.DataFrame(rows)


def _test_row(name, ks_statistic, ks_pvalue, chi2, n_bins) -> dict:
    return {
        "parameter": name,
        "ks_statistic": float(ks_statistic),
        "ks_pvalue": float(ks_pvalue),
        "chi2_statistic": float(chi2.statistic),
        "chi2_pvalue": float(chi2.pvalue),
        "n_bins": int(n_bins),
    }


def _coverage_row(name: str, level: float, inside: np.ndarray) -> dict:
    n = len(inside)
    return {
        "parameter": name,
        "level": float(level),
        "coverage": float(inside.mean()),
        "se": float(np.sqrt(level * (1 - level) / n)),
        "n": n,
    }
