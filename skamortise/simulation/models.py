"""Labelled training data from several candidate models, for model comparison."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from sklearn.utils import check_random_state

from .._seeds import draw_seed
from ._simulate import simulate


def simulate_models(
    models: Mapping | Sequence,
    n: int,
    *,
    proportions: Sequence[float] | None = None,
    n_replicates=None,
    simulator_kwargs: dict | None = None,
    n_jobs: int | None = None,
    random_state=None,
):
    """Simulate labelled data sets from several candidate models.

    Parameters
    ----------
    models : mapping of label to (prior, simulator), or sequence of pairs
        The candidate models, each a prior and a simulator following the protocol
        of :func:`skamortise.simulate`; a sequence is labelled ``0, 1, ...``.
    n : int
        Total number of data sets.
    proportions : sequence of float, default=None
        Share of the data sets from each model (None: equal shares). The counts are
        fixed, not random: ``n * proportions`` rounded to integers summing to ``n``.
    n_replicates : int or sequence of int, default=None
        Replicate count(s) passed to every simulator (see :func:`skamortise.simulate`).
    simulator_kwargs : dict, default=None
        Further keywords for every simulator.
    n_jobs : int, default=None
        Parallel simulation jobs (joblib).
    random_state : int, RandomState instance or None, default=None
        Seeds the simulations and the shuffling of the rows.

    Returns
    -------
    X : ndarray or list of ndarray
        The data sets in random order: an array when the models' outputs stack, a
        list of arrays otherwise (ragged replicate counts).
    y : ndarray of shape (n,)
        The label of the model behind each data set.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.simulation import simulate_models
    >>> def prior(n, rng):
    ...     return rng.normal(size=(n, 1))
    >>> def narrow(theta, rng):
    ...     return theta + rng.normal(size=theta.shape)
    >>> def wide(theta, rng):
    ...     return theta + 3 * rng.normal(size=theta.shape)
    >>> X, y = simulate_models({"narrow": (prior, narrow), "wide": (prior, wide)},
    ...                        100, random_state=0)
    >>> X.shape, (y == "wide").sum()
    ((100, 1), np.int64(50))
    """
    pairs = (
        list(models.items()) if isinstance(models, Mapping) else list(enumerate(models))
    )
    if not pairs:
        raise ValueError("models must hold at least one (prior, simulator) pair.")
    counts = _allocate(n, len(pairs), proportions)
    rng = check_random_state(random_state)
    seeds = draw_seed(rng, size=len(pairs))
    blocks, labels = [], []
    for (label, model), count, seed in zip(pairs, counts, seeds, strict=True):
        if count == 0:
            continue
        prior, simulator = model
        X_k, _ = simulate(
            prior,
            simulator,
            int(count),
            n_replicates=n_replicates,
            simulator_kwargs=simulator_kwargs,
            n_jobs=n_jobs,
            random_state=int(seed),
        )
        blocks.append(X_k)
        labels.extend([label] * len(X_k))
    y = np.asarray(labels)
    order = rng.permutation(len(y))
    stackable = all(isinstance(b, np.ndarray) for b in blocks) and (
        len({b.shape[1:] for b in blocks}) == 1
    )
    if stackable:
        return np.concatenate(blocks)[order], y[order]
    rows = [np.asarray(row) for block in blocks for row in block]
    return [rows[i] for i in order], y[order]


def _allocate(n: int, n_models: int, proportions) -> np.ndarray:
    """Integer counts summing to ``n`` in the given proportions (largest remainder)."""
    if proportions is None:
        share = np.full(n_models, 1.0 / n_models)
    else:
        share = np.asarray(proportions, dtype=np.float64)
        if (
            share.shape != (n_models,)
            or (share < 0).any()
            or not np.isclose(share.sum(), 1.0)
        ):
            raise ValueError(
                f"proportions must be {n_models} non-negative numbers summing to "
                f"one; got {proportions!r}."
            )
    exact = n * share
    counts = np.floor(exact).astype(np.int64)
    remainder = n - counts.sum()
    counts[np.argsort(-(exact - counts), kind="stable")[:remainder]] += 1
    return counts
