"""Data sets with set-level covariates: one input that splits like an array.

A covariate is known for a whole data set and enters the inference network next to
the learned summary of its data: a design variable, a known sample size or
censoring threshold, a covariate that differs between data sets, or expert
statistics computed from the data
(:class:`skamortise.preprocessing.ExpertStatistics`). :class:`WithCovariates`
pairs the data sets ``X`` (any layout the estimators take: a table, replicates, a
ragged list, grids, series) with a covariate vector per data set, and indexes both
together, so that scikit-learn's
splitting (``GridSearchCV``, ``cross_val_score``, ``train_test_split``) and
pipelines handle it as they handle an array.
"""

from __future__ import annotations

import numbers
from itertools import compress

import numpy as np

__all__ = ["WithCovariates", "split_covariates"]


def _take(X, key):
    """The data sets of ``X`` at ``key`` (a slice, or an int or bool array)."""
    if hasattr(X, "iloc"):  # a DataFrame
        return X.iloc[key]
    if isinstance(X, (list, tuple)):
        if isinstance(key, slice):
            return list(X[key])
        if key.dtype == bool:
            return list(compress(X, key))
        return [X[i] for i in key]
    return X[key]


class WithCovariates:
    """Data sets and their set-level covariates, indexed together.

    Parameters
    ----------
    X : array-like, list of arrays or DataFrame
        The data sets, in any layout an estimator takes.
    covariates : array-like of shape (n_datasets,) or (n_datasets, n_covariates)
        One covariate vector per data set (a 1-D array is one covariate).

    Attributes
    ----------
    X : as given
        The data sets.
    covariates : ndarray of shape (n_datasets, n_covariates)
        The covariates, float64.
    shape : tuple of int
        ``(n_datasets,)``: what scikit-learn reads to count data sets and to
        split them (``sklearn.utils._safe_indexing`` indexes an object with a
        ``shape`` by ``obj[indices, ...]``, which this class supports; without
        one it would index element by element).

    Notes
    -----
    Indexing with a slice, an integer array or a boolean array gives a
    ``WithCovariates`` of those data sets; ``obj[i]`` with an integer gives the
    pair ``(X[i], covariates[i])``. An estimator fitted on a ``WithCovariates``
    takes one with the same number of covariates in every inference method, and
    refuses plain data; the covariates are standardised with the training
    covariates' mean and standard deviation.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import NeuralBayesEstimator, WithCovariates
    >>> from sklearn.model_selection import cross_val_score
    >>> rng = np.random.default_rng(0)
    >>> scale = rng.uniform(0.5, 2.0, size=200)  # known, different per data set
    >>> theta = rng.normal(size=200)
    >>> X = WithCovariates(theta[:, None, None] + scale[:, None, None]
    ...                    * rng.normal(size=(200, 10, 1)), scale)
    >>> est = NeuralBayesEstimator(hidden_layer_sizes=(8,), max_epochs=3,
    ...                            random_state=0)
    >>> cross_val_score(est, X, theta, cv=2).shape
    (2,)
    >>> est.fit(X, theta).predict(X[:3]).shape
    (3,)
    """

    def __init__(self, X, covariates):
        covariates = np.asarray(covariates, dtype=np.float64)
        if covariates.ndim == 1:
            covariates = covariates[:, None]
        if covariates.ndim != 2:
            raise ValueError(
                "covariates must be 1-D or 2-D (n_datasets, n_covariates); got shape "
                f"{covariates.shape}."
            )
        if isinstance(X, WithCovariates):
            raise TypeError("X is already a WithCovariates; pass its X.")
        if len(X) != len(covariates):
            raise ValueError(
                f"X holds {len(X)} data sets but covariates has {len(covariates)} "
                "rows; give one covariate vector per data set."
            )
        self.X, self.covariates = X, covariates

    def __len__(self) -> int:
        return len(self.covariates)

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    def __getitem__(self, key):
        if isinstance(key, tuple):  # scikit-learn's obj[indices, ...]
            if len(key) != 2 or key[1] is not Ellipsis:
                raise IndexError("WithCovariates indexes data sets only: obj[rows].")
            key = key[0]
        if isinstance(key, numbers.Integral):
            row = self.X.iloc[key] if hasattr(self.X, "iloc") else self.X[key]
            return row, self.covariates[key]
        if not isinstance(key, slice):
            key = np.asarray(key)
            if key.dtype != bool and not np.issubdtype(key.dtype, np.integer):
                if key.size:
                    raise IndexError(
                        "WithCovariates takes a slice, an integer or boolean array; "
                        f"got an array of {key.dtype}."
                    )
                key = key.astype(np.intp)
        return WithCovariates(_take(self.X, key), self.covariates[key])

    def __repr__(self) -> str:
        return (
            f"WithCovariates(<{len(self)} data sets>, covariates of shape "
            f"{self.covariates.shape})"
        )


def split_covariates(X):
    """``(X, covariates)``: the data and the covariates (None for plain data)."""
    if isinstance(X, WithCovariates):
        return X.X, X.covariates
    return X, None
