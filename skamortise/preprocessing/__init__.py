"""Summary transformers for simulated data sets, scikit-learn compatible.

They turn replicated data ``(n_datasets, n_replicates, n_features)``, ragged lists
of replicates and time series into the vectors any estimator takes, inside a
:class:`skamortise.pipeline.Pipeline`; :class:`ExpertStatistics` passes such
statistics next to the raw data instead, as set-level covariates.
"""

from ._replicates import ReplicateSummaries
from ._reshape import ReshapeReplicates
from ._series import TimeSeriesSummaries, autocorrelation
from ._statistics import ExpertStatistics

__all__ = [
    "ExpertStatistics",
    "ReplicateSummaries",
    "ReshapeReplicates",
    "TimeSeriesSummaries",
    "autocorrelation",
]
