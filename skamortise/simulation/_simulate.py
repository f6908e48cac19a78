"""Simulating training data from a prior and a simulator, in parallel chunks.

The protocol (plain numpy callables, so any simulator plugs in):

- a prior is ``prior(n, rng) -> (n, n_parameters)`` with ``rng`` a
  :class:`numpy.random.Generator`, or an object with ``rvs(size=..., random_state=...)``
  such as a frozen :mod:`scipy.stats` distribution;
- a simulator is ``simulator(theta, rng, **kwargs) -> data`` returning one data set per
  row of ``theta``: a 2-D array, a 3-D replicated array, or a list of arrays. A model
  with replicates takes their count as the keyword ``n_replicates``.

Work is cut into chunks of a fixed size, each with its own random stream spawned from
``random_state`` in the calling process, so the output does not depend on how many
workers run the chunks, nor on the joblib backend that runs them.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.parallel import Parallel, delayed

__all__ = ["simulate", "draw_prior", "simulate_data", "stack_rows"]

# How many failing parameter rows an error message lists.
_N_NAMED = 5


def draw_prior(prior, n: int, rng: np.random.Generator) -> np.ndarray:
    """Draw ``n`` parameter vectors as an ``(n, n_parameters)`` float64 array.

    Parameters
    ----------
    prior : callable or object with ``rvs``
        ``prior(n, rng)``, or e.g. a frozen scipy distribution.
    n : int
        Number of draws.
    rng : numpy.random.Generator
        The random stream.

    Returns
    -------
    theta : ndarray of shape (n, n_parameters)

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import stats
    >>> from skamortise.simulation import draw_prior
    >>> draw_prior(stats.norm(), 3, np.random.default_rng(0)).shape
    (3, 1)
    """
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


class _ProtocolError(ValueError):
    """The simulator broke the protocol (not a failure at some parameters)."""


def _rows(data, n: int) -> list:
    """A simulator's output for ``n`` data sets as a list of per-data-set arrays."""
    if isinstance(data, (list, tuple)):
        rows = [np.asarray(x, dtype=np.float64) for x in data]
    else:
        rows = list(np.asarray(data, dtype=np.float64))
    if len(rows) != n:
        raise _ProtocolError(
            f"simulator returned {len(rows)} data sets for {n} parameter rows; it "
            "must return one data set per row of theta."
        )
    return rows


def simulate_data(simulator, theta: np.ndarray, rng, n_replicates=None, kwargs=None):
    """Simulate one data set per row of ``theta`` as a list of arrays.

    Parameters
    ----------
    simulator : callable
        ``simulator(theta, rng, **kwargs)``.
    theta : ndarray of shape (n, n_parameters)
        Parameter rows.
    rng : numpy.random.Generator
        The random stream handed to the simulator.
    n_replicates : None, int or array of int, default=None
        None passes no ``n_replicates`` keyword; an int passes it; an array holds one
        count per row, and rows sharing a count are simulated in one call.
    kwargs : dict, default=None
        Further keywords for the simulator.

    Returns
    -------
    rows : list of ndarray
        One float64 array per row of ``theta``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.simulation import simulate_data
    >>> sim = lambda theta, rng, n_replicates: theta[:, None] + rng.normal(
    ...     size=(len(theta), n_replicates, 1))
    >>> rows = simulate_data(sim, np.zeros((3, 1)), np.random.default_rng(0), [2, 5, 2])
    >>> [x.shape for x in rows]
    [(2, 1), (5, 1), (2, 1)]
    """
    kwargs = dict(kwargs or {})
    if n_replicates is None:
        return _rows(simulator(theta, rng, **kwargs), len(theta))
    counts = np.broadcast_to(np.asarray(n_replicates), (len(theta),))
    rows = [None] * len(theta)
    for m in np.unique(counts):
        index = np.flatnonzero(counts == m)
        out = simulator(theta[index], rng, n_replicates=int(m), **kwargs)
        out = _rows(out, len(index))
        for i, x in zip(index, out, strict=True):
            rows[i] = x
    return rows


def stack_rows(rows: list):
    """One array when every data set has the same shape, else the list itself.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.simulation import stack_rows
    >>> stack_rows([np.zeros((2, 1)), np.ones((2, 1))]).shape
    (2, 2, 1)
    >>> len(stack_rows([np.zeros((2, 1)), np.ones((3, 1))]))
    2
    """
    if rows and all(x.shape == rows[0].shape for x in rows):
        return np.stack(rows)
    return rows


