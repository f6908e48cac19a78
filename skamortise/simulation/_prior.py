"""Drawing parameters from a prior and replicate counts from a set of counts."""

from __future__ import annotations

import numbers

import numpy as np


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


def draw_counts(n_replicates, n: int, rng) -> np.ndarray | None:
    """One replicate count per data set: ``n_replicates`` itself, or drawn from it.

    None stays None (the simulator gets no ``n_replicates`` keyword); an int is every
    data set's count; a sequence is sampled uniformly, one count per data set.
    """
    if n_replicates is None:
        return None
    if isinstance(n_replicates, numbers.Integral):
        return np.full(n, int(n_replicates))
    return rng.choice(np.asarray(n_replicates, dtype=np.int64), size=n)


def check_replicates(n_replicates) -> None:
    """Raise a ValueError unless ``n_replicates`` is None, a count or counts."""
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
