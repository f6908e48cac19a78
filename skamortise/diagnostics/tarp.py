"""Tests of accuracy with random points (TARP) for posterior draws.

For each test pair ``(X_i, theta_i)`` draw a reference point ``r_i`` independent of
``theta_i`` and count the posterior draws closer to ``r_i`` than ``theta_i`` is: the
share ``f_i`` is the credibility of the smallest ball around ``r_i`` that holds the
truth. A correct posterior makes ``f_i`` uniform on (0, 1), so the expected
coverage probability ``ECP(alpha) = P(f < alpha)`` lies on the diagonal; Lemos et
al. (2023) show this is also sufficient when the reference points vary enough,
unlike marginal SBC, which checks each parameter alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.utils import check_random_state

from .._matplotlib import single_axes
from ._readers import as_parameters, draw_seed, n_datasets, posterior_samples

__all__ = ["TARPResult", "tarp"]


@dataclass
class TARPResult:
    """Outcome of :func:`tarp`.

    Attributes
    ----------
    counts : ndarray of shape (n_sims,) of int
        Posterior draws closer to the reference point than the truth, in
        ``{0, ..., n_samples}``; ties, which only discrete posteriors produce, are
        broken at random.
    n_samples : int
        Posterior draws per test pair.
    jitter : ndarray of shape (n_sims,)
        Uniform draws on [0, 1) that spread each count over its cell (see
        :attr:`credibility`).
    references : ndarray of shape (n_sims, n_parameters)
        The reference points, in parameter units.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import TARPResult
    >>> rng = np.random.default_rng(0)
    >>> result = TARPResult(rng.integers(0, 101, 500), 100, rng.random(500),
    ...                     np.zeros((500, 1)))
    >>> bool(result.uniformity_test()["ks_pvalue"] > 0.01)
    True
    """

    counts: np.ndarray
    n_samples: int
    jitter: np.ndarray = field(repr=False)
    references: np.ndarray = field(repr=False)

    @property
    def n_sims(self) -> int:
        """Number of test pairs."""
        return len(self.counts)

    @property
    def credibility(self) -> np.ndarray:
        """``(count + jitter) / (n_samples + 1)``: exactly U(0, 1) when calibrated.

        The count of draws inside the ball is uniform on ``{0, ..., n_samples}``
        for a correct posterior; the jitter spreads it evenly over its cell.
        """
        return (self.counts + self.jitter) / (self.n_samples + 1)

    def expected_coverage(self, levels: Sequence[float] | None = None) -> pd.DataFrame:
        """Expected coverage probability at each credibility level.

        Parameters
        ----------
        levels : sequence of float, default=None
            Credibility levels ``alpha`` in [0, 1]; by default 101 levels from 0
            to 1.

        Returns
        -------
        pandas.DataFrame
            Columns ``level``, ``coverage`` (``ECP``: the share of truths inside
            the ball of that credibility) and ``se`` (binomial standard error under
            calibration).
        """
        levels = np.linspace(0, 1, 101) if levels is None else np.asarray(levels)
        levels = levels.astype(np.float64).ravel()
        if np.any((levels < 0) | (levels > 1)):
            raise ValueError(f"levels must lie in [0, 1]; got {levels.tolist()}.")
        u = self.credibility
        return pd.DataFrame(
            {
                "level": levels,
                "coverage": (u[None, :] < levels[:, None]).mean(axis=1),
                "se": np.sqrt(levels * (1 - levels) / self.n_sims),
            }
        )

    def uniformity_test(self) -> pd.Series:
        """Kolmogorov-Smirnov test of :attr:`credibility` against U(0, 1).

        Returns
        -------
        pandas.Series
            ``ks_statistic``, ``ks_pvalue`` and ``atc``: the area between the
            ECP curve and the diagonal above credibility 0.5, which is positive
            for too wide (underconfident) posteriors and negative for too narrow
            (overconfident) ones.
        """
        u = self.credibility
        ks = stats.kstest(u, "uniform")
        # ECP(alpha) - alpha integrated over (0.5, 1): the empirical CDF of u
        # integrates to 1 - mean(max(u, 0.5)) there.
        atc = (1 - np.maximum(u, 0.5).mean()) - 0.375
        return pd.Series(
            {"ks_statistic": ks.statistic, "ks_pvalue": ks.pvalue, "atc": atc}
        )

    def plot(self, *, level: float = 0.95, ax=None):
        """Draw ECP against credibility, with a simultaneous band.

        The grey band holds the whole curve of a calibrated posterior with
        probability ``level`` (Kolmogorov-Smirnov); a curve below the diagonal
        at high credibility means too narrow posteriors, above it too wide.

        Parameters
        ----------
        level : float, default=0.95
            Coverage of the band.
        ax : matplotlib Axes, default=None
            Axes to draw on; a new figure by default.

        Returns
        -------
        matplotlib.figure.Figure
        """
        fig, ax = single_axes(ax, figsize=(4, 4))
        table = self.expected_coverage()
        alpha = table["level"].to_numpy()
        half = stats.kstwo.ppf(level, self.n_sims)
        ax.fill_between(
            alpha,
            np.clip(alpha - half, 0, 1),
            np.clip(alpha + half, 0, 1),
            color="0.85",
            label=f"{level:.0%} band",
        )
        ax.plot([0, 1], [0, 1], color="0.4", ls="--", lw=1)
        ax.plot(alpha, table["coverage"], color="C0", lw=2, label="TARP")
        test = self.uniformity_test()
        ax.set_title(f"KS p = {test['ks_pvalue']:.3g}, ATC = {test['atc']:.3f}")
        ax.set_xlabel("credibility level")
        ax.set_ylabel("expected coverage")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.legend(frameon=False, loc="upper left")
        return fig


def tarp(
    estimator,
    X,
    y,
    n_samples: int = 1000,
    *,
    references=None,
    normalize: bool = True,
    batch_size: int | None = None,
    random_state=None,
) -> TARPResult:
    """Expected coverage of random balls (TARP) of an estimator's posterior draws.

    Parameters
    ----------
    estimator : object
        Fitted estimator with ``sample(X, n_samples, random_state=None)``.
    X : array-like or list of array-like
        Test data simulated from the prior predictive, one data set per row of
        ``y``.
    y : array-like of shape (n_sims, n_parameters) or (n_sims,)
        The parameters that generated ``X``.
    n_samples : int, default=1000
        Posterior draws per test pair.
    references : array-like of shape (n_sims, n_parameters), default=None
        Reference points, one per test pair, independent of the truths; by default
        uniform draws over the box that ``y`` spans.
    normalize : bool, default=True
        Measure distances after mapping the box that ``y`` spans onto the unit
        cube, so that parameters on different scales count alike.
    batch_size : int, default=None
        Data sets sampled at once (all by default).
    random_state : int, RandomState instance or None, default=None
        Seeds the draws, the reference points, the tie breaking and the jitter.

    Returns
    -------
    TARPResult

    See Also
    --------
    sbc : Marginal rank calibration, one parameter at a time.

    References
    ----------
    .. [1] Lemos, P., Coogan, A., Hezaveh, Y. and Perreault-Levasseur, L. (2023).
       Sampling-based accuracy testing of posterior estimators for general
       inference. ICML.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import tarp
    >>> class ExactPosterior:  # x ~ N(mu, 1), mu ~ N(0, 1): mu | x ~ N(x/2, 1/2)
    ...     def sample(self, X, n_samples, random_state=None):
    ...         rng = np.random.default_rng(random_state)
    ...         z = rng.standard_normal((len(X), n_samples, 1))
    ...         return X[:, None, :] / 2 + np.sqrt(0.5) * z
    >>> rng = np.random.default_rng(0)
    >>> mu = rng.standard_normal((1000, 1))
    >>> x = mu + rng.standard_normal((1000, 1))
    >>> result = tarp(ExactPosterior(), x, mu, n_samples=200, random_state=0)
    >>> bool(result.uniformity_test()["ks_pvalue"] > 0.01)
    True
    """
    theta, _ = as_parameters(y)
    n, p = theta.shape
    if n_datasets(X) != n:
        raise ValueError(f"X holds {n_datasets(X)} data sets but y holds {n}.")
    if not isinstance(n_samples, (int, np.integer)) or n_samples < 1:
        raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
    rng = check_random_state(random_state)
    draws = posterior_samples(
        estimator, X, n_samples, draw_seed(rng), batch_size, n_parameters=p
    )
    generator = np.random.default_rng(draw_seed(rng))

    low, high = theta.min(axis=0), theta.max(axis=0)
    if references is None:
        refs = generator.uniform(low, high, size=(n, p))
    else:
        refs = np.asarray(references, dtype=np.float64).reshape(n, p)
        if not np.isfinite(refs).all():
            raise ValueError("references contain NaN or infinity.")
    span = np.where(high > low, high - low, 1.0) if normalize else np.ones(p)

    def scaled(values):
        return (values - low) / span

    d_truth = np.linalg.norm(scaled(theta) - scaled(refs), axis=-1)
    d_draws = np.linalg.norm(scaled(draws) - scaled(refs)[:, None, :], axis=-1)
    closer = (d_draws < d_truth[:, None]).sum(axis=1)
    ties = (d_draws == d_truth[:, None]).sum(axis=1)
    counts = closer + generator.integers(0, ties + 1)
    return TARPResult(
        counts=counts.astype(np.int64),
        n_samples=int(n_samples),
        jitter=generator.random(n),
        references=refs,
    )