def _concatenate(blocks: list):
    """Join per-chunk outputs (arrays or lists of arrays) into one container."""
    blocks = [b for b in blocks if len(b)]
    if blocks and all(isinstance(b, np.ndarray) for b in blocks):
        if all(b.shape[1:] == blocks[0].shape[1:] for b in blocks):
            return np.concatenate(blocks)
    rows = [x for b in blocks for x in b]
    return stack_rows(rows)


def _draw_counts(n_replicates, n: int, rng) -> np.ndarray | None:
    if n_replicates is None:
        return None
    if isinstance(n_replicates, numbers.Integral):
        return np.full(n, int(n_replicates))
    return rng.choice(np.asarray(n_replicates, dtype=np.int64), size=n)


def _finite_rows(rows: list) -> np.ndarray:
    return np.array([x is not None and bool(np.isfinite(x).all()) for x in rows])


def _describe(theta: np.ndarray) -> str:
    named = ", ".join(str(row) for row in theta[:_N_NAMED].tolist())
    more = f" and {len(theta) - _N_NAMED} more" if len(theta) > _N_NAMED else ""
    return f"{named}{more}"


def _simulate_chunk(prior, simulator, size, seed, n_replicates, kwargs, on_error):
    """Draw and simulate one chunk; returns ``(X, theta, n_raised, n_nonfinite)``."""
    rng = np.random.default_rng(seed)
    theta = draw_prior(prior, size, rng)
    counts = _draw_counts(n_replicates, size, rng)
    return _simulate_rows(simulator, theta, rng, counts, kwargs, on_error)


def simulate_at(
    simulator, theta, rng, n_replicates=None, kwargs=None, on_error: str = "raise"
):
    """Simulate at given parameters under :func:`simulate`'s ``on_error`` policy.

    Returns ``(X, theta_kept)``; with ``on_error="drop"`` failing rows are dropped with
    a warning giving the count.
    """
    X, kept, n_raised, n_nonfinite = _simulate_rows(
        simulator, theta, rng, n_replicates, kwargs, on_error
    )
    if n_raised or n_nonfinite:
        warnings.warn(
            f"Dropped {n_raised + n_nonfinite} of {len(theta)} simulations "
            f"({n_raised} raised, {n_nonfinite} non-finite).",
            UserWarning,
            stacklevel=2,
        )
    return X, kept


def _simulate_rows(simulator, theta, rng, counts, kwargs, on_error):
    size = len(theta)
    raised = np.zeros(size, dtype=bool)
    try:
        rows = simulate_data(simulator, theta, rng, counts, kwargs)
    except _ProtocolError:
        raise
    except Exception as err:
        # The batch call failed: find the parameter rows responsible, one at a time.
        rows = _simulate_one_by_one(simulator, theta, rng, counts, kwargs)
        raised = np.array([x is None for x in rows])
        if on_error == "raise":
            if raised.any():
                raise RuntimeError(
                    f"The simulator raised {type(err).__name__} ({err}) for "
                    f"{int(raised.sum())} parameter row(s): "
                    f"{_describe(theta[raised])}. "
                    "Use on_error='drop' to skip failing parameters."
                ) from err
            raise RuntimeError(
                f"The simulator raised {type(err).__name__} ({err}) on a batch of "
                f"{size} parameter rows, but no single row fails on its own; the "
                "simulator must accept any batch of rows."
            ) from err
    finite = _finite_rows(rows)
    nonfinite = ~finite & ~raised
    if on_error == "raise" and nonfinite.any():
        raise ValueError(
            f"The simulator returned NaN or infinite values for {int(nonfinite.sum())} "
            f"parameter row(s): {_describe(theta[nonfinite])}. Use on_error='drop' to "
            "skip them."
        )
    rows = [x for x, keep in zip(rows, finite, strict=True) if keep]
    # One array per chunk when possible: far cheaper to send between processes.
    return stack_rows(rows), theta[finite], int(raised.sum()), int(nonfinite.sum())


def _simulate_one_by_one(simulator, theta, rng, counts, kwargs):
    rows = []
    for i in range(len(theta)):
        m = None if counts is None else counts[i : i + 1]
        try:
            rows.extend(simulate_data(simulator, theta[i : i + 1], rng, m, kwargs))
        except _ProtocolError:
            raise
        except Exception:
            rows.append(None)
    return rows


def chunk_seeds(random_state, n_chunks: int) -> list[np.random.SeedSequence]:
    """Independent seeds for ``n_chunks`` chunks, drawn in the calling process."""
    rng = check_random_state(random_state)
    return np.random.SeedSequence(int(rng.randint(2**31 - 1))).spawn(n_chunks)


