"""Is the model right for these data? A kernel two-sample test against simulations.

An amortised estimator answers for any input, including data its simulator could
never have produced. :func:`misspecification_test` compares observed data sets with
data sets simulated from the training distribution (parameters from the prior, data
from the simulator) by the maximum mean discrepancy (MMD) of their learned summaries
(Schmitt et al., 2023), or of the raw data for tabular data, and calibrates the
p-value by permutation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from sklearn.utils import check_random_state

from .._matplotlib import panels
from .._training_range import OutOfRangeWarning
from ._readers import draw_seed, n_datasets

__all__ = ["MisspecificationResult", "misspecification_test"]

# Multiples of the median pairwise distance used as bandwidths by "mixture".
BANDWIDTH_FACTORS = (0.25, 0.5, 1.0, 2.0, 4.0)
# Kernel entries gathered at once when recomputing the statistic for permutations.
_GATHER = 4_000_000


@dataclass
class MisspecificationResult:
    """Outcome of :func:`misspecification_test`.

    Attributes
    ----------
    statistic : float
        Squared MMD between the observed and the reference data sets (biased
        V-statistic, in the standardised feature space).
    p_value : float
        ``(1 + #{null >= statistic}) / (1 + n_permutations)``; small values mean
        the observed data do not look like data from the training distribution.
    null_statistics : ndarray of shape (n_permutations,)
        The statistic for random choices of ``n_observed`` data sets among the
        observed and reference sets together: its distribution when the observed
        data come from the training distribution.
    n_observed, n_reference : int
        Data sets on each side.
    space : {"summary", "data"}
        Where the MMD was measured: learned summaries or raw data.
    bandwidths : ndarray
        Gaussian kernel bandwidths (standardised units); the kernel is their mean.
    observed_features, reference_features : ndarray
        The standardised summaries (or data) of each side, for plots.
    """

    statistic: float
    p_value: float
    null_statistics: np.ndarray = field(repr=False)
    n_observed: int
    n_reference: int
    space: str
    bandwidths: np.ndarray = field(repr=False)
    observed_features: np.ndarray = field(repr=False)
    reference_features: np.ndarray = field(repr=False)

    def plot(self, fig=None):
        """Draw the null distribution with the observed statistic, and the features.

        Left: histogram of the null statistics, the observed statistic as a
        vertical line and the p-value in the title. Right: the reference and
        observed features on their first two principal axes (one axis for
        one-dimensional features).

        Parameters
        ----------
        fig : matplotlib Figure, default=None
            Figure to draw into; a new one by default.

        Returns
        -------
        matplotlib.figure.Figure
        """
        fig, axes = panels(fig, 1, 2)
        ax = axes[0, 0]
        ax.hist(self.null_statistics, bins=30, color="0.7", label="null")
        ax.axvline(self.statistic, color="C3", lw=2, label="observed")
        ax.set_xlabel("squared MMD")
        ax.set_ylabel("permutations")
        ax.set_title(f"p = {self.p_value:.3g} ({self.n_observed} observed)")
        ax.legend(frameon=False)

        ax = axes[0, 1]
        reference, observed = _principal_axes(
            self.reference_features, self.observed_features
        )
        if reference.shape[1] == 1:
            ax.hist(reference[:, 0], bins=30, color="0.7", label="reference")
            for value in observed[:, 0]:
                ax.axvline(value, color="C3", alpha=0.5)
            ax.set_xlabel(f"{self.space} (standardised)")
        else:
            ax.scatter(*reference.T, s=4, color="0.6", label="reference")
            ax.scatter(*observed.T, s=12, color="C3", label="observed")
            ax.set_xlabel("principal axis 1")
            ax.set_ylabel("principal axis 2")
        ax.set_title(f"{self.space} space")
        ax.legend(frameon=False)
        return fig


def _principal_axes(reference: np.ndarray, observed: np.ndarray):
    """Both sets projected on the first (up to) two principal axes of ``reference``."""
    if reference.shape[1] == 1:
        return reference, observed
    mean = reference.mean(axis=0)
    _, _, vt = np.linalg.svd(reference - mean, full_matrices=False)
    basis = vt[:2].T
    return (reference - mean) @ basis, (observed - mean) @ basis


def _features(estimator, X, space: str, name: str) -> np.ndarray:
    if space == "summary":
        if not hasattr(estimator, "summarize"):
            raise TypeError(
                f"space='summary' needs an estimator with summarize(X); "
                f"{type(estimator).__name__} has none. Use space='data' for "
                "tabular data."
            )
        with warnings.catch_warnings():
            if name == "X_reference":
                # Simulations from the model are in range by construction; the
                # rare one past the distance threshold is not worth a warning.
                warnings.simplefilter("ignore", OutOfRangeWarning)
            values = np.asarray(estimator.summarize(X), dtype=np.float64)
    else:
        if isinstance(X, (list, tuple)):
            raise ValueError(
                f"space='data' needs {name} as one array with the same shape for "
                "every data set; ragged replicates have no common data space, use "
                "space='summary'."
            )
        values = np.asarray(X, dtype=np.float64)
        values = values.reshape(len(values), -1)
    if values.ndim != 2 or len(values) == 0:
        raise ValueError(
            f"{name} gives no data sets (features of shape {values.shape})."
        )
    if not np.isfinite(values).all():
        raise ValueError(f"{name} has NaN or infinite {space} values.")
    return values


def _standardise(observed: np.ndarray, reference: np.ndarray):
    # Moments of both sides together: the permutation null stays exact because
    # they do not depend on which data sets are called observed.
    pooled = np.concatenate([observed, reference])
    mean, scale = pooled.mean(axis=0), pooled.std(axis=0)
    scale = np.where(scale > 0, scale, 1.0)
    return (observed - mean) / scale, (reference - mean) / scale


def _squared_distances(features: np.ndarray) -> np.ndarray:
    norms = np.einsum("ij,ij->i", features, features)
    distances = norms[:, None] + norms[None, :] - 2 * features @ features.T
    return np.maximum(distances, 0.0)


def _median_distance(squared: np.ndarray) -> float:
    """Median distance between distinct data sets (1 when they all coincide)."""
    upper = np.triu(np.ones(squared.shape, dtype=bool), k=1)
    median = float(np.sqrt(np.median(squared[upper])))
    return median if median > 0 else 1.0


def _gaussian_kernel(squared: np.ndarray, bandwidths: np.ndarray) -> np.ndarray:
    """Mean of the Gaussian kernels with ``bandwidths`` on squared distances."""
    bandwidths = np.sort(bandwidths)[::-1]
    kernel = np.exp(-squared / (2 * bandwidths[0] ** 2))
    current, h = kernel.copy(), bandwidths[0]
    for next_h in bandwidths[1:]:
        if np.isclose(h / next_h, 2.0):
            # Halving the bandwidth raises the kernel to the 4th power: two
            # squarings cost far less than another exponential.
            np.square(current, out=current)
            np.square(current, out=current)
        else:
            current = np.exp(-squared / (2 * next_h**2))
        kernel += current
        h = next_h
    return kernel / len(bandwidths)


def _mmd_for_choices(kernel, row_sums, total, choices) -> np.ndarray:
    """Squared MMD (V-statistic) with the rows ``choices`` ``(B, n)`` as one side."""
    n = choices.shape[1]
    m = len(kernel) - n
    within = kernel[choices[:, :, None], choices[:, None, :]].sum(axis=(1, 2))
    across = row_sums[choices].sum(axis=1) - within
    rest = total - 2 * across - within
    return within / n**2 + rest / m**2 - 2 * across / (n * m)


def misspecification_test(
    estimator,
    X_observed,
    X_reference,
    random_state=None,
    *,
    space: str = "summary",
    bandwidth: str | float = "mixture",
    n_permutations: int = 1000,
    max_reference: int = 2000,
) -> MisspecificationResult:
    """Test whether observed data sets look like data from the training distribution.

    The statistic is the squared maximum mean discrepancy (MMD) with a Gaussian
    kernel between the observed data sets and reference data sets simulated from
    the distribution the estimator was trained on, measured on the estimator's
    learned summaries (``space="summary"``, Schmitt et al. 2023) or on the raw
    data (``space="data"``). Its null distribution comes from permutations: the
    statistic is recomputed with ``n_observed`` data sets drawn at random from the
    observed and reference sets together in the observed role. When the observed
    data come from the training distribution, all these data sets are
    exchangeable, so the p-value is valid for any number of observed data sets,
    one included.

    Parameters
    ----------
    estimator : object or None
        Fitted estimator with ``summarize(X)`` (every skamortise family); may be
        None with ``space="data"``.
    X_observed : array-like or list of array-like
        The observed data sets, in the layout the estimator was fitted on; one
        data set is a batch of one (``X[None]`` or ``[x]``).
    X_reference : array-like or list of array-like
        Data sets simulated from the training distribution: parameters from the
        prior, data from the simulator, with the replicate counts of the observed
        data (``skamortise.simulate``). Use many more than ``n_observed``; a
        thousand or more.
    random_state : int, RandomState instance or None, default=None
        Seeds the permutations and the choice of reference sets.
    space : {"summary", "data"}, default="summary"
        ``"summary"``: the estimator's learned summaries, which the network's
        answers depend on. ``"data"``: the raw data, one flattened vector per data
        set (tabular data, or replicated data with a fixed count).
    bandwidth : "mixture", "median" or float, default="mixture"
        Gaussian kernel bandwidth in standardised units. ``"median"`` is the
        median distance between data sets (observed and reference together);
        ``"mixture"`` averages the kernels with ``(0.25, 0.5, 1, 2, 4)`` times it,
        which keeps power against both local and broad differences.
    n_permutations : int, default=1000
        Permutations of the null distribution; the smallest p-value is
        ``1 / (n_permutations + 1)``.
    max_reference : int, default=2000
        Reference data sets used at most (a random subset); the kernel matrix
        has ``(n_observed + n_reference)^2`` entries.

    Returns
    -------
    MisspecificationResult
        ``statistic``, ``p_value``, ``null_statistics`` and ``plot()``.

    See Also
    --------
    skamortise.NeuralPosteriorEstimator.summarize : The learned summaries.

    Notes
    -----
    Each feature (summary or datum) is standardised with the mean and standard
    deviation of all data sets together before distances are taken. The test
    sees what the features see: a summary network trained to estimate the mean
    may map heavy-tailed data close to Gaussian data, and then the summary-space
    test has little power where a data-space test has more. A small p-value says
    the data differ from the simulations; it does not say how. Cost: one kernel
    matrix of ``(n_observed + n_reference)^2`` entries and ``n_permutations *
    n_observed^2`` sums.

    References
    ----------
    .. [1] Gretton, A., Borgwardt, K. M., Rasch, M. J., Schoelkopf, B. and Smola,
       A. (2012). A kernel two-sample test. JMLR 13, 723-773.
    .. [2] Schmitt, M., Buerkner, P.-C., Koethe, U. and Radev, S. T. (2023).
       Detecting model misspecification in amortized Bayesian inference with
       neural networks. GCPR.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import misspecification_test
    >>> rng = np.random.default_rng(0)
    >>> reference = rng.standard_normal((1000, 2))
    >>> same = misspecification_test(None, rng.standard_normal((20, 2)), reference,
    ...                              random_state=0, space="data")
    >>> shifted = misspecification_test(None, rng.standard_normal((20, 2)) + 1,
    ...                                 reference, random_state=0, space="data")
    >>> bool(same.p_value > 0.01), bool(shifted.p_value < 0.01)
    (True, True)
    """
    if space not in ("summary", "data"):
        raise ValueError(f"space must be 'summary' or 'data'; got {space!r}.")
    if not (bandwidth in ("mixture", "median") or _positive(bandwidth)):
        raise ValueError(
            "bandwidth must be 'mixture', 'median' or a positive number; "
            f"got {bandwidth!r}."
        )
    for name, value, least in (
        ("n_permutations", n_permutations, 1),
        ("max_reference", max_reference, 2),
    ):
        if not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} must be an int >= {least}; got {value!r}.")
    if n_datasets(X_reference) < 2:
        raise ValueError("X_reference must hold at least two data sets.")
    rng = check_random_state(random_state)

    observed = _features(estimator, X_observed, space, "X_observed")
    reference = _features(estimator, X_reference, space, "X_reference")
    if observed.shape[1] != reference.shape[1]:
        raise ValueError(
            f"X_observed has {observed.shape[1]} {space} features per data set but "
            f"X_reference has {reference.shape[1]}."
        )
    if len(reference) > max_reference:
        reference = reference[rng.choice(len(reference), max_reference, False)]
    observed, reference = _standardise(observed, reference)
    pooled = np.concatenate([observed, reference])
    squared = _squared_distances(pooled)

    if isinstance(bandwidth, str):
        median = _median_distance(squared)
        factors = BANDWIDTH_FACTORS if bandwidth == "mixture" else (1.0,)
        bandwidths = median * np.asarray(factors)
    else:
        bandwidths = np.asarray([float(bandwidth)])
    kernel = _gaussian_kernel(squared, bandwidths)
    row_sums = kernel.sum(axis=1)
    total = row_sums.sum()

    n = len(observed)
    statistic = _mmd_for_choices(kernel, row_sums, total, np.arange(n)[None])[0]
    per_chunk = max(1, _GATHER // n**2)
    generator = np.random.default_rng(draw_seed(rng))
    null = []
    for start in range(0, n_permutations, per_chunk):
        choices = np.stack(
            [
                generator.choice(len(pooled), n, replace=False)
                for _ in range(min(per_chunk, n_permutations - start))
            ]
        )
        null.append(_mmd_for_choices(kernel, row_sums, total, choices))
    null = np.concatenate(null)
    # The observed statistic and its permuted copies are sums of the same
    # kernel entries in different order: compare with a relative tolerance.
    exceed = np.sum(null >= statistic - 1e-12 * abs(statistic))
    return MisspecificationResult(
        statistic=float(statistic),
        p_value=float((1 + exceed) / (1 + n_permutations)),
        null_statistics=null,
        n_observed=n,
        n_reference=len(reference),
        space=space,
        bandwidths=bandwidths,
        observed_features=observed,
        reference_features=reference,
    )


def _positive(value) -> bool:
    return (
        isinstance(value, (int, float, np.integer, np.floating))
        and not isinstance(value, bool)
        and np.isfinite(value)
        and value > 0
    )
