"""The one training loop every estimator family uses, and what it consumes.

- ``loop.py``: ``train``, the epochs, early stopping and error handling;
- ``rows.py``: the training pairs as the loop sees them (tensors in memory, or
  streamed from a table a minibatch at a time) and the minibatch order;
- ``validation.py``: the per-epoch validation loss and the monitored loss;
- ``checkpoint.py``: the run's state, saved and resumed exactly.

This package knows nothing of estimators, sources or simulation.
"""

from .checkpoint import Checkpoint, TrainingResult
from .loop import TrainingConfig, train
from .rows import Batch, Rows, StreamedRows
from .validation import evaluate

__all__ = [
    "Batch",
    "Checkpoint",
    "Rows",
    "StreamedRows",
    "TrainingConfig",
    "TrainingResult",
    "evaluate",
    "train",
]
