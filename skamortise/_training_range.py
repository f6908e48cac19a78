"""What an estimator saw in training, and a warning when inference leaves it.

An amortised network answers for any input, including data its simulator could not
have produced. At fit, the estimator records two things about its training data:

- the range of replicate counts (replicated data only);
- the mean and covariance of the learned summaries, and the ``QUANTILE`` quantile
  of the training data sets' squared Mahalanobis distances, each half of the data
  measured against the other half's mean and covariance (out-of-sample, so the
  threshold is not optimistic).

At inference, with ``warn_out_of_range=True``, a data set whose replicate count lies
outside the range, or whose summary is farther from the training mean than that
quantile, raises an :class:`OutOfRangeWarning`. The threshold is a quantile of the
training distances rather than a chi-square quantile because learned summaries are
not Gaussian: about one data set in a thousand drawn like the training data crosses
it, whatever the shape of the summaries (about one in ``n`` when only ``n < 1000``
training data sets are recorded, since the quantile is then close to their
largest distance).
"""

from __future__ import annotations

import os
import sys
import warnings

import numpy as np

__all__ = [
    "MAX_RECORDED",
    "QUANTILE",
    "OutOfRangeWarning",
    "check_training_range",
    "record_training_range",
    "squared_distances",
]

# Share of training data sets whose summaries lie within the distance threshold.
QUANTILE = 0.999
# Data sets whose summaries are recorded at fit, at most (evenly spaced).
MAX_RECORDED = 20_000
# Ridge on the summary covariance, relative to its mean variance: a summary that is
# constant in training (a unit that never fires) and moves at inference counts as
# far away instead of being ignored by a pseudo-inverse.
_RIDGE = 1e-3


class OutOfRangeWarning(UserWarning):
    """Data given for inference lie outside what the estimator saw in training."""


def record_training_range(summaries: np.ndarray, counts: np.ndarray | None) -> dict:
    """The training range to store at fit, as plain data.

    Parameters
    ----------
    summaries : ndarray of shape (n_datasets, n_summaries)
        Learned summaries of (a subset of) the training data sets.
    counts : ndarray of shape (n_datasets,) or None
        Replicate counts of all training data sets; None for unreplicated data.

    Returns
    -------
    dict
        ``summary_mean`` ``(k,)``, ``summary_precision`` ``(k, k)`` (inverse of the
        ridged covariance), ``distance_threshold`` (the ``QUANTILE`` quantile of
        the out-of-sample squared distances) and ``n_replicates`` (``(min, max)``
        or None).
    """
    summaries = np.asarray(summaries, dtype=np.float64)
    record = _moments(summaries)
    # Distances of the data that fixed the mean and covariance are optimistic
    # (in-sample); the threshold takes each half's distances under the other
    # half's moments instead, so that new data cross it at about the nominal rate.
    halves = (summaries[0::2], summaries[1::2])
    if min(len(h) for h in halves) > 1:
        distances = np.concatenate(
            [
                squared_distances(_moments(fit), held_out)
                for fit, held_out in (halves, halves[::-1])
            ]
        )
    else:
        distances = squared_distances(record, summaries)
    record["distance_threshold"] = float(np.quantile(distances, QUANTILE))
    record["n_replicates"] = None
    if counts is not None and len(counts):
        record["n_replicates"] = (int(np.min(counts)), int(np.max(counts)))
    return record


def _moments(summaries: np.ndarray) -> dict:
    """Mean and ridged inverse covariance of the rows of ``summaries``."""
    mean = summaries.mean(axis=0)
    centred = summaries - mean
    covariance = centred.T @ centred / max(len(summaries) - 1, 1)
    ridge = _RIDGE * max(float(np.mean(np.diag(covariance))), 1e-12)
    precision = np.linalg.inv(covariance + ridge * np.eye(len(mean)))
    return {"summary_mean": mean, "summary_precision": precision}


def squared_distances(record: dict, summaries: np.ndarray) -> np.ndarray:
    """Squared Mahalanobis distances of ``summaries`` to the training mean."""
    centred = np.asarray(summaries, dtype=np.float64) - record["summary_mean"]
    return np.einsum("ij,jk,ik->i", centred, record["summary_precision"], centred)


def _caller_level() -> int:
    """``stacklevel`` of the first frame outside the package, for ``warnings.warn``.

    Inference methods reach the check through different depths of package code;
    the warning should point at the user's line whichever method they called.
    """
    package = os.path.dirname(os.path.abspath(__file__))
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(package):
        frame, level = frame.f_back, level + 1
    return level


def _listing(index: np.ndarray, limit: int = 10) -> str:
    shown = ", ".join(str(int(i)) for i in index[:limit])
    return shown + (", ..." if len(index) > limit else "")


def check_training_range(
    record: dict | None, summaries, counts: np.ndarray | None, owner: str
) -> None:
    """Warn when data sets lie outside the recorded training range.

    Parameters
    ----------
    record : dict or None
        From :func:`record_training_range`; None when the estimator has none (a
        file saved before it was recorded), which itself warns.
    summaries : callable
        Returns the summaries ``(n_datasets, n_summaries)`` of the data; called
        only when a record exists.
    counts : ndarray of shape (n_datasets,) or None
        Replicate counts of the data; None for unreplicated data.
    owner : str
        Name of the estimator, for the message.
    """
    if record is None:
        warnings.warn(
            f"{owner} has no record of its training range (it was fitted or saved "
            "by an older version); refit it to check inputs against it.",
            OutOfRangeWarning,
            stacklevel=_caller_level(),
        )
        return
    problems = []
    trained = record["n_replicates"]
    if trained is not None and counts is not None:
        low, high = trained
        outside = np.flatnonzero((counts < low) | (counts > high))
        if len(outside):
            seen = sorted({int(c) for c in counts[outside]})
            problems.append(
                f"{len(outside)} data set(s) have replicate counts {seen} outside "
                f"the trained range [{low}, {high}] (data sets {_listing(outside)})"
            )
    distances = squared_distances(record, summaries())
    far = np.flatnonzero(~(distances <= record["distance_threshold"]))
    if len(far):
        problems.append(
            f"{len(far)} data set(s) have learned summaries farther from the "
            "training summaries than "
            f"{QUANTILE:.1%} of the training data sets (squared Mahalanobis distance "
            f"up to {np.nanmax(distances):.3g} against "
            f"{record['distance_threshold']:.3g}; data sets {_listing(far)})"
        )
    if problems:
        warnings.warn(
            f"{owner}: inputs outside what training saw: "
            + "; ".join(problems)
            + ". Its answers there are extrapolation.",
            OutOfRangeWarning,
            stacklevel=_caller_level(),
        )
