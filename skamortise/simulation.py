"""Simulating training data from a prior and a simulator, in parallel chunks.

The protocol (plain numpy callables, so any simulator plugs in):

- a prior is ``prior(n, rng) -> (n, n_parameters)`` with ``rng`` a
  :class:`numpy.random.Generator`, or an object with ``rvs(size=..., random_state=...)``
  such as a frozen :mod:`scipy.stats` distribution;
- a simulator is ``simulator(theta, rng, **kwargs) -> data`` returning one data set per
  row of ``theta``: a 2-D array, a 3-D replicated array, or a list of arrays. A model
  with replicates takes their count as the keyword ``n_replicates``.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

__all__ = ["simulate", "draw_prior", "simulate_data"]


def draw_prior(prior, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` parameter vectors as an ``(n, n_parameters)`` float64 array."""
    if hasattr(prior, "rvs"):
        theta = prior.rvs(size=n, random_state=rng)
    elif callable(prior):
        theta = prior(n, rng)
    else:
        raise TypeError(
            "prior must be a callable prior(n, rng) or have an rvs(size, random_state) "
            f"method; got {type(prior).__name__}."
        )
    theta = np.asarray(theta, dtype=np.float64)
    # scipy squeezes: univariate rvs give (n,), multivariate ones (p,) when n == 1.
    if theta.ndim == 1:
        theta = theta.reshape(1, -1) if n == 1 else theta.reshape(-1, 1)
    if theta.ndim != 2 or theta.shape[0] != n:
        raise ValueError(
            f"prior returned an array of shape {theta.shape} for n={n}; expected "
            "(n, n_parameters)."
        )
    return theta


def _rows(data, n: int) -> list:
    """A simulator's output for ``n`` data sets as a list of per-data-set arrays."""
    if isinstance(data, (list, tuple)):
        rows = [np.asarray(x, dtype=np.float64) for x in data]
    else:
        rows = list(np.asarray(data, dtype=np.float64))
    if len(rows) != n:
        raise ValueError(
            f"simulator returned {len(rows)} data sets for {n} parameter rows; it "
            "must return one data set per row of theta."
        )
    return rows


def simulate_data(simulator, theta: np.ndarray, rng, n_replicates=None, kwargs=None):
    """Simulate one data set per row of ``theta`` as a list of arrays.

    ``n_replicates`` is None (no keyword passed), an int, or an array with one count
    per row; rows are then simulated in groups sharing a count.
    """
    kwargs = dict(kwargs or {})
    if n_replicates is None:
        return _rows(simulator(theta, rng, **kwargs), len(theta))
    counts = np.broadcast_to(np.asarray(n_replicates), (len(theta),))
    rows = [None] * len(theta)
    for m in np.unique(counts):
        index = np.flatnonzero(counts == m)
        out = _rows(simulator(theta[index], rng, n_replicates=int(m), **kwargs), len(index))
        for i, x in zip(index, out, strict=True):
            rows[i] = x
    return rows


def _draw_counts(n_replicates, n: int, rng) -> np.ndarray | None:
    if n_replicates is None:
        return None
    if isinstance(n_replicates, numbers.Integral):
        return np.full(n, int(n_replicates))
    return rng.choice(np.asarray(n_replicates, dtype=np.int64), size=n)


def _simulate_chunk(prior, simulator, size, seed, n_replicates, kwargs, on_error):
    rng = np.random.default_rng(seed)
    theta = draw_prior(prior, size, rng)
    counts = _draw_counts(n_replicates, size, rng)
    try:
        rows = simulate_data(simulator, theta, rng, counts, kwargs)
    except Exception as err:
        if on_error == "raise":
            raise RuntimeError(
                f"The simulator raised {type(err).__name__}: {err} on a batch of "
                f"{size} parameter rows (first: {theta[0].tolist()}). Use "
                "on_error='drop' to skip failing parameters."
            ) from err
        rows = _simulate_one_by_one(simulator, theta, rng, counts, kwargs)
    keep = np.array([x is not None and bool(np.isfinite(x).all()) for x in rows])
    if on_error == "raise" and not keep.all():
        bad = theta[~keep][:5].tolist()
        raise ValueError(
            f"The simulator returned non-finite values for {int((~keep).sum())} "
            f"parameter rows, e.g. {bad}. Use on_error='drop' to skip them."
        )
    rows = [x for x, k in zip(rows, keep, strict=True) if k]
    return rows, theta[keep], int((~keep).sum())


def _simulate_one_by_one(simulator, theta, rng, counts, kwargs):
    rows = []
    for i in range(len(theta)):
        m = None if counts is None else counts[i : i + 1]
        try:
            rows.extend(simulate_data(simulator, theta[i : i + 1], rng, m, kwargs))
        except Exception:
            rows.append(None)
    return rows


