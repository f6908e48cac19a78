"""Simulating training data from a prior and a simulator.

The protocol (plain numpy callables, so any simulator plugs in):

- a prior is ``prior(n, rng) -> (n, n_parameters)`` with ``rng`` a
  :class:`numpy.random.Generator`, or an object with ``rvs(size=..., random_state=...)``
  such as a frozen :mod:`scipy.stats` distribution;
- a simulator is ``simulator(theta, rng, **kwargs) -> data`` returning one data set per
  row of ``theta``: a 2-D array, a 3-D replicated array, or a list of arrays. A model
  with replicates takes their count as the keyword ``n_replicates``.

:func:`simulate` draws pairs in seeded parallel chunks, in memory or to a directory
of shards (:class:`ShardWriter`); :func:`simulate_models` labels data sets from several
candidate models. Training on the fly is :class:`skamortise.sources.SimulatorSource`.
:class:`MissingCompletelyAtRandom` wraps a simulator so that its data miss values,
for estimators with ``missing="mask"``.
"""

from ._prior import draw_prior
from ._rows import simulate_data, stack_rows
from ._simulate import simulate
from .missing import MissingCompletelyAtRandom
from .models import simulate_models
from .shards import ShardWriter

__all__ = [
    "simulate",
    "simulate_models",
    "draw_prior",
    "simulate_data",
    "stack_rows",
    "ShardWriter",
    "MissingCompletelyAtRandom",
]
