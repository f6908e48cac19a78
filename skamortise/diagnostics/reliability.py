"""Calibration of predicted probabilities: reliability diagrams, ECE, Brier score.

A classifier's probabilities are calibrated when, among the data sets given
probability ``p`` for a class, a share ``p`` belong to it. For amortised model
comparison this checks the posterior model probabilities on simulated data whose
true model is known: binned predicted probabilities against the empirical
frequencies (the reliability diagram), their weighted mean absolute gap (expected
calibration error) and the Brier score.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.metrics import brier_score_loss

__all__ = [
    "ReliabilityResult",
    "expected_calibration_error",
    "reliability",
    "reliability_from_proba",
]

_STRATEGIES = ("uniform", "quantile")


@dataclass
class ReliabilityResult:
    """Binned calibration of predicted class probabilities.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per class and non-empty bin, one-vs-rest: ``class``, ``bin``,
        ``lower`` and ``upper`` (bin edges), ``n`` (data sets in the bin),
        ``mean_predicted`` (their mean predicted probability of the class),
        ``frequency`` (the share that belong to the class) and ``se``
        (``sqrt(mean_predicted (1 - mean_predicted) / n)``, the binomial standard
        error of the frequency if the probabilities are calibrated).
    ece : pandas.Series
        Expected calibration error per class: the mean over bins, weighted by
        ``n``, of ``|frequency - mean_predicted|``.
    brier : float
        Brier score: the mean squared distance between the probability vector and
        the one-hot true class (as :func:`sklearn.metrics.brier_score_loss`; lower
        is better).
    n_bins : int
        Bins asked for.
    strategy : str
        ``"uniform"`` or ``"quantile"`` bin edges.
    """

    table: pd.DataFrame
    ece: pd.Series
    brier: float
    n_bins: int
    strategy: str

    @property
    def expected_calibration_error(self) -> float:
        """Class-wise ECE: the mean of ``ece`` over the classes."""
        return float(self.ece.mean())

    def __repr__(self) -> str:
        return (
            f"ReliabilityResult(n_classes={len(self.ece)}, "
            f"expected_calibration_error={self.expected_calibration_error:.4f}, "
            f"brier={self.brier:.4f}, n_bins={self.n_bins}, "
            f"strategy={self.strategy!r})"
        )


def _edges(p: np.ndarray, n_bins: int, strategy: str) -> np.ndarray:
    if strategy == "uniform":
        return np.linspace(0.0, 1.0, n_bins + 1)
    edges = np.unique(np.quantile(p, np.linspace(0.0, 1.0, n_bins + 1)))
    edges[0], edges[-1] = min(edges[0], 0.0), max(edges[-1], 1.0)
    return edges


def _one_vs_rest(label, p: np.ndarray, hit: np.ndarray, n_bins: int, strategy: str):
    edges = _edges(p, n_bins, strategy)
    # Right-closed bins except the first, so p = 0 and p = 1 both fall inside.
    index = np.clip(np.searchsorted(edges, p, side="left") - 1, 0, len(edges) - 2)
    rows = []
    for b in np.unique(index):
        inside = index == b
        n = int(inside.sum())
        mean_p = float(p[inside].mean())
        rows.append(
            {
                "class": label,
                "bin": int(b),
                "lower": float(edges[b]),
                "upper": float(edges[b + 1]),
                "n": n,
                "mean_predicted": mean_p,
                "frequency": float(hit[inside].mean()),
                "se": float(np.sqrt(mean_p * (1.0 - mean_p) / n)),
            }
        )
    return rows


def _check_inputs(y, proba, classes):
    proba = np.asarray(proba, dtype=np.float64)
    y = np.asarray(y)
    if proba.ndim == 1:  # binary: probability of the second class
        proba = np.column_stack([1.0 - proba, proba])
    if proba.ndim != 2 or len(proba) != len(y) or y.ndim != 1:
        raise ValueError(
            "y must have shape (n_datasets,) and proba (n_datasets, n_classes); got "
            f"{y.shape} and {proba.shape}."
        )
    if len(y) == 0:
        raise ValueError("reliability needs at least one data set.")
    if not np.isfinite(proba).all() or (proba < 0).any() or (proba > 1).any():
        raise ValueError("proba must hold probabilities in [0, 1].")
    classes = np.unique(y) if classes is None else np.asarray(classes)
    if len(classes) != proba.shape[1]:
        raise ValueError(
            f"proba has {proba.shape[1]} columns but there are {len(classes)} "
            "classes; pass classes (the estimator's classes_) in column order."
        )
    unknown = np.setdiff1d(np.unique(y), classes)
    if len(unknown):
        raise ValueError(f"y holds labels not in classes: {unknown.tolist()}.")
    return y, proba, classes


def reliability_from_proba(
    y,
    proba,
    *,
    classes=None,
    n_bins: int = 10,
    strategy: str = "uniform",
) -> ReliabilityResult:
    """Reliability diagram data, ECE and Brier score of given probabilities.

    Parameters
    ----------
    y : array-like of shape (n_datasets,)
        True labels (the model that simulated each data set).
    proba : array-like of shape (n_datasets, n_classes) or (n_datasets,)
        Predicted probabilities, columns in the order of ``classes``; a 1-D array
        is the probability of the second of two classes.
    classes : array-like of shape (n_classes,), default=None
        The labels of the columns; None means the sorted labels of ``y``.
    n_bins : int, default=10
        Number of bins of the predicted probability.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins on [0, 1], or bins holding equal numbers of data sets
        (per class; duplicate edges merged).

    Returns
    -------
    ReliabilityResult

    See Also
    --------
    reliability : the same from an estimator's ``predict_proba``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics.reliability import reliability_from_proba
    >>> rng = np.random.default_rng(0)
    >>> p = rng.uniform(size=2000)
    >>> y = (rng.uniform(size=2000) < p).astype(int)  # calibrated by construction
    >>> result = reliability_from_proba(y, p, n_bins=5)
    >>> result.expected_calibration_error < 0.05
    True
    >>> sorted(result.table.columns)[:4]
    ['bin', 'class', 'frequency', 'lower']
    """
    if strategy not in _STRATEGIES:
        raise ValueError(f"strategy must be 'uniform' or 'quantile'; got {strategy!r}.")
    if not isinstance(n_bins, int | np.integer) or n_bins < 1:
        raise ValueError(f"n_bins must be a positive int; got {n_bins!r}.")
    y, proba, classes = _check_inputs(y, proba, classes)
    rows, ece = [], {}
    for k, label in enumerate(classes):
        part = _one_vs_rest(label, proba[:, k], y == label, n_bins, strategy)
        rows.extend(part)
        ece[label] = sum(
            r["n"] * abs(r["frequency"] - r["mean_predicted"]) for r in part
        ) / len(y)
    table = pd.DataFrame(
        rows,
        columns=[
            "class",
            "bin",
            "lower",
            "upper",
            "n",
            "mean_predicted",
            "frequency",
            "se",
        ],
    )
    brier = float(brier_score_loss(y, proba, labels=classes))
    series = pd.Series(ece, name="ece", dtype=np.float64)
    series.index.name = "class"
    return ReliabilityResult(table, series, brier, int(n_bins), strategy)


def reliability(
    estimator,
    X,
    y,
    *,
    n_bins: int = 10,
    strategy: str = "uniform",
) -> ReliabilityResult:
    """Calibration of an estimator's class probabilities on labelled test data.

    Parameters
    ----------
    estimator : object
        Fitted classifier with ``predict_proba`` and ``classes_``, such as
        :class:`~skamortise.estimators.NeuralModelComparison`.
    X : array-like or list of arrays
        Test data sets, simulated from known models.
    y : array-like of shape (n_datasets,)
        The label of the model behind each data set.
    n_bins : int, default=10
        Number of bins of the predicted probability.
    strategy : {"uniform", "quantile"}, default="uniform"
        Equal-width bins, or bins with equal counts.

    Returns
    -------
    ReliabilityResult

    See Also
    --------
    skamortise.plotting.plot_reliability : the reliability diagram.
    """
    proba = np.asarray(estimator.predict_proba(X), dtype=np.float64)
    return reliability_from_proba(
        y, proba, classes=estimator.classes_, n_bins=n_bins, strategy=strategy
    )


def expected_calibration_error(
    y, proba, *, classes=None, n_bins: int = 10, strategy: str = "uniform"
) -> float:
    """Class-wise expected calibration error of predicted probabilities.

    The mean over classes of ``sum_b (n_b / n) |frequency_b - mean_predicted_b|``
    (one-vs-rest bins of each class's probability); 0 for calibrated
    probabilities, up to Monte Carlo noise.

    Parameters
    ----------
    y : array-like of shape (n_datasets,)
        True labels.
    proba : array-like of shape (n_datasets, n_classes) or (n_datasets,)
        Predicted probabilities (see :func:`reliability_from_proba`).
    classes : array-like, default=None
        Labels of the columns; None means the sorted labels of ``y``.
    n_bins : int, default=10
        Number of bins.
    strategy : {"uniform", "quantile"}, default="uniform"
        Bin edges.

    Returns
    -------
    float
    """
    result = reliability_from_proba(
        y, proba, classes=classes, n_bins=n_bins, strategy=strategy
    )
    return result.expected_calibration_error
