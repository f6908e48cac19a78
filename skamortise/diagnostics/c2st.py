"""Classifier two-sample test (C2ST) between two sets of samples.

A classifier is trained to tell the two sets apart; its cross-validated accuracy is
0.5 when they come from the same distribution and approaches 1 as the distributions
separate (Lopez-Paz and Oquab, 2017). The SBI benchmark (Lueckmann et al., 2021)
uses it to compare approximate posterior samples with reference samples.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import StratifiedKFold, cross_val_score
from sklearn.neural_network import MLPClassifier
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

from ._readers import draw_seed

__all__ = ["c2st", "c2st_per_dataset"]


def _mlp(n_features: int, seed: int) -> MLPClassifier:
    # The benchmark's classifier: two ReLU layers of 10 units per dimension. Early
    # stopping on a 10% validation split (patience 50 epochs) bounds the cost of
    # each fold without changing the accuracy much.
    return MLPClassifier(
        activation="relu",
        hidden_layer_sizes=(10 * n_features, 10 * n_features),
        max_iter=1000,
        solver="adam",
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=50,
        random_state=seed,
    )


def _random_forest(n_features: int, seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=100, random_state=seed)


CLASSIFIERS = {"mlp": _mlp, "rf": _random_forest}


def _as_samples(samples, name: str) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1:
        samples = samples[:, None]
    if samples.ndim != 2:
        raise ValueError(
            f"{name} must have shape (n_samples, n_dims); got shape {samples.shape}."
        )
    if not np.isfinite(samples).all():
        raise ValueError(f"{name} contains NaN or infinity.")
    return samples


def c2st(
    samples_p,
    samples_q,
    *,
    n_folds: int = 5,
    random_state=None,
    z_score: bool = True,
    classifier="mlp",
) -> float:
    """Classifier two-sample test accuracy between two sets of samples.

    Parameters
    ----------
    samples_p : array-like of shape (n_p, n_dims)
        Samples of the first distribution, for example reference posterior draws.
    samples_q : array-like of shape (n_q, n_dims)
        Samples of the second distribution, for example an estimator's draws.
    n_folds : int, default=5
        Folds of the stratified cross-validation.
    random_state : int, RandomState instance or None, default=None
        Seeds the classifier and the fold split.
    z_score : bool, default=True
        Standardise both sets with the mean and standard deviation of
        ``samples_p``, so that the classifier sees the scale of the reference.
    classifier : {"mlp", "rf"} or sklearn classifier, default="mlp"
        ``"mlp"`` is the benchmark's ``MLPClassifier`` (ReLU, two hidden layers of
        ``10 * n_dims`` units, adam, at most 1000 epochs, early stopping);
        ``"rf"`` a 100-tree random forest; a classifier instance is cloned.

    Returns
    -------
    float
        Mean cross-validated accuracy: 0.5 means the sets cannot be told apart,
        1 means they are perfectly separable.

    Notes
    -----
    With ``n`` samples per set the accuracy of indistinguishable sets scatters
    around 0.5 with a standard deviation of roughly ``0.5 / sqrt(2 n)``; use equal
    set sizes so that 0.5 is the chance level.

    References
    ----------
    .. [1] Lopez-Paz, D. and Oquab, M. (2017). Revisiting classifier two-sample
       tests. ICLR.
    .. [2] Lueckmann, J.-M., Boelts, J., Greenberg, D., Goncalves, P. and Macke, J.
       (2021). Benchmarking simulation-based inference. AISTATS.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import c2st
    >>> rng = np.random.default_rng(0)
    >>> p = rng.standard_normal((500, 2))
    >>> q = rng.standard_normal((500, 2)) + 3.0
    >>> bool(c2st(p, q, random_state=0) > 0.9)
    True
    """
    p = _as_samples(samples_p, "samples_p")
    q = _as_samples(samples_q, "samples_q")
    if p.shape[1] != q.shape[1]:
        raise ValueError(
            f"samples_p has {p.shape[1]} dimensions but samples_q has {q.shape[1]}."
        )
    if z_score:
        mean, std = p.mean(axis=0), p.std(axis=0)
        # A constant coordinate carries no scale; leave it unscaled, not divided by 0.
        std = np.where(std > 0, std, 1.0)
        p, q = (p - mean) / std, (q - mean) / std

    rng = check_random_state(random_state)
    seed = draw_seed(rng)
    if isinstance(classifier, str):
        if classifier not in CLASSIFIERS:
            raise ValueError(
                f"classifier must be one of {sorted(CLASSIFIERS)} or an sklearn "
                f"classifier; got {classifier!r}."
            )
        model = CLASSIFIERS[classifier](p.shape[1], seed)
    else:
        model = clone(classifier)

    data = np.concatenate([p, q])
    labels = np.concatenate([np.zeros(len(p)), np.ones(len(q))])
    folds = StratifiedKFold(n_splits=n_folds, shuffle=True, random_state=seed)
    scores = cross_val_score(model, data, labels, cv=folds, scoring="accuracy")
    return float(np.mean(scores))


def c2st_per_dataset(
    samples_a,
    samples_b,
    *,
    n_folds: int = 5,
    random_state=None,
    z_score: bool = True,
    classifier="mlp",
    n_jobs: int | None = None,
) -> np.ndarray:
    """C2ST accuracy for each data set of a batch of sample sets.

    Parameters
    ----------
    samples_a, samples_b : array-like of shape (n_datasets, n_samples, n_dims)
        Two sets of samples per data set, for example reference posterior draws and
        ``estimator.sample(X, n_samples)``. A 2-D array is one dimension.
    n_folds, z_score, classifier
        As in :func:`c2st`.
    random_state : int, RandomState instance or None, default=None
        Seeds each data set's test; the per-data-set seeds are drawn up front, so
        the result does not depend on ``n_jobs``.
    n_jobs : int, default=None
        Data sets tested in parallel (joblib).

    Returns
    -------
    ndarray of shape (n_datasets,)
        One accuracy per data set.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.diagnostics import c2st_per_dataset
    >>> rng = np.random.default_rng(0)
    >>> a = rng.standard_normal((2, 300, 1))
    >>> b = rng.standard_normal((2, 300, 1)) + np.array([0.0, 4.0])[:, None, None]
    >>> accuracy = c2st_per_dataset(a, b, classifier="rf", random_state=0)
    >>> accuracy.shape, bool(accuracy[1] > 0.9)
    ((2,), True)
    """
    a = np.asarray(samples_a, dtype=np.float64)
    b = np.asarray(samples_b, dtype=np.float64)
    if a.ndim == 2:
        a = a[:, :, None]
    if b.ndim == 2:
        b = b[:, :, None]
    if a.ndim != 3 or b.ndim != 3 or len(a) != len(b):
        raise ValueError(
            "samples_a and samples_b must have shape (n_datasets, n_samples, n_dims) "
            f"with equal n_datasets; got {a.shape} and {b.shape}."
        )
    rng = check_random_state(random_state)
    seeds = [draw_seed(rng) for _ in range(len(a))]
    accuracy = Parallel(n_jobs=n_jobs)(
        delayed(c2st)(
            a[i],
            b[i],
            n_folds=n_folds,
            random_state=seeds[i],
            z_score=z_score,
            classifier=classifier,
        )
        for i in range(len(a))
    )
    return np.asarray(accuracy, dtype=np.float64)
