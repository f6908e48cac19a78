"""Shared machinery for the example simulators in :mod:`skamortise.models`.

Every model is a plain object that follows the simulator protocol of the package:
``prior(n, rng)`` returns ``(n, n_parameters)`` float64 draws, ``simulator(theta,
rng, **kwargs)`` returns one data set per row of ``theta``. The base class below adds
the bookkeeping that all models share (parameter names, bounds, argument checks,
ground-truth observations) so that each model file holds only its own mathematics.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

__all__ = ["BoxUniformPrior", "SimulationModel"]


def as_generator(rng: np.random.Generator | int | None) -> np.random.Generator:
    """Return a :class:`numpy.random.Generator` from a generator, a seed or None.

    Parameters
    ----------
    rng : numpy.random.Generator, int or None
        An existing generator is returned unchanged, so that a caller who passes one
        keeps control of the random stream.

    Returns
    -------
    numpy.random.Generator
    """
    return np.random.default_rng(rng)


class SimulationModel:
    """Base class of the example simulators.

    Subclasses set ``parameter_names`` and ``bounds`` and implement ``prior``,
    ``prior_log_prob`` and ``simulator``; they add ``log_likelihood`` and
    ``reference_posterior`` where those are available.

    Attributes
    ----------
    parameter_names : tuple of str
        Names of the parameters, in column order.
    bounds : list of tuple
        ``(low, high)`` per parameter, the support of the prior; ``None`` marks an
        open side.
    """

    parameter_names: tuple[str, ...] = ()
    bounds: list[tuple[float | None, float | None]] = []

    @property
    def n_parameters(self) -> int:
        """Number of parameters, the width of ``theta``."""
        return len(self.parameter_names)

    def prior(self, n: int, rng: np.random.Generator | int | None = None) -> np.ndarray:
        raise NotImplementedError

    def prior_log_prob(self, theta: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def simulator(self, theta: np.ndarray, rng=None, **kwargs):
        raise NotImplementedError

    def observations(
        self, n: int, rng: np.random.Generator | int | None = None, **kwargs
    ) -> tuple[np.ndarray, np.ndarray]:
        """Draw ground-truth pairs ``(theta, x)`` from the prior and the simulator.

        Parameters
        ----------
        n : int
            Number of pairs.
        rng : numpy.random.Generator, int or None
            Source of randomness; the same seed gives the same pairs.
        **kwargs
            Passed to :meth:`simulator` (for example ``n_replicates``).

        Returns
        -------
        theta : ndarray of shape (n, n_parameters)
            True parameters.
        x : ndarray
            One simulated data set per row of ``theta``.
        """
        rng = as_generator(rng)
        theta = self.prior(n, rng)
        return theta, self.simulator(theta, rng, **kwargs)

    def observation(self, i: int, **kwargs) -> tuple[np.ndarray, np.ndarray]:
        """Return the ``i``-th fixed benchmark observation ``(theta, x)``.

        The pair is drawn from the prior and the simulator with the seed ``i``, so it
        is the same on every machine and in every session.

        Parameters
        ----------
        i : int
            Index of the observation, a non-negative integer.
        **kwargs
            Passed to :meth:`simulator`.

        Returns
        -------
        theta : ndarray of shape (n_parameters,)
        x : ndarray
            The data set for ``theta`` (the leading batch axis removed).
        """
        if i < 0:
            raise ValueError(f"observation index must be non-negative, got {i}.")
        # A seed sequence with a fixed spawn key keeps these observations apart from
        # any stream a user would create with ``default_rng(i)``.
        rng = np.random.default_rng(np.random.SeedSequence(i, spawn_key=(2021,)))
        theta, x = self.observations(1, rng, **kwargs)
        return theta[0], x[0]

    def _check_theta(self, theta: np.ndarray) -> np.ndarray:
        """Return ``theta`` as a float64 array of shape ``(n, n_parameters)``."""
        theta = np.asarray(theta, dtype=np.float64)
        if theta.ndim == 1 and theta.shape[0] == self.n_parameters:
            theta = theta[None, :]
        if theta.ndim != 2 or theta.shape[1] != self.n_parameters:
            raise ValueError(
                f"theta must have shape (n, {self.n_parameters}), got {theta.shape}."
            )
        return theta

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class BoxUniformPrior:
    """Independent uniform prior on a box.

    Parameters
    ----------
    low, high : sequence of float
        Lower and upper edge of the box, one entry per parameter.
    """

    def __init__(self, low: Sequence[float], high: Sequence[float]):
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        if self.low.shape != self.high.shape or np.any(self.high <= self.low):
            raise ValueError("need low < high, elementwise and of equal length.")
        self._log_density = -float(np.sum(np.log(self.high - self.low)))

    @property
    def bounds(self) -> list[tuple[float, float]]:
        """``(low, high)`` per parameter."""
        return [(float(a), float(b)) for a, b in zip(self.low, self.high, strict=True)]

    def sample(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """Draw ``n`` points, shape ``(n, dim)``."""
        return rng.uniform(self.low, self.high, size=(n, self.low.size))

    def log_prob(self, theta: np.ndarray) -> np.ndarray:
        """Log density of each row, ``-inf`` outside the box."""
        inside = self.contains(theta)
        return np.where(inside, self._log_density, -np.inf)

    def contains(self, theta: np.ndarray) -> np.ndarray:
        """Whether each row lies in the closed box, shape ``(n,)``."""
        return np.all((theta >= self.low) & (theta <= self.high), axis=-1)
