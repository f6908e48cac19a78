"""Simulators whose output loses values completely at random.

A network trained with ``missing="mask"`` learns the missingness patterns it sees
in training: wrapping the simulator so that every data set loses values at its own
rate, drawn anew for each data set, lets one network serve every rate in that
range; losing them in runs teaches it gaps as well as scattered holes.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

__all__ = ["MissingCompletelyAtRandom"]

_PATTERNS = ("entries", "runs")


class MissingCompletelyAtRandom:
    """Wrap a simulator so that its output misses values completely at random.

    For every data set a missing rate ``r`` is drawn uniformly from ``rate``, and
    values are set to NaN independently of their value and of the parameters
    (MCAR), so that the posterior given the observed values ignores the mechanism.

    - ``pattern="entries"``: every entry is missing with probability ``r``, alone.
    - ``pattern="runs"``: the slices along the first axis of a data set (its
      replicates or time steps; its features for one vector per data set) are
      missing in runs: a two-state Markov chain with stationary missing
      probability ``r`` and mean run length ``mean_run`` decides each slice, which
      is then missing whole.

    At least one slice of every data set stays observed (if all were drawn missing,
    one chosen at random is kept), so that every data set has data.

    The wrapper declares ``missing_values = True``, which lets
    :func:`skamortise.simulate` and ``fit_simulator`` accept its NaN (infinity is
    still a failed simulation). Train with ``missing="mask"``.

    Parameters
    ----------
    simulator : callable
        ``simulator(theta, rng, **kwargs)``, any output layout.
    rate : float or (float, float), default=(0.0, 0.5)
        The missing rate, or the range it is drawn from per data set; in [0, 1).
    pattern : {"entries", "runs"}, default="entries"
        Scattered entries, or runs of whole slices.
    mean_run : float, default=5.0
        Mean length of a missing run (``pattern="runs"``), at least 1.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.models import GaussianReplicates
    >>> from skamortise.simulation import MissingCompletelyAtRandom
    >>> model = GaussianReplicates()
    >>> simulator = MissingCompletelyAtRandom(model.simulator, rate=0.3)
    >>> rng = np.random.default_rng(0)
    >>> X = simulator(model.prior(200, rng), rng, n_replicates=10)
    >>> X.shape, round(float(np.isnan(X).mean()), 1)
    ((200, 10, 1), 0.3)
    """

    missing_values = True

    def __init__(self, simulator, rate=(0.0, 0.5), *, pattern="entries", mean_run=5.0):
        if not callable(simulator):
            raise TypeError(f"simulator must be callable; got {type(simulator)}.")
        low, high = (rate, rate) if isinstance(rate, Real) else tuple(rate)
        if not (0 <= low <= high < 1):
            raise ValueError(
                "rate must be a float or a (low, high) pair with 0 <= low <= high < 1; "
                f"got {rate!r}."
            )
        if pattern not in _PATTERNS:
            raise ValueError(f"pattern must be one of {_PATTERNS}; got {pattern!r}.")
        if not (isinstance(mean_run, Real) and mean_run >= 1):
            raise ValueError(f"mean_run must be a number >= 1; got {mean_run!r}.")
        self.simulator, self.rate = simulator, (float(low), float(high))
        self.pattern, self.mean_run = pattern, float(mean_run)

    def __call__(self, theta, rng, **kwargs):
        out = self.simulator(theta, rng, **kwargs)
        rows = out if isinstance(out, (list, tuple)) else np.asarray(out, np.float64)
        rates = rng.uniform(*self.rate, size=len(rows))
        holed = [
            self._remove(np.array(x, np.float64), r, rng)
            for x, r in zip(rows, rates, strict=True)
        ]
        if isinstance(rows, np.ndarray):
            return np.stack(holed) if holed else rows.copy()
        return holed

    def _remove(self, x: np.ndarray, rate: float, rng) -> np.ndarray:
        if x.ndim == 0 or x.size == 0:
            return x
        if self.pattern == "entries":
            missing = rng.random(x.shape) < rate
            slices = missing.reshape(len(x), -1).all(axis=1)
        else:
            slices = _runs(len(x), rate, self.mean_run, rng)
            missing = np.broadcast_to(slices.reshape(-1, *[1] * (x.ndim - 1)), x.shape)
        if slices.all():  # keep one slice: every data set has data
            keep = rng.integers(len(x))
            missing = missing.copy()
            missing[keep] = False
        x[missing] = np.nan
        return x


def _runs(n: int, rate: float, mean_run: float, rng) -> np.ndarray:
    """``n`` steps of a stationary two-state chain: missing runs of mean ``mean_run``.

    Leaving a missing run has probability ``1 / mean_run``; entering one has
    ``rate / (mean_run (1 - rate))``, so that the chain is missing a fraction
    ``rate`` of the time (capped at 1 when short runs cannot reach that rate).
    """
    leave = 1.0 / mean_run
    enter = min(1.0, rate * leave / (1.0 - rate))
    u = rng.random(n)
    state = np.empty(n, dtype=bool)
    state[0] = u[0] < rate
    for t in range(1, n):
        state[t] = u[t] >= leave if state[t - 1] else u[t] < enter
    return state
