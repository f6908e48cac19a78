"""Birth-death-immigration process simulated exactly by the Gillespie algorithm."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ._base import SimulationModel, as_generator

__all__ = ["BirthDeathImmigration"]


class BirthDeathImmigration(SimulationModel):
    """Linear birth-death process with immigration, observed at fixed times.

    A population of size ``N`` grows by one at rate ``birth * N + immigration`` and
    shrinks by one at rate ``death * N``. It starts at ``initial_population`` at
    time 0 and is recorded at ``times``. The three rates are the parameters, each
    with a log-uniform prior.

    Parameters
    ----------
    times : sequence of float, optional
        Increasing, positive observation times; default ``1, 2, ..., 20``.
    initial_population : int, default=10
        Population at time 0.
    max_population : int, default=500
        Ceiling on the population. While the population sits at the ceiling, births
        and immigrations are suppressed (a reflecting barrier), so that growing
        trajectories (``birth > death``) stop at ``max_population`` instead of
        costing ever more events. Below the ceiling the process is exact.
    birth_range, death_range : tuple of float, default=(0.02, 0.5)
        Support of the log-uniform priors on the per-capita birth and death rates.
    immigration_range : tuple of float, default=(0.1, 5.0)
        Support of the log-uniform prior on the immigration rate.

    Attributes
    ----------
    n_parameters : int
        3.
    parameter_names : tuple of str
        ``("birth", "death", "immigration")``.
    bounds : list of tuple
        The prior ranges, in that order.

    Notes
    -----
    All trajectories advance in lockstep, one event per iteration; the arrays are
    compacted as trajectories pass the last observation time, so the cost is set by
    the trajectories with the most events. With the defaults 1,000 data sets take
    well under a second.

    For ``birth = 0`` the stationary law is Poisson with mean
    ``immigration / death``; the mean relaxes to it at rate ``death``.

    The simulator returns float64 arrays of whole numbers, shape
    ``(n, len(times))``.

    Examples
    --------
    >>> import numpy as np
    >>> from skamortise.models.birth_death import BirthDeathImmigration
    >>> model = BirthDeathImmigration()
    >>> theta, x = model.observations(5, np.random.default_rng(0))
    >>> x.shape
    (5, 20)
    """

    def __init__(
        self,
        times: Sequence[float] | None = None,
        initial_population: int = 10,
        max_population: int = 500,
        birth_range: tuple[float, float] = (0.02, 0.5),
        death_range: tuple[float, float] = (0.02, 0.5),
        immigration_range: tuple[float, float] = (0.1, 5.0),
    ):
        self.times = np.arange(1.0, 21.0) if times is None else np.asarray(times, float)
        if self.times.ndim != 1 or np.any(np.diff(self.times) <= 0):
            raise ValueError("times must be a strictly increasing 1-D sequence.")
        if self.times[0] < 0:
            raise ValueError("times must be non-negative.")
        if not 0 <= initial_population <= max_population:
            raise ValueError("need 0 <= initial_population <= max_population.")
        self.initial_population = int(initial_population)
        self.max_population = int(max_population)
        ranges = np.array([birth_range, death_range, immigration_range], dtype=float)
        if np.any(ranges[:, 0] <= 0) or np.any(ranges[:, 1] <= ranges[:, 0]):
            raise ValueError("each prior range must satisfy 0 < low < high.")
        self._log_low = np.log(ranges[:, 0])
        self._log_high = np.log(ranges[:, 1])
        self.parameter_names = ("birth", "death", "immigration")
        self.bounds = [(float(a), float(b)) for a, b in ranges]

    def __repr__(self) -> str:
        return (
            f"BirthDeathImmigration(n_times={self.times.size}, "
            f"initial_population={self.initial_population}, "
            f"max_population={self.max_population})"
        )

    def prior(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        """Draw ``n`` rate vectors, shape ``(n, 3)``, log-uniform per rate."""
        rng = as_generator(rng)
        return np.exp(rng.uniform(self._log_low, self._log_high, size=(n, 3)))

    def prior_log_prob(self, theta: np.ndarray) -> np.ndarray:
        """Prior log density of each row, ``-inf`` outside the prior support."""
        theta = self._check_theta(theta)
        with np.errstate(divide="ignore", invalid="ignore"):
            log_theta = np.log(theta)
        inside = np.all(
            (log_theta >= self._log_low) & (log_theta <= self._log_high), axis=-1
        )
        logp = -np.sum(log_theta + np.log(self._log_high - self._log_low), axis=-1)
        return np.where(inside, logp, -np.inf)

    def simulator(
        self, theta: np.ndarray, rng: np.random.Generator | int | None = None
    ) -> np.ndarray:
        """Simulate one trajectory per row of ``theta``, recorded at ``times``.

        Parameters
        ----------
        theta : array-like of shape (n, 3)
            Non-negative birth, death and immigration rates.
        rng : numpy.random.Generator, int or None
            Source of randomness.

        Returns
        -------
        ndarray of shape (n, len(times))
            Population sizes (whole numbers) at the observation times.
        """
        rng = as_generator(rng)
        theta = self._check_theta(theta)
        if np.any(theta < 0) or not np.all(np.isfinite(theta)):
            raise ValueError("rates must be finite and non-negative.")
        n, n_times = theta.shape[0], self.times.size
        out = np.empty((n, n_times))
        # State of the trajectories still running, compacted as they finish.
        rows = np.arange(n)
        birth, death, imm = (theta[:, j].copy() for j in range(3))
        pop = np.full(n, self.initial_population, dtype=np.int64)
        t = np.zeros(n)
        ptr = np.zeros(n, dtype=np.int64)  # next observation to record
        cap = self.max_population
        while rows.size:
            up = np.where(pop < cap, birth * pop + imm, 0.0)
            down = death * pop
            total = up + down
            with np.errstate(divide="ignore"):
                t_next = t + rng.standard_exponential(rows.size) / total
            # The state holds from t up to the next event, so it is what every
            # observation time before t_next sees.
            while True:
                due = np.flatnonzero(self.times[np.minimum(ptr, n_times - 1)] < t_next)
                due = due[ptr[due] < n_times]
                if due.size == 0:
                    break
                out[rows[due], ptr[due]] = pop[due]
                ptr[due] += 1
            pop += np.where(rng.random(rows.size) * total < up, 1, -1)
            t = t_next
            running = ptr < n_times
            if not running.all():
                rows, birth, death = rows[running], birth[running], death[running]
                imm, pop, t, ptr = imm[running], pop[running], t[running], ptr[running]
        return out
