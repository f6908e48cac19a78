"""Integer seeds drawn from a random state: the one way the package derives them."""

from __future__ import annotations

import numpy as np
from sklearn.utils import check_random_state

# Seeds are drawn below 2**31 - 1 so that every consumer (numpy's legacy
# RandomState, torch generators, joblib workers) accepts them.
MAX_SEED = 2**31 - 1


def draw_seed(random_state, size: int | None = None):
    """One seed (an int), or ``size`` seeds (an int64 array), from ``random_state``.

    Parameters
    ----------
    random_state : None, int, numpy.random.RandomState or numpy.random.Generator
        Where the seeds come from; a Generator is drawn from with ``integers``, any
        other value goes through :func:`sklearn.utils.check_random_state`.
    size : int, default=None
        None draws one seed and returns it as an int.

    Returns
    -------
    seed : int or ndarray of int64
        Seeds in ``[0, 2**31 - 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise._seeds import draw_seed
    >>> draw_seed(np.random.RandomState(0)) == np.random.RandomState(0).randint(
    ...     2**31 - 1)
    True
    """
    if isinstance(random_state, np.random.Generator):
        seeds = random_state.integers(MAX_SEED, size=size)
    else:
        seeds = check_random_state(random_state).randint(MAX_SEED, size=size)
    return int(seeds) if size is None else seeds
