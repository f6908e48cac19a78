"""The one training loop every estimator family uses.

Families supply a loss ``loss_fn(network, batch, generator) -> scalar tensor``; the
loop owns the optimiser, early stopping on a held-out set, learning-rate decay on
plateaus, the best-weights snapshot, interruption and non-finite losses. Minibatches
come from the training rows (``rows.py``), the monitored loss from the validation
pass (``validation.py``), and resuming from a checkpoint (``checkpoint.py``).
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .._progress import progress
from .._runtime import torch_generator
from .checkpoint import Checkpoint, Run, TrainingResult
from .rows import Rows
from .validation import LossFn, Validator

# Gradient norms are clipped: one outlying simulation should not wreck a flow.
_MAX_GRAD_NORM = 5.0


@dataclass
class TrainingConfig:
    learning_rate: float
    batch_size: int
    max_epochs: int
    n_iter_no_change: int
    weight_decay: float = 0.0
    verbose: int = 0
    refresh_every: int | None = None
    checkpoint: Checkpoint | None = None
    # Positive losses whose scale shrinks with the replicate count (squared error,
    # pinball) are monitored per replicate-count group; see ``validation.py``.
    balance_replicates: bool = False


class _NonFiniteLoss(Exception):
    def __init__(self, epoch, batch, value):
        super().__init__(epoch, batch, value)
        self.epoch, self.batch, self.value = epoch, batch, value


def _train_epoch(run: Run, loss_fn, data: Rows, batch_size: int, epoch: int) -> float:
    run.network.train()
    total, count = 0.0, 0
    for i, batch in enumerate(data.batches(batch_size, run.generator)):
        loss = loss_fn(run.network, batch, run.generator)
        if not torch.isfinite(loss):
            raise _NonFiniteLoss(epoch, i, loss.item())
        run.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(run.network.parameters(), _MAX_GRAD_NORM)
        run.optimizer.step()
        total += loss.item() * len(batch)
        count += len(batch)
    return total / count


def _converged(history: dict, best_epoch: int, patience: int) -> bool:
    return len(history["train_loss"]) - best_epoch > patience


def _start(network, config: TrainingConfig, seed: int, balanced: bool) -> Run:
    optimizer = torch.optim.Adam(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.5, patience=max(1, config.n_iter_no_change // 3)
    )
    history = {"train_loss": [], "valid_loss": [], "learning_rate": [], "time": []}
    if balanced:
        history["valid_balanced"] = []
    return Run(
        network, optimizer, scheduler, torch_generator(seed), TrainingResult(history)
    )


def _refreshes(config: TrainingConfig, refresh, epoch: int) -> bool:
    return refresh is not None and epoch > 1 and (epoch - 1) % config.refresh_every == 0


def train(
    network: nn.Module,
    loss_fn: LossFn,
    train_data: Rows,
    valid_data: Rows | None,
    config: TrainingConfig,
    *,
    seed: int,
    refresh: Callable[[int], Rows] | None = None,
) -> TrainingResult:
    """Train ``network`` in place and leave it holding its best weights.

    Training stops after ``n_iter_no_change`` epochs without improvement of the
    monitored loss (see :class:`~.validation.Validator`), or at ``max_epochs``; the
    learning rate halves after a third of that patience without improvement.
    ``refresh(epoch)`` (on-the-fly simulation) returns fresh training rows every
    ``refresh_every`` epochs.

    Raises
    ------
    FloatingPointError
        When a batch loss is not finite; the network holds the best weights so far.
    """
    validator = Validator(valid_data, loss_fn, seed, config.balance_replicates)
    run = _start(network, config, seed, validator.balanced)
    history, result = run.history, run.result
    fingerprint = [
        len(train_data),
        list(train_data.shape),
        sorted(network.state_dict()),
    ]
    first = config.checkpoint.resume(run, fingerprint) if config.checkpoint else 1
    epochs = progress(
        range(first, config.max_epochs + 1),
        verbose=config.verbose,
        total=config.max_epochs,
        desc="training",
        unit="epoch",
        initial=first - 1,
    )
    start = time.perf_counter()
    try:
        for epoch in epochs:
            if _refreshes(config, refresh, epoch):
                train_data = refresh(epoch)
            train_loss = _train_epoch(
                run, loss_fn, train_data, config.batch_size, epoch
            )
            valid_loss, monitored = validator(network, train_loss)
            if not math.isfinite(monitored):
                raise _NonFiniteLoss(epoch, "validation", monitored)
            if validator.balanced:
                history["valid_balanced"].append(monitored)
            history["train_loss"].append(train_loss)
            history["valid_loss"].append(valid_loss)
            history["learning_rate"].append(run.optimizer.param_groups[0]["lr"])
            history["time"].append(time.perf_counter() - start)
            result.n_epochs = epoch
            run.improve(epoch, monitored)
            run.scheduler.step(monitored)
            if config.checkpoint and epoch % config.checkpoint.every == 0:
                config.checkpoint.save(run, fingerprint)
            _show(epochs, train_loss, valid_loss)
            if _converged(history, result.best_epoch, config.n_iter_no_change):
                break
    except KeyboardInterrupt:
        result.interrupted = True
        warnings.warn(
            f"Training interrupted during epoch {result.n_epochs + 1}; keeping the "
            f"best weights so far (epoch {result.best_epoch}).",
            UserWarning,
            stacklevel=3,
        )
    except _NonFiniteLoss as err:
        network.load_state_dict(run.best_state)
        raise _floating_point_error(err, result.best_epoch) from None
    finally:
        getattr(epochs, "close", lambda: None)()
    if config.checkpoint and not result.interrupted:
        config.checkpoint.save(run, fingerprint, finished=True)
    network.load_state_dict(run.best_state)
    return result


def _show(bar, train_loss: float, valid_loss: float | None) -> None:
    """Losses beside the progress bar, when there is one."""
    if hasattr(bar, "set_postfix"):
        shown = "-" if valid_loss is None else f"{valid_loss:.4g}"
        bar.set_postfix(train=f"{train_loss:.4g}", valid=shown)


def _floating_point_error(err: _NonFiniteLoss, best_epoch: int) -> FloatingPointError:
    where = "the validation pass" if err.batch == "validation" else f"batch {err.batch}"
    return FloatingPointError(
        f"The training loss became {err.value} in epoch {err.epoch}, {where}. The "
        f"network was restored to its best weights (epoch {best_epoch}). "
        "Likely causes: a learning_rate too high for this problem, extreme "
        "simulations (check the simulator's output scale), or a custom loss "
        "returning non-finite values."
    )