def stack_rows(rows: list):
    """One array when every data set has the same shape, else the list itself."""
    if rows and all(x.shape == rows[0].shape for x in rows):
        return np.stack(rows)
    return rows


def simulate(
    prior,
    simulator,
    n: int,
    *,
    n_replicates: int | Sequence[int] | None = None,
    simulator_kwargs: dict | None = None,
    n_jobs: int | None = None,
    batch_size: int = 1000,
    on_error: str = "raise",
    random_state=None,
    verbose: int = 0,
):
    """Simulate ``n`` training pairs ``(X, y)`` from a prior and a simulator.

    Parameters are drawn and data simulated in chunks of ``batch_size``, each with
    its own random stream spawned from ``random_state``, so the result is the same
    for any ``n_jobs`` and any joblib backend (a dask cluster included).

    Parameters
    ----------
    prior : callable or object with ``rvs``
        ``prior(n, rng) -> (n, n_parameters)``, or e.g. a frozen scipy distribution.
    simulator : callable
        ``simulator(theta, rng, **simulator_kwargs) -> data``, one data set per row.
    n : int
        Number of data sets.
    n_replicates : int or sequence of int, default=None
        Replicate count passed to the simulator as the keyword ``n_replicates``; a
        sequence draws one count per data set uniformly from it (training one network
        across sample sizes), giving a ragged list when the counts differ.
    simulator_kwargs : dict, default=None
        Further keywords for the simulator.
    n_jobs : int, default=None
        Parallel jobs (joblib); None means 1 unless in a ``parallel_backend`` context.
    batch_size : int, default=1000
        Data sets per chunk (the unit of parallel work and of seeding).
    on_error : {"raise", "drop"}, default="raise"
        What to do when the simulator raises or returns NaN/inf for some parameters:
        raise an error naming them, or drop those pairs with a warning giving the count.
    random_state : int, RandomState instance or None, default=None
        Seeds the chunks' streams.
    verbose : int, default=0
        Show a progress bar over chunks when positive.

    Returns
    -------
    X : ndarray or list of ndarray
        The data sets, in the layout the simulator returns (a list when shapes differ).
    y : ndarray of shape (n_kept, n_parameters)
        The parameters, row-aligned with ``X``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import simulate
    >>> prior = lambda n, rng: rng.normal(size=(n, 1))
    >>> simulator = lambda theta, rng: theta + rng.normal(size=theta.shape)
    >>> X, y = simulate(prior, simulator, 5, random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5, 1))
    """
    if not isinstance(n, numbers.Integral) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    if not isinstance(batch_size, numbers.Integral) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if on_error not in ("raise", "drop"):
        raise ValueError(f"on_error must be 'raise' or 'drop'; got {on_error!r}.")
    if not callable(simulator):
        raise TypeError(f"simulator must be callable; got {type(simulator).__name__}.")
    _check_replicates(n_replicates)
    rng = check_random_state(random_state)
    sizes = [min(batch_size, n - start) for start in range(0, n, batch_size)]
    seeds = np.random.SeedSequence(int(rng.randint(2**31 - 1))).spawn(len(sizes))
    jobs = (
        delayed(_simulate_chunk)(
            prior, simulator, size, seed, n_replicates, simulator_kwargs, on_error
        )
        for size, seed in zip(sizes, seeds, strict=True)
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    if verbose:
        from tqdm.auto import tqdm

        results = tqdm(results, total=len(sizes), desc="simulating", unit="chunk")
    rows, thetas, dropped = [], [], 0
    for chunk_rows, chunk_theta, chunk_dropped in results:
        rows.extend(chunk_rows)
        thetas.append(chunk_theta)
        dropped += chunk_dropped
    if dropped:
        warnings.warn(
            f"Dropped {dropped} of {n} simulations whose simulator call failed or "
            "returned non-finite values.",
            UserWarning,
            stacklevel=2,
        )
    if not rows:
        raise ValueError("Every simulation failed; no training pairs were produced.")
    return stack_rows(rows), np.concatenate(thetas)


def _check_replicates(n_replicates) -> None:
    if n_replicates is None:
        return
    values = np.atleast_1d(np.asarray(n_replicates))
    if values.ndim != 1 or values.size == 0 or not np.issubdtype(values.dtype, np.integer):
        raise ValueError(
            "n_replicates must be a positive int or a non-empty sequence of them; got "
            f"{n_replicates!r}."
        )
    if (values < 1).any():
        raise ValueError(f"n_replicates must be at least 1; got {n_replicates!r}.")