def progress(iterable, *, verbose: int, total: int, desc: str):
    """Wrap ``iterable`` in a progress bar when ``verbose`` is positive."""
    if not verbose:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, unit="chunk")


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
    its own random stream spawned from ``random_state`` before any work starts, so
    the result is the same for any ``n_jobs`` and any joblib backend (a dask cluster
    under ``joblib.parallel_backend("dask")`` included).

    Parameters
    ----------
    prior : callable or object with ``rvs``
        ``prior(n, rng) -> (n, n_parameters)``, or e.g. a frozen scipy distribution.
    simulator : callable
        ``simulator(theta, rng, **simulator_kwargs) -> data``, one data set per row.
        It must be picklable for process-based backends (module-level functions and
        objects are; lambdas are too under joblib's default backend).
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
        Data sets per chunk: the unit of parallel work and of seeding, so changing it
        changes the draws (``n_jobs`` does not).
    on_error : {"raise", "drop"}, default="raise"
        What to do when the simulator raises, or returns NaN or infinity, for some
        parameters. ``"raise"``: an error naming the offending parameter rows (the
        first five). ``"drop"``: leave those pairs out and warn with their count, so
        ``len(y)`` may be less than ``n``. A batch call that raises is retried row by
        row to find the rows responsible.
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

    Raises
    ------
    RuntimeError
        With ``on_error="raise"``, when the simulator raises.
    ValueError
        With ``on_error="raise"``, when it returns non-finite values; with "drop",
        when every simulation fails.

    See Also
    --------
    skamortise.bootstrap : simulation at an estimate, for uncertainty.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise import simulate
    >>> prior = lambda n, rng: rng.normal(size=(n, 1))
    >>> simulator = lambda theta, rng: theta + rng.normal(size=theta.shape)
    >>> X, y = simulate(prior, simulator, 5, random_state=0)
    >>> X.shape, y.shape
    ((5, 1), (5, 1))

    Replicated data with a replicate count drawn per data set:

    >>> def replicates(theta, rng, n_replicates):
    ...     return theta[:, None, :] + rng.normal(size=(len(theta), n_replicates, 1))
    >>> X, y = simulate(prior, replicates, 4, n_replicates=[3, 8], random_state=0)
    >>> sorted({len(x) for x in X})
    [3, 8]
    """
    if not isinstance(n, numbers.Integral) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive integer; got {n!r}.")
    if (
        not isinstance(batch_size, numbers.Integral)
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size must be a positive integer; got {batch_size!r}.")
    if on_error not in ("raise", "drop"):
        raise ValueError(f"on_error must be 'raise' or 'drop'; got {on_error!r}.")
    if not callable(simulator):
        raise TypeError(f"simulator must be callable; got {type(simulator).__name__}.")
    _check_replicates(n_replicates)
    sizes = [min(batch_size, n - start) for start in range(0, n, batch_size)]
    seeds = chunk_seeds(random_state, len(sizes))
    jobs = (
        delayed(_simulate_chunk)(
            prior, simulator, size, seed, n_replicates, simulator_kwargs, on_error
        )
        for size, seed in zip(sizes, seeds, strict=True)
    )
    results = Parallel(n_jobs=n_jobs, return_as="generator")(jobs)
    results = progress(results, verbose=verbose, total=len(sizes), desc="simulating")
    blocks, thetas, raised, nonfinite = [], [], 0, 0
    for chunk_X, chunk_theta, chunk_raised, chunk_nonfinite in results:
        blocks.append(chunk_X)
        thetas.append(chunk_theta)
        raised += chunk_raised
        nonfinite += chunk_nonfinite
    if raised + nonfinite == n:
        raise ValueError(
            f"Every one of the {n} simulations failed ({raised} raised, {nonfinite} "
            "returned non-finite values); no training pairs were produced."
        )
    if raised or nonfinite:
        warnings.warn(
            f"Dropped {raised + nonfinite} of {n} simulations: the simulator raised "
            f"for {raised} and returned non-finite values for {nonfinite}.",
            UserWarning,
            stacklevel=2,
        )
    return _concatenate(blocks), np.concatenate(thetas)


def _check_replicates(n_replicates) -> None:
    if n_replicates is None:
        return
    values = np.atleast_1d(np.asarray(n_replicates))
    integer = np.issubdtype(values.dtype, np.integer)
    if values.ndim != 1 or values.size == 0 or not integer:
        raise ValueError(
            "n_replicates must be a positive int or a non-empty sequence of them; got "
            f"{n_replicates!r}."
        )
    if (values < 1).any():
        raise ValueError(f"n_replicates must be at least 1; got {n_replicates!r}.")
