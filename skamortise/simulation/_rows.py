"""Calling a simulator on parameter rows, and its failure policy.

A simulator's output for ``n`` rows becomes one float64 array per data set; rows
whose simulation raises or returns NaN or infinity are reported, or dropped under
``on_error="drop"``.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._deprecation import DEPRECATED, renamed_argument
from ..covariates import WithCovariates

# How many failing parameter rows an error message lists.
_N_NAMED = 5


class _ProtocolError(ValueError):
    """The simulator broke the protocol (not a failure at some parameters)."""


def _rows(data, n: int) -> list:
    """A simulator's output for ``n`` data sets as a list of per-data-set arrays."""
    if isinstance(data, WithCovariates):
        raise _ProtocolError(
            "simulator returned WithCovariates; simulated training pairs carry data "
            "only. Simulate with simulate(...) and fit on WithCovariates(X, "
            "covariates) instead."
        )
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


def simulate_data(
    simulator,
    theta: np.ndarray,
    rng,
    replicate_counts=None,
    kwargs=None,
    *,
    n_replicates=DEPRECATED,
):
    """Simulate one data set per row of ``theta`` as a list of arrays.

    Parameters
    ----------
    simulator : callable
        ``simulator(theta, rng, **kwargs)``.
    theta : ndarray of shape (n, n_parameters)
        Parameter rows.
    rng : numpy.random.Generator
        The random stream handed to the simulator.
    replicate_counts : None, int or array of int, default=None
        The replicate count of each row, passed as the simulator's ``n_replicates``
        keyword: None passes no keyword; an int is every row's count; an array
        holds one count per row, and rows sharing a count are simulated in one
        call. (:func:`simulate`'s ``n_replicates`` differs: a sequence there is
        what counts are drawn from.)
    kwargs : dict, default=None
        Further keywords for the simulator.
    n_replicates : None, int or array of int
        Deprecated alias of ``replicate_counts``.

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
    replicate_counts = renamed_argument(
        "simulate_data",
        "n_replicates",
        "replicate_counts",
        n_replicates,
        replicate_counts,
    )
    kwargs = dict(kwargs or {})
    if replicate_counts is None:
        return _rows(simulator(theta, rng, **kwargs), len(theta))
    counts = np.broadcast_to(np.asarray(replicate_counts), (len(theta),))
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


def concatenate(blocks: list):
    """Join per-chunk outputs (arrays or lists of arrays) into one container."""
    blocks = [b for b in blocks if len(b)]
    if blocks and all(isinstance(b, np.ndarray) for b in blocks):
        if all(b.shape[1:] == blocks[0].shape[1:] for b in blocks):
            return np.concatenate(blocks)
    rows = [x for b in blocks for x in b]
    return stack_rows(rows)


def _finite_rows(rows: list, missing_values: bool = False) -> np.ndarray:
    """Which rows hold data; NaN counts as a missing value for a simulator that
    declares ``missing_values = True`` (infinity never does)."""
    if missing_values:
        return np.array([x is not None and not np.isinf(x).any() for x in rows])
    return np.array([x is not None and bool(np.isfinite(x).all()) for x in rows])


def _describe(theta: np.ndarray) -> str:
    named = ", ".join(str(row) for row in theta[:_N_NAMED].tolist())
    more = f" and {len(theta) - _N_NAMED} more" if len(theta) > _N_NAMED else ""
    return f"{named}{more}"


def simulate_at(
    simulator, theta, rng, n_replicates=None, kwargs=None, on_error: str = "raise"
):
    """Simulate at given parameters under :func:`simulate`'s ``on_error`` policy.

    Returns ``(X, theta_kept)``; with ``on_error="drop"`` failing rows are dropped with
    a warning giving the count.
    """
    X, kept, n_raised, n_nonfinite = simulate_rows(
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


def simulate_rows(simulator, theta, rng, counts, kwargs, on_error):
    """Simulate at ``theta``; returns ``(X, theta_kept, n_raised, n_nonfinite)``."""
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
    finite = _finite_rows(rows, getattr(simulator, "missing_values", False) is True)
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
