"""Summary statistics across the replicates of each data set."""

from __future__ import annotations

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils.validation import check_is_fitted

from ._base import _LayoutTransformer


def _weights(values: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    if mask is None:
        return np.ones(values.shape[:2] + (1,))
    return mask[..., None].astype(np.float64)


def _mean(values, mask):
    w = _weights(values, mask)
    return (values * w).sum(axis=1) / w.sum(axis=1)


def _var(values, mask):
    w = _weights(values, mask)
    centred = values - _mean(values, mask)[:, None, :]
    return (centred**2 * w).sum(axis=1) / w.sum(axis=1)


def _std(values, mask):
    return np.sqrt(_var(values, mask))


def _extreme(reduce, fill):
    def statistic(values, mask):
        if mask is not None:
            values = np.where(mask[..., None], values, fill)
        return reduce(values, axis=1)

    return statistic


# Each maps (values (n, m, d), mask (n, m) or None) to (n, d).
REPLICATE_STATISTICS = {
    "mean": _mean,
    "std": _std,
    "var": _var,
    "min": _extreme(np.min, np.inf),
    "max": _extreme(np.max, -np.inf),
}


def _quantiles(values, mask, levels) -> np.ndarray:
    """``(n_levels, n, d)`` quantiles over the replicate axis, padding ignored."""
    if mask is None:
        return np.quantile(values, levels, axis=1)
    padded = np.where(mask[..., None], values, np.nan)
    return np.nanquantile(padded, levels, axis=1)


class ReplicateSummaries(_LayoutTransformer):
    """Summarise the replicates of each data set by a fixed set of statistics.

    Each data set of ``m`` iid replicates (``d`` features each) becomes one vector:
    the chosen statistics per feature, the chosen quantiles per feature and, by
    default, ``log m``. This is the hand-made counterpart of a DeepSet: a fixed,
    permutation-invariant summary after which any estimator for tabular data
    applies, and which works for any replicate count.

    Parameters
    ----------
    statistics : tuple of str, default=("mean", "std")
        Statistics per feature, in order, from ``"mean"``, ``"std"``, ``"var"``,
        ``"min"`` and ``"max"``. Standard deviation and variance divide by ``m``.
    quantiles : tuple of float or None, default=None
        Levels in [0, 1] of per-feature quantiles (linear interpolation) appended
        after the statistics; None or ``()`` adds none.
    log_count : bool, default=True
        Append ``log m``, which lets a downstream estimator narrow its uncertainty
        as the replicate count grows.

    Attributes
    ----------
    n_features_in_ : int
        Features per replicate.
    feature_names_in_ : ndarray of str
        Feature names, when fitted on a DataFrame with string columns.

    See Also
    --------
    TimeSeriesSummaries : summaries of each series along its time axis.
    skamortise.nn.DeepSet : a learned summary of replicates.

    Notes
    -----
    Accepted layouts: ``(n_datasets, n_replicates, n_features)`` arrays, lists of
    ``(n_replicates_i, n_features)`` arrays (counts may differ), and 2-D
    ``(n_datasets, n_features)`` tables, read as one replicate per data set (so
    the standard deviation is zero and ``log m`` is 0). The output is always
    ``(n_datasets, n_features_out)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.preprocessing import ReplicateSummaries
    >>> X = np.arange(12.0).reshape(2, 3, 2)
    >>> summaries = ReplicateSummaries(quantiles=(0.5,)).fit(X)
    >>> summaries.transform(X).round(2)
    array([[2.  , 3.  , 1.63, 1.63, 2.  , 3.  , 1.1 ],
           [8.  , 9.  , 1.63, 1.63, 8.  , 9.  , 1.1 ]])
    >>> summaries.get_feature_names_out().tolist()
    ['x0_mean', 'x1_mean', 'x0_std', 'x1_std', 'x0_q0.5', 'x1_q0.5', 'log_n_replicates']
    >>> ragged = [np.zeros((2, 2)), np.ones((5, 2))]
    >>> summaries.transform(ragged)[:, -1].round(2)
    array([0.69, 1.61])
    """

    _parameter_constraints: dict = {
        "statistics": [list, tuple],
        "quantiles": ["array-like", None],
        "log_count": ["boolean"],
    }

    def __init__(self, statistics=("mean", "std"), quantiles=None, log_count=True):
        self.statistics = statistics
        self.quantiles = quantiles
        self.log_count = log_count

    def _levels(self) -> np.ndarray:
        if self.quantiles is None:
            return np.empty(0)
        levels = np.atleast_1d(np.asarray(self.quantiles, dtype=np.float64))
        if levels.ndim != 1 or not np.all((levels >= 0) & (levels <= 1)):
            raise ValueError(
                f"quantiles must be levels in [0, 1]; got {self.quantiles!r}."
            )
        return levels

    def _check_params(self) -> None:
        unknown = [s for s in self.statistics if s not in REPLICATE_STATISTICS]
        if unknown:
            raise ValueError(
                f"Unknown statistics {unknown}; choose from "
                f"{sorted(REPLICATE_STATISTICS)}."
            )
        levels = self._levels()
        if not (self.statistics or levels.size or self.log_count):
            raise ValueError(
                "ReplicateSummaries needs at least one output: give statistics, "
                "quantiles or log_count=True."
            )

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters and record the number of features.

        Parameters
        ----------
        X : array-like of shape (n_datasets, n_replicates, n_features) or \
                (n_datasets, n_features), or list of arrays
            Replicated data sets.
        y : None
            Ignored.

        Returns
        -------
        self : ReplicateSummaries
            The fitted transformer.
        """
        self._check_params()
        self._validate(X, reset=True)
        return self

    def transform(self, X):
        """Summarise each data set.

        Parameters
        ----------
        X : array-like of shape (n_datasets, n_replicates, n_features) or \
                (n_datasets, n_features), or list of arrays
            Replicated data sets; the replicate count may differ from ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_datasets, n_features_out)
            The summaries (a data frame under ``set_output``).
        """
        check_is_fitted(self)
        data = self._validate(X, reset=False)
        values = data.values if data.replicated else data.values[:, None, :]
        mask = data.mask
        blocks = [REPLICATE_STATISTICS[name](values, mask) for name in self.statistics]
        levels = self._levels()
        if levels.size:
            blocks.extend(_quantiles(values, mask, levels))
        if self.log_count:
            counts = values.shape[1] if mask is None else mask.sum(axis=1)
            blocks.append(np.broadcast_to(np.log(counts), (len(values),))[:, None])
        out = np.concatenate(blocks, axis=1) if blocks else np.empty((len(values), 0))
        return self._container(out, X)

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the features of one replicate; by default those seen in
            ``fit``, else ``x0, x1, ...``.

        Returns
        -------
        feature_names_out : ndarray of str
            ``<feature>_<statistic>``, ``<feature>_q<level>`` and
            ``log_n_replicates``.
        """
        check_is_fitted(self, "n_features_in_")
        names = self._input_names(input_features)
        out = [f"{n}_{stat}" for stat in self.statistics for n in names]
        out += [f"{n}_q{level:g}" for level in self._levels() for n in names]
        if self.log_count:
            out.append("log_n_replicates")
        return np.asarray(out, dtype=object)
