"""Summary statistics of time series along their time axis."""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import _fit_context
from sklearn.utils._param_validation import Interval
from sklearn.utils.validation import check_is_fitted

from ._base import _LayoutTransformer, unpad


def _central(x: np.ndarray, power: int) -> np.ndarray:
    return np.mean((x - x.mean(axis=-1, keepdims=True)) ** power, axis=-1)


def _standardised_moment(power: int, excess: float = 0.0):
    def statistic(x):
        var = _central(x, 2)
        safe = np.where(var > 0, var, 1.0)
        # A constant series has no shape; report 0 rather than 0/0.
        return np.where(var > 0, _central(x, power) / safe ** (power / 2) - excess, 0.0)

    return statistic


# Each maps series (..., T) to (...,).
SERIES_MOMENTS = {
    "mean": lambda x: x.mean(axis=-1),
    "var": lambda x: x.var(axis=-1),
    "std": lambda x: x.std(axis=-1),
    "skew": _standardised_moment(3),
    "kurtosis": _standardised_moment(4, excess=3.0),
}


def autocorrelation(x: np.ndarray, lag: int) -> np.ndarray:
    """Sample autocorrelation of series ``(..., T)`` at ``lag`` (0 if constant)."""
    centred = x - x.mean(axis=-1, keepdims=True)
    denom = np.sum(centred**2, axis=-1)
    num = np.sum(centred[..., :-lag] * centred[..., lag:], axis=-1)
    return np.where(denom > 0, num / np.where(denom > 0, denom, 1.0), 0.0)


class TimeSeriesSummaries(_LayoutTransformer):
    """Summarise each time series by its moments and lag autocorrelations.

    A series ``x_1, ..., x_T`` (one row) becomes the chosen moments followed by the
    sample autocorrelations ``r_k = sum_t (x_t - xbar)(x_{t+k} - xbar) /
    sum_t (x_t - xbar)^2`` at the chosen lags.

    Parameters
    ----------
    moments : tuple of str, default=("mean", "var")
        Moments, in order, from ``"mean"``, ``"var"``, ``"std"``, ``"skew"`` and
        ``"kurtosis"`` (excess). Variance divides by ``T``; the shape moments of a
        constant series are reported as 0.
    lags : tuple of int, default=(1, 2)
        Positive lags of the autocorrelations; each must be smaller than the
        series length. A constant series has autocorrelation 0.

    Attributes
    ----------
    n_features_in_ : int
        Length ``T`` of the series.
    feature_names_in_ : ndarray of str
        Names of the time points, when fitted on a DataFrame with string columns.

    See Also
    --------
    ReplicateSummaries : summaries across the replicates of a data set.

    Notes
    -----
    The time axis is the last one. A 2-D ``(n_datasets, T)`` input gives
    ``(n_datasets, n_features_out)``; replicated series keep their replicate
    axis: ``(n_datasets, n_replicates, T)`` gives ``(n_datasets, n_replicates,
    n_features_out)`` and a list of ``(n_replicates_i, T)`` arrays a list of
    ``(n_replicates_i, n_features_out)`` arrays, ready for
    :class:`ReplicateSummaries` or a DeepSet. Only 2-D outputs are wrapped by
    ``set_output``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.preprocessing import TimeSeriesSummaries
    >>> X = np.array([[1.0, 2.0, 3.0, 4.0], [1.0, -1.0, 1.0, -1.0]])
    >>> summaries = TimeSeriesSummaries(lags=(1,)).fit(X)
    >>> summaries.transform(X)
    array([[ 2.5 ,  1.25,  0.25],
           [ 0.  ,  1.  , -0.75]])
    >>> summaries.get_feature_names_out().tolist()
    ['mean', 'var', 'acf_1']
    """

    _parameter_constraints: dict = {
        "moments": [list, tuple],
        "lags": ["array-like", Interval(Integral, 1, None, closed="left")],
    }

    def __init__(self, moments=("mean", "var"), lags=(1, 2)):
        self.moments = moments
        self.lags = lags

    def _lags(self) -> list[int]:
        lags = np.atleast_1d(np.asarray(self.lags))
        if lags.ndim != 1 or not all(
            isinstance(k, Integral) and k >= 1 for k in lags.tolist()
        ):
            raise ValueError(f"lags must be positive integers; got {self.lags!r}.")
        return [int(k) for k in lags]

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Check the parameters against the series length.

        Parameters
        ----------
        X : array-like of shape (n_datasets, T) or (n_datasets, n_replicates, T), \
                or list of arrays
            Series, one per row (per replicate for replicated data).
        y : None
            Ignored.

        Returns
        -------
        self : TimeSeriesSummaries
            The fitted transformer.
        """
        unknown = [m for m in self.moments if m not in SERIES_MOMENTS]
        if unknown:
            raise ValueError(
                f"Unknown moments {unknown}; choose from {sorted(SERIES_MOMENTS)}."
            )
        lags = self._lags()
        if not (self.moments or lags):
            raise ValueError("TimeSeriesSummaries needs at least one moment or lag.")
        self._validate(X, reset=True)
        if lags and max(lags) >= self.n_features_in_:
            raise ValueError(
                f"An autocorrelation at lag {max(lags)} needs series of at least "
                f"{max(lags) + 1} time points; X has {self.n_features_in_} "
                "feature(s)."
            )
        return self

    def transform(self, X):
        """Summarise each series.

        Parameters
        ----------
        X : array-like of shape (n_datasets, T) or (n_datasets, n_replicates, T), \
                or list of arrays
            Series of the length seen in ``fit``.

        Returns
        -------
        X_new : ndarray of shape (n_datasets, n_features_out) or \
                (n_datasets, n_replicates, n_features_out), or list of arrays
            The summaries, in the layout of ``X``.
        """
        check_is_fitted(self)
        data = self._validate(X, reset=False)
        x = data.values
        blocks = [SERIES_MOMENTS[name](x) for name in self.moments]
        blocks += [autocorrelation(x, lag) for lag in self._lags()]
        out = np.stack(blocks, axis=-1)
        if data.replicated:
            return unpad(out, data.mask)
        return self._container(out, X)

    def get_feature_names_out(self, input_features=None):
        """Names of the output features.

        Parameters
        ----------
        input_features : array-like of str or None, default=None
            Names of the time points; only checked, the output names do not
            depend on them.

        Returns
        -------
        feature_names_out : ndarray of str
            The moment names followed by ``acf_<lag>``.
        """
        check_is_fitted(self, "n_features_in_")
        self._input_names(input_features)
        names = list(self.moments) + [f"acf_{k}" for k in self._lags()]
        return np.asarray(names, dtype=object)
