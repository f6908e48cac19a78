"""Parametric and nonparametric bootstrap of amortised point estimators.

The estimator is used only through ``predict`` (duck typing), so any object with that
method can be bootstrapped, a closed-form Bayes estimator included. Amortisation makes
the bootstrap cheap: the ``n_boot`` re-estimates of every observed data set are a few
batched ``predict`` calls, not ``n_boot`` trainings.

Random numbers are organised so that results do not depend on ``n_jobs``, the joblib
backend or ``batch_size``: the bootstrap data sets of observed data set ``i`` are cut
into units of ``_UNIT`` draws, and unit ``u`` draws from its own stream, seeded from
``random_state`` and the key ``(i, u)`` in the calling process before any work starts.
Units are then grouped into tasks of about ``batch_size`` data sets for joblib.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.utils._param_validation import (
    HasMethods,
    Hidden,
    Interval,
    StrOptions,
    validate_params,
)
from sklearn.utils.parallel import Parallel, delayed
from sklearn.utils.validation import check_is_fitted

from ._bootstrap_result import BootstrapResult
from ._deprecation import DEPRECATED, renamed_argument
from ._progress import progress
from ._seeds import draw_seed
from .nn import is_series_network
from .simulation import simulate_data, stack_rows

__all__ = ["BootstrapResult", "bootstrap"]

# Bootstrap draws per random stream; fixed so that seeding never depends on how the
# work is split.
_UNIT = 100


# ---------------------------------------------------------------------------
# Reading the observed data and the estimator
# ---------------------------------------------------------------------------


def _observed(estimator, X) -> tuple[list, np.ndarray | None]:
    """Per-data-set arrays and their replicate counts (None: not replicated)."""
    if isinstance(X, (list, tuple)) and len(X) and hasattr(X[0], "shape"):
        datasets = [np.asarray(x, dtype=np.float64) for x in X]
        return datasets, np.array([len(x) for x in datasets], dtype=np.int64)
    values = np.asarray(X, dtype=np.float64)
    if values.ndim < 2:
        raise ValueError(
            "X must be (n_datasets, n_features), (n_datasets, n_replicates, "
            f"n_features) or a list of (n_replicates, n_features) arrays; got an "
            f"array of shape {values.shape}."
        )
    replicated = getattr(estimator, "replicated_", None)
    if replicated is None:
        replicated = values.ndim >= 3
    if not replicated:
        return list(values), None
    return list(values), np.full(len(values), values.shape[1], dtype=np.int64)


def _as_estimates(output, n: int, n_parameters: int | None = None) -> np.ndarray:
    """A ``predict`` output as float64 ``(n, p)`` (1-D output: one parameter)."""
    out = np.asarray(output, dtype=np.float64)
    if n_parameters is None:
        n_parameters = 1 if out.ndim == 1 else out.shape[-1]
    if out.size != n * n_parameters:
        raise ValueError(
            f"estimator.predict returned shape {out.shape} for {n} data set(s); "
            f"expected ({n}, {n_parameters})."
        )
    return out.reshape(n, n_parameters)


def _parameter_names(estimator, estimate, n_parameters: int) -> list[str]:
    names = getattr(estimate, "columns", None)
    if names is None and getattr(estimate, "name", None) is not None:
        names = [estimate.name]
    if names is None:
        names = getattr(estimator, "parameter_names_", None)
    if names is None or len(names) != n_parameters:
        names = [f"theta_{j}" for j in range(n_parameters)]
    return [str(name) for name in names]


def _simulator_counts(replicate_counts, counts, n: int):
    """The ``n_replicates`` keyword for each data set (None: do not pass it)."""
    if isinstance(replicate_counts, str):  # "auto"
        return [None] * n if counts is None else counts.tolist()
    if replicate_counts is None:
        return [None] * n
    values = np.broadcast_to(np.asarray(replicate_counts), (n,))
    if not np.issubdtype(values.dtype, np.integer) or (values < 1).any():
        raise ValueError(
            f"replicate_counts must hold positive ints; got {replicate_counts!r}."
        )
    return values.tolist()


# ---------------------------------------------------------------------------
# The work: units of bootstrap data sets, grouped into tasks
# ---------------------------------------------------------------------------


def _units(n: int, n_boot: int, entropy: int):
    """``(dataset, first draw, size, seed)`` for every unit, in order."""
    for i in range(n):
        for u, start in enumerate(range(0, n_boot, _UNIT)):
            seed = np.random.SeedSequence(entropy, spawn_key=(i, u))
            yield i, start, min(_UNIT, n_boot - start), seed


def _tasks(units: list, batch_size: int) -> list[list]:
    tasks, current, size = [], [], 0
    for unit in units:
        current.append(unit)
        size += unit[2]
        if size >= batch_size:
            tasks.append(current)
            current, size = [], 0
    if current:
        tasks.append(current)
    return tasks


def _parametric_task(simulator, kwargs, jobs):
    """Simulate each unit ``(theta, n_replicates, size, seed)`` at its estimate."""
    blocks = []
    for theta, m, size, seed in jobs:
        rng = np.random.default_rng(seed)
        rows = simulate_data(
            simulator, np.repeat(theta[None], size, axis=0), rng, m, kwargs
        )
        block = stack_rows(rows)
        bad = sum(not np.isfinite(x).all() for x in rows)
        if bad:
            raise ValueError(
                f"The simulator returned NaN or infinite values at the estimate "
                f"{theta.tolist()} ({bad} of {size} data sets); a parametric "
                "bootstrap needs the simulator to work at the estimate."
            )
        blocks.append(block)
    return blocks


def _resample_task(jobs):
    """Resample the replicates of each unit ``(data, size, seed, block_length)``."""
    blocks = []
    for data, size, seed, block_length in jobs:
        rng = np.random.default_rng(seed)
        m = len(data)
        if block_length is None:
            index = rng.integers(0, m, size=(size, m))
        else:
            # Moving blocks: overlapping runs of block_length consecutive replicates,
            # concatenated and cut back to m, keep short-range dependence intact.
            n_blocks = -(-m // block_length)
            starts = rng.integers(0, m - block_length + 1, size=(size, n_blocks))
            index = (starts[..., None] + np.arange(block_length)).reshape(size, -1)
            index = index[:, :m]
        blocks.append(data[index])
    return blocks


def _predict_blocks(
    estimator, blocks: list, n_parameters: int, columns=None
) -> list[np.ndarray]:
    """Re-estimate every block, batching blocks of one shape into one call.

    ``columns`` relabels 2-D data like the observed DataFrame, so that an estimator
    fitted with feature names sees them again.
    """
    groups: dict = {}
    for k, block in enumerate(blocks):
        key = block.shape[1:] if isinstance(block, np.ndarray) else None
        groups.setdefault(key, []).append(k)
    out = [None] * len(blocks)
    for key, members in groups.items():
        if key is None:  # the simulator returned ragged lists
            joined = [x for k in members for x in blocks[k]]
        else:
            joined = np.concatenate([blocks[k] for k in members])
            if columns is not None and joined.ndim == 2:
                joined = pd.DataFrame(joined, columns=columns)
        estimates = _as_estimates(estimator.predict(joined), len(joined), n_parameters)
        start = 0
        for k in members:
            out[k] = estimates[start : start + len(blocks[k])]
            start += len(blocks[k])
    return out


@validate_params(
    {
        "estimator": [HasMethods(["predict"])],
        "X": ["array-like"],
        "method": [StrOptions({"parametric", "nonparametric"})],
        "n_boot": [Interval(Integral, 2, None, closed="left")],
        "simulator": [callable, None],
        "simulator_kwargs": [dict, None],
        "replicate_counts": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            "array-like",
            None,
        ],
        "n_replicates": [
            Hidden(StrOptions({DEPRECATED})),
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
            "array-like",
            None,
        ],
        "block_length": [Interval(Integral, 1, None, closed="left"), None],
        "jacobian": ["boolean"],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_jobs": [Integral, None],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    },
    prefer_skip_nested_validation=True,
)
def bootstrap(
    estimator,
    X,
    method: str = "parametric",
    n_boot: int = 400,
    *,
    simulator=None,
    simulator_kwargs: dict | None = None,
    replicate_counts="auto",
    block_length: int | None = None,
    jacobian: bool = False,
    batch_size: int = 1000,
    n_jobs: int | None = None,
    random_state=None,
    verbose: int = 0,
    n_replicates=DEPRECATED,
) -> BootstrapResult:
    """Bootstrap the estimates of one or many observed data sets.

    The estimate ``theta_hat = estimator.predict(X)`` is computed once; then, for
    every observed data set, ``n_boot`` bootstrap data sets are made and
    re-estimated in batched ``predict`` calls.

    - ``"parametric"``: simulate ``n_boot`` data sets at ``theta_hat`` with the same
      replicate count as the observed data set (passed as ``n_replicates``).
    - ``"nonparametric"``: resample the replicates of the observed data set with
      replacement, keeping their count (ragged lists too); with ``block_length``,
      resample moving blocks of consecutive replicates, for dependent replicates
      such as a time series.

    Parameters
    ----------
    estimator : object with ``predict``
        A fitted point estimator; ``predict(X)`` returns ``(n_datasets,
        n_parameters)`` or ``(n_datasets,)``. Estimators with ``fit`` are checked
        to be fitted; others are used as they are.
    X : array-like or list of arrays
        Observed data sets: ``(n_datasets, n_features)``, ``(n_datasets,
        n_replicates, n_features)`` or a list of ``(n_replicates_i, n_features)``
        arrays.
    method : {"parametric", "nonparametric"}, default="parametric"
        How bootstrap data sets are made.
    n_boot : int, default=400
        Bootstrap data sets per observed data set (at least 2).
    simulator : callable, default=None
        ``simulator(theta, rng, n_replicates=m, **simulator_kwargs) -> data``, one
        data set per row of ``theta`` (see :func:`skamortise.simulate`). Required
        for the parametric bootstrap.
    simulator_kwargs : dict, default=None
        Further keywords for the simulator.
    replicate_counts : "auto", int, array-like of int or None, default="auto"
        The replicate count of each observed data set's bootstrap data sets,
        passed as the simulator's ``n_replicates`` keyword. ``"auto"``: each
        observed data set's own count, and no keyword for unreplicated 2-D data.
        None never passes it; an int (for every data set) or one int per data set
        overrides the count.
    block_length : int, default=None
        Nonparametric only: resample overlapping blocks of this many consecutive
        replicates (moving-block bootstrap) instead of single replicates. It must
        not exceed any data set's replicate count.
    jacobian : bool, default=False
        Parametric only: also estimate the Jacobian of the estimator's mean
        ``E_theta[theta_hat]`` at each estimate, by forward differences of one
        bootstrap standard error in each parameter, re-using the bootstrap's random
        streams so that simulation noise cancels. Costs ``n_parameters`` more
        bootstraps and enables ``interval(kind="rescaled")``.
    batch_size : int, default=1000
        Bootstrap data sets per task: the unit of parallel work and of each
        ``predict`` call, which bounds memory. It does not change the draws.
    n_jobs : int, default=None
        Parallel jobs (joblib) for making the bootstrap data sets; None means 1
        unless in a ``joblib.parallel_backend`` context (e.g. ``"dask"``).
        Re-estimation runs in the calling process.
    random_state : int, RandomState instance or None, default=None
        Seeds the bootstrap. Results do not depend on ``n_jobs``, the backend or
        ``batch_size``, and observed data set ``i`` gets the same draws whatever
        follows it in ``X``.
    verbose : int, default=0
        Show a progress bar when positive.
    n_replicates : "auto", int, array-like of int or None
        Deprecated alias of ``replicate_counts``.

    Returns
    -------
    result : BootstrapResult
        ``samples`` of shape ``(n_datasets, n_boot, n_parameters)``, ``estimate``,
        ``standard_error``, ``bias``, ``interval(alpha, kind)`` and ``to_frame()``.

    Raises
    ------
    ValueError
        For a parametric bootstrap without a simulator, a nonparametric one on
        unreplicated data, or a ``block_length`` longer than a data set.
    sklearn.exceptions.NotFittedError
        When the estimator has ``fit`` but is not fitted.

    See Also
    --------
    BootstrapResult : the result and its intervals.
    skamortise.simulate : simulation of training pairs.

    Notes
    -----
    Percentile intervals around a shrinkage estimator (any Bayes estimator under an
    informative prior) under-cover: the bootstrap samples are shrunk once more
    towards the prior. ``kind="basic"`` or ``"bc"`` corrects the location but not
    the narrower spread; ``jacobian=True`` with ``kind="rescaled"`` corrects both
    to first order. ``benchmarks/RESULTS.md`` reports measured coverage.

    References
    ----------
    .. [1] Efron, B. and Tibshirani, R. J. (1993). An Introduction to the Bootstrap.
       Chapman & Hall.
    .. [2] Kuensch, H. R. (1989). The jackknife and the bootstrap for general
       stationary observations. The Annals of Statistics, 17(3), 1217-1241.

    Examples
    --------
    A sample mean and a sample standard deviation, bootstrapped both ways:

    >>> import numpy as np
    >>> from skamortise.bootstrap import bootstrap
    >>> class MeanSD:
    ...     def predict(self, X):
    ...         X = np.asarray(X)[..., 0]
    ...         return np.column_stack([X.mean(1), X.std(1, ddof=1)])
    >>> def simulator(theta, rng, n_replicates):
    ...     noise = rng.standard_normal((len(theta), n_replicates, 1))
    ...     return theta[:, None, :1] + theta[:, None, 1:] * noise
    >>> rng = np.random.default_rng(0)
    >>> X = simulator(np.array([[0.0, 1.0], [5.0, 2.0]]), rng, 50)
    >>> result = bootstrap(MeanSD(), X, "parametric", 200, simulator=simulator,
    ...                    random_state=0)
    >>> result.samples.shape, result.interval(alpha=0.1).shape
    ((2, 200, 2), (2, 2, 2))
    >>> result = bootstrap(MeanSD(), X, "nonparametric", 200, random_state=0)
    >>> result.to_frame(kind="basic").shape
    (4, 7)
    """
    if hasattr(estimator, "fit"):
        check_is_fitted(estimator)
    parametric = method == "parametric"
    if parametric and simulator is None:
        raise ValueError(
            "The parametric bootstrap simulates data at the estimate: pass "
            "simulator=..., or use method='nonparametric'."
        )
    if parametric and block_length is not None:
        raise ValueError("block_length applies to the nonparametric bootstrap only.")
    if jacobian and not parametric:
        raise ValueError("jacobian=True needs the parametric bootstrap (a simulator).")
    datasets, counts = _observed(estimator, X)
    n = len(datasets)
    if not parametric:
        _check_resampling(counts, block_length)
        series = is_series_network(getattr(estimator, "summary_network", None))
        if series and block_length is None:
            raise ValueError(
                "The estimator reads time series: resampling single time steps "
                "would take them for iid replicates. Pass block_length for a "
                "moving-block bootstrap of each series, or use method='parametric'."
            )
    raw = estimator.predict(X)
    estimate = _as_estimates(raw, n)
    n_parameters = estimate.shape[1]
    names = _parameter_names(estimator, raw, n_parameters)
    if parametric and not np.isfinite(estimate).all():
        bad = np.flatnonzero(~np.isfinite(estimate).all(axis=1))
        raise ValueError(
            f"The estimate is not finite for data set(s) {bad[:5].tolist()}; cannot "
            "simulate at it."
        )

    entropy = draw_seed(random_state)
    tasks = _tasks(list(_units(n, n_boot, entropy)), batch_size)
    run = dict(
        tasks=tasks,
        shape=(n, n_boot, n_parameters),
        n_jobs=n_jobs,
        verbose=verbose,
        columns=getattr(X, "columns", None),
    )
    if not parametric:

        def resample(task):
            return delayed(_resample_task)(
                [(datasets[i], size, seed, block_length) for i, _, size, seed in task]
            )

        samples = _run(estimator, resample, desc="nonparametric bootstrap", **run)
        return BootstrapResult(samples, estimate, names, method, block_length)

    replicate_counts = renamed_argument(
        "bootstrap",
        "n_replicates",
        "replicate_counts",
        n_replicates,
        replicate_counts,
        stacklevel=5,  # under validate_params
    )
    m = _simulator_counts(replicate_counts, counts, n)
    kwargs = dict(simulator_kwargs or {})

    def simulate_at(theta):
        def job(task):
            return delayed(_parametric_task)(
                simulator,
                kwargs,
                [(theta[i], m[i], size, seed) for i, _, size, seed in task],
            )

        return job

    samples = _run(estimator, simulate_at(estimate), desc="parametric bootstrap", **run)
    result = BootstrapResult(samples, estimate, names, method)
    if jacobian:
        # Forward differences with common random numbers: the same streams at a
        # shifted parameter, so the simulation noise cancels in the difference.
        step = result.standard_error
        step = np.where(step > 0, step, 1e-3 * np.maximum(np.abs(estimate), 1.0))
        centre = samples.mean(axis=1)
        result.jacobian = np.empty((n, n_parameters, n_parameters))
        for j in range(n_parameters):
            shifted = estimate.copy()
            shifted[:, j] += step[:, j]
            moved = _run(
                estimator,
                simulate_at(shifted),
                desc=f"sensitivity to {names[j]}",
                **run,
            )
            result.jacobian[:, :, j] = (moved.mean(axis=1) - centre) / step[:, j, None]
    return result


def _run(
    estimator, make_job, *, tasks, shape, n_jobs, verbose, desc, columns
) -> np.ndarray:
    """Make the bootstrap data sets task by task and re-estimate them."""
    results = Parallel(n_jobs=n_jobs, return_as="generator")(
        make_job(task) for task in tasks
    )
    results = progress(results, verbose=verbose, total=len(tasks), desc=desc)
    samples = np.empty(shape)
    for task, blocks in zip(tasks, results, strict=True):
        estimates = _predict_blocks(estimator, blocks, shape[2], columns)
        for (i, start, size, _), values in zip(task, estimates, strict=True):
            samples[i, start : start + size] = values
    return samples


def _check_resampling(counts, block_length) -> None:
    if counts is None:
        raise ValueError(
            "The nonparametric bootstrap resamples the replicates of each data set, "
            "but X holds one vector per data set (2-D); pass replicated data "
            "(n_datasets, n_replicates, n_features) or use method='parametric'."
        )
    if block_length is not None and block_length > counts.min():
        raise ValueError(
            f"block_length={block_length} exceeds the replicate count of data set "
            f"{int(np.argmin(counts))} ({int(counts.min())})."
        )
