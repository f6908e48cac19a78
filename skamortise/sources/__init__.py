"""Training-data sources: where an estimator's training pairs come from.

Every estimator trains from a source through one path, ``fit_source(source)``;
``fit(X, y)`` and ``fit_simulator(...)`` are that path with an :class:`ArraySource`
and a :class:`SimulatorSource`.

- :class:`ArraySource`: arrays in memory, or memory-mapped ``.npy`` files read a
  minibatch at a time;
- :class:`ShardSource`: a directory of shards written by
  ``skamortise.simulate(..., out=directory)``, read a minibatch at a time;
- :class:`SimulatorSource`: pairs simulated on the fly from a prior and a simulator,
  renewed every few epochs or every minibatch;
- :class:`ModelSimulatorSource`: labelled data sets simulated on the fly from
  several candidate models, for model comparison.
"""

from .._source import ArraySource, TrainingSource
from .shards import ShardSource
from .simulator import ModelSimulatorSource, SimulatorSource

__all__ = [
    "ArraySource",
    "ModelSimulatorSource",
    "ShardSource",
    "SimulatorSource",
    "TrainingSource",
]
