"""``simulate``: training pairs from a prior and a simulator, in parallel chunks.

Work is cut into chunks of a fixed size, each with its own random stream spawned from
``random_state`` in the calling process, so the output does not depend on how many
workers run the chunks, nor on the joblib backend that runs them.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence

import numpy as np
from sklearn.utils.parallel import Parallel, delayed

from .._progress import progress
from .._seeds import draw_seed
from ._prior import check_replicates, draw_counts, draw_prior
from ._rows import concatenate, simulate_rows
from .shards import ShardWriter


def _simulate_chunk(prior, simulator, size, seed, n_replicates, kwargs, on_error):
    """Draw and simulate one chunk; returns ``(X, theta, n_raised, n_nonfinite)``."""
    rng = np.random.default_rng(seed)
    theta = draw_prior(prior, size, rng)
    counts = draw_counts(n_replicates, size, rng)
    return simulate_rows(simulator, theta, rng, counts, kwargs, on_error)


def chunk_seeds(random_state, n_chunks: int) -> list[np.random.SeedSequence]:
    """Independent seeds for ``n_chunks`` chunks, drawn in the calling process."""
    return np.random.SeedSequence(draw_seed(random_state)).spawn(n_chunks)


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
    out=None,
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
    out : str or path-like, default=None
        A directory to write the pairs to, one shard per chunk (the layout of
        :mod:`skamortise.simulation.shards`), instead of returning them: memory then
        holds a chunk at a time, whatever ``n``. It must be new or empty. Train from
        it with :class:`skamortise.sources.ShardSource`.

    Returns
    -------
    X : ndarray or list of ndarray
        The data sets, in the layout the simulator returns (a list when shapes differ).
    y : ndarray of shape (n_kept, n_parameters)
        The parameters, row-aligned with ``X``.
    directory : pathlib.Path
        Instead of ``(X, y)`` when ``out`` is given: the directory written.

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

    Pairs too many for memory go to disk, shard by shard:

    >>> import tempfile
    >>> path = simulate(prior, replicates, 4, n_replicates=[3, 8], random_state=0,
    ...                 batch_size=2, out=tempfile.mkdtemp())
    >>> sorted(p.name for p in path.iterdir())[:3]
    ['counts-000000.npy', 'counts-000001.npy', 'manifest.json']
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
    check_replicates(n_replicates)
    writer = None if out is None else ShardWriter(out)
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
        if writer is None:
            blocks.append(chunk_X)
            thetas.append(chunk_theta)
        else:
            writer.write(chunk_X, chunk_theta)
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
    if writer is not None:
        writer.close()
        return writer.directory
    return concatenate(blocks), np.concatenate(thetas)
