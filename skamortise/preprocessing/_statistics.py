"""Expert statistics next to the raw data, as set-level covariates."""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.utils.validation import check_is_fitted

from ..covariates import WithCovariates, split_covariates
from ._replicates import ReplicateSummaries


class ExpertStatistics(TransformerMixin, BaseEstimator, auto_wrap_output_keys=None):
    """Compute statistics of each data set and keep the data: both reach the network.

    Hand-made summaries such as :class:`ReplicateSummaries` replace the data when
    used as a pipeline step; this step keeps the raw data for the learned summary
    and passes the statistics as set-level covariates
    (:class:`skamortise.WithCovariates`), which the estimator concatenates with the
    learned summary. Covariates already attached to ``X`` are kept, the statistics
    appended after them.

    Parameters
    ----------
    statistics : transformer, default=None
        Maps the data sets to ``(n_datasets, n_statistics)``; fitted on the data
        at ``fit``. None means ``ReplicateSummaries()`` (mean, sd and ``log m``).

    Attributes
    ----------
    statistics_ : transformer
        The fitted ``statistics``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import NeuralBayesEstimator, make_pipeline
    >>> from skamortise.preprocessing import ExpertStatistics
    >>> rng = np.random.default_rng(0)
    >>> theta = rng.normal(size=(100, 1))
    >>> X = theta[:, :, None] + rng.normal(size=(100, 8, 1))
    >>> ExpertStatistics().fit_transform(X).covariates.shape
    (100, 3)
    >>> pipe = make_pipeline(ExpertStatistics(), NeuralBayesEstimator(
    ...     hidden_layer_sizes=(8,), max_epochs=2, random_state=0))
    >>> pipe.fit(X, theta).predict(X[:2]).shape
    (2, 1)
    """

    def __init__(self, statistics=None):
        self.statistics = statistics

    def fit(self, X, y=None):
        """Fit the statistics on the data sets of ``X``.

        Parameters
        ----------
        X : array-like, list of arrays or WithCovariates
            Data sets in any layout the statistics take.
        y : ignored

        Returns
        -------
        self : ExpertStatistics
        """
        data, _ = split_covariates(X)
        statistics = (
            ReplicateSummaries() if self.statistics is None else self.statistics
        )
        self.statistics_ = clone(statistics).fit(data)
        return self

    def transform(self, X) -> WithCovariates:
        """The data sets of ``X`` with their statistics as covariates.

        Parameters
        ----------
        X : array-like, list of arrays or WithCovariates
            Data sets in the layout used at fit.

        Returns
        -------
        X_new : WithCovariates
            The data sets unchanged, and ``(n_datasets, n_covariates +
            n_statistics)`` covariates.
        """
        check_is_fitted(self)
        data, covariates = split_covariates(X)
        values = np.asarray(self.statistics_.transform(data), dtype=np.float64)
        values = values.reshape(len(values), -1)
        if covariates is not None:
            values = np.column_stack([covariates, values])
        return WithCovariates(data, values)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        tags.requires_fit = True
        return tags
