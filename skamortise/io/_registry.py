"""What a saved file may name: the one place to extend.

A file records classes and functions by ``"module:qualname"``. Loading looks that
name up here, by exact match, and nowhere else: nothing is imported or reached by
attribute access on the file's say. The registry holds

- estimators (``"__estimator__"`` entries): skamortise's estimators, ensemble,
  pipeline and transformers, and scikit-learn's estimator classes as listed by
  :func:`sklearn.utils.all_estimators` (pipeline steps);
- callables (``"__callable__"`` entries, parameter values): skamortise's summary
  networks, the point losses that can be passed as functions, and the activation
  modules.

Anything else must be passed to :func:`skamortise.io.load` in ``custom_objects``.
Each table is built once, on first use (listing scikit-learn's estimators imports
all of scikit-learn, so that table waits until a file names one).
"""

from __future__ import annotations

from functools import cache

from .._saving import qualified_name

__all__ = ["qualified_name", "find"]


def _table(objects) -> dict[str, object]:
    return {qualified_name(obj): obj for obj in objects}


@cache
def _package_estimators() -> dict[str, type]:
    from ..ensemble import NeuralEnsemble
    from ..estimators import (
        NeuralBayesEstimator,
        NeuralModelComparison,
        NeuralPosteriorEstimator,
        NeuralQuantileEstimator,
        NeuralRatioEstimator,
    )
    from ..pipeline import Pipeline
    from ..preprocessing import (
        ExpertStatistics,
        ReplicateSummaries,
        ReshapeReplicates,
        TimeSeriesSummaries,
    )

    return _table(
        [
            NeuralBayesEstimator,
            NeuralModelComparison,
            NeuralPosteriorEstimator,
            NeuralQuantileEstimator,
            NeuralRatioEstimator,
            NeuralEnsemble,
            Pipeline,
            ExpertStatistics,
            ReplicateSummaries,
            ReshapeReplicates,
            TimeSeriesSummaries,
        ]
    )


@cache
def _sklearn_estimators() -> dict[str, type]:
    from sklearn.utils import all_estimators

    return _table(cls for _, cls in all_estimators())


@cache
def _callables() -> dict[str, object]:
    from ..losses import absolute_error, squared_error
    from ..nn import CNN, MLP, DeepSet
    from ..nn._activations import ACTIVATIONS

    return _table(
        [MLP, DeepSet, CNN, squared_error, absolute_error, *ACTIVATIONS.values()]
    )


def find(name: str, kind: str):
    """The registered object called ``name``, or None.

    Parameters
    ----------
    name : str
        The exact ``"module:qualname"`` recorded in the file.
    kind : {"estimator", "callable"}
        Which table: estimator classes, or the callables a parameter may hold.
    """
    if kind == "estimator":
        found = _package_estimators().get(name)
        return found if found is not None else _sklearn_estimators().get(name)
    if kind == "callable":
        return _callables().get(name)
    raise ValueError(f"kind must be 'estimator' or 'callable'; got {kind!r}.")
