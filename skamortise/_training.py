"""The one training loop every estimator family uses.

Families supply a loss ``loss_fn(network, batch, generator) -> scalar tensor``; the
loop owns minibatching, the optimiser, early stopping on a held-out set, learning-rate
decay on plateaus, the best-weights snapshot, interruption and non-finite losses.
"""

from __future__ import annotations

import copy
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from ._runtime import torch_generator

# Gradient norms are clipped: one outlying simulation should not wreck a flow.
_MAX_GRAD_NORM = 5.0
# Validation passes use large chunks; they need no gradients.
_EVAL_CHUNK = 8192


@dataclass
class Batch:
    """Tensors of one set of training pairs (data, optional mask, parameters)."""

    x: torch.Tensor
    mask: torch.Tensor | None
    y: torch.Tensor

    def __len__(self) -> int:
        return self.x.shape[0]

    def take(self, index) -> Batch:
        if self.mask is None:
            return Batch(self.x[index], None, self.y[index])
        # Drop replicate columns that are padding in every selected data set.
        mask = self.mask[index]
        width = int(mask.sum(dim=1).max())
        return Batch(self.x[index][:, :width], mask[:, :width], self.y[index])


def _minibatch_order(data: Batch, batch_size: int, generator) -> list[torch.Tensor]:
    """Random minibatches; ragged data are bucketed by replicate count.

    For ragged data, windows of 50 batches are sorted by replicate count before
    being cut, and the batches then shuffled: each batch holds similar counts, so
    little padding is computed, while every epoch still visits all pairs in random
    order.
    """
    order = torch.randperm(len(data), generator=generator)
    if data.mask is None:
        return list(order.split(batch_size))
    counts = data.mask.sum(dim=1).cpu()[order]
    window = 50 * batch_size
    batches = []
    for start in range(0, len(order), window):
        part = order[start : start + window]
        part = part[torch.argsort(counts[start : start + window], stable=True)]
        batches.extend(part.split(batch_size))
    shuffle = torch.randperm(len(batches), generator=generator)
    return [batches[i] for i in shuffle]


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
    # pinball) are monitored per replicate-count group; see ``_balanced``.
    balance_replicates: bool = False


@dataclass
class Checkpoint:
    """Training state saved every ``every`` epochs to ``directory/checkpoint.pt``.

    The state (weights, optimiser, learning-rate schedule, random generator, best
    weights, history) is enough to resume exactly where training stood, so a resumed
    run ends with the same weights as an uninterrupted one. A checkpoint of a run that
    finished is not resumed: the next fit starts afresh and overwrites it.
    """

    directory: str | os.PathLike
    every: int

    @property
    def path(self) -> Path:
        return Path(self.directory) / "checkpoint.pt"

    def save(self, state: dict) -> None:
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(state, handle)
            os.replace(tmp, self.path)  # atomic: a crash never leaves half a file
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def load(self, fingerprint: list) -> dict | None:
        if not self.path.exists():
            return None
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        if state["finished"]:
            return None
        if state["fingerprint"] != fingerprint:
            warnings.warn(
                f"The checkpoint in {self.directory} was made for other training data "
                "or another network; starting afresh.",
                UserWarning,
                stacklevel=4,
            )
            return None
        return state


@dataclass
class TrainingResult:
    history: dict = field(default_factory=dict)
    best_epoch: int = 0
    n_epochs: int = 0
    interrupted: bool = False


LossFn = Callable[[nn.Module, Batch, torch.Generator], torch.Tensor]


def _train_epoch(network, loss_fn, data, config, optimizer, generator, epoch):
    network.train()
    total, count = 0.0, 0
    for i, index in enumerate(_minibatch_order(data, config.batch_size, generator)):
        batch = data.take(index.to(data.x.device))
        loss = loss_fn(network, batch, generator)
        if not torch.isfinite(loss):
            raise _NonFiniteLoss(epoch, i, loss.item())
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(network.parameters(), _MAX_GRAD_NORM)
        optimizer.step()
        total += loss.item() * len(batch)
        count += len(batch)
    return total / count


@torch.no_grad()
def evaluate(network: nn.Module, loss_fn: LossFn, data: Batch, seed: int = 0) -> float:
    """Mean loss over ``data`` in evaluation mode, with a fixed generator.

    The fixed generator makes losses that draw random numbers (the ratio family's
    shuffled pairs) comparable from epoch to epoch.
    """
    network.eval()
    generator = torch_generator(seed)
    total = 0.0
    for start in range(0, len(data), _EVAL_CHUNK):
        batch = data.take(slice(start, start + _EVAL_CHUNK))
        total += float(loss_fn(network, batch, generator)) * len(batch)
    return total / len(data)


# Validation data with differing replicate counts are monitored in this many groups.
_N_GROUPS = 5


def _replicate_groups(data: Batch) -> list[torch.Tensor] | None:
    """Validation indices split into groups of increasing replicate count, or None."""
    if data.mask is None:
        return None
    counts = data.mask.sum(dim=1)
    if int(counts.min()) == int(counts.max()):
        return None
    order = torch.argsort(counts, stable=True)
    return list(order.tensor_split(min(_N_GROUPS, len(order))))


@torch.no_grad()
def _balanced(network, loss_fn, data: Batch, groups, seed: int) -> tuple[float, float]:
    """Pooled validation loss and the geometric mean of the group losses.

    In the geometric mean each replicate-count group's relative change counts equally.
    A loss pooled over replicate counts is dominated by the small counts, whose
    posteriors are wide, and barely moves when the network improves on large counts
    (the risk at m = 100 is a hundredth of the risk at m = 1). Early stopping on the
    pooled loss then keeps weights that are not yet good at large counts. Weighting
    by a function of the data alone leaves the Bayes estimator the minimiser.
    """
    losses = [evaluate(network, loss_fn, data.take(index), seed) for index in groups]
    pooled = sum(v * len(index) for v, index in zip(losses, groups, strict=True)) / len(
        data
    )
    if min(losses) <= 0:  # not a scale: fall back to the equally weighted mean
        return pooled, sum(losses) / len(losses)
    return pooled, math.exp(sum(math.log(v) for v in losses) / len(losses))


class _NonFiniteLoss(Exception):
    def __init__(self, epoch, batch, value):
        super().__init__(epoch, batch, value)
        self.epoch, self.batch, self.value = epoch, batch, value


def _converged(history: dict, best_epoch: int, patience: int) -> bool:
    return len(history["train_loss"]) - best_epoch > patience


def train(
    network: nn.Module,
    loss_fn: LossFn,
    train_data: Batch,
    valid_data: Batch | None,
    config: TrainingConfig,
    *,
    seed: int,
    refresh: Callable[[int], Batch] | None = None,
) -> TrainingResult:
    """Train ``network`` in place and leave it holding its best weights.

    The monitored loss is the validation loss when ``valid_data`` is given, else the
    epoch's training loss; with ``config.balance_replicates`` and validation data of
    differing replicate counts, it is the geometric mean of the losses of replicate
    count groups (also recorded as ``history["valid_balanced"]``). Training stops
    after ``n_iter_no_change`` epochs without improvement, or at ``max_epochs``; the
    learning rate halves after a third of that patience without improvement.
    ``refresh(epoch)`` (on-the-fly simulation) returns fresh training data every
    ``refresh_every`` epochs.

    Raises
    ------
    FloatingPointError
        When a batch loss is not finite; the network holds the best weights so far.
    """
    generator = torch_generator(seed)
    optimizer = torch.optim.Adam(
        network.parameters(), lr=config.learning_rate, weight_decay=config.weight_decay
    )
    scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, factor=0.5, patience=max(1, config.n_iter_no_change // 3)
    )
    history = {"train_loss": [], "valid_loss": [], "learning_rate": [], "time": []}
    groups = (
        _replicate_groups(valid_data)
        if valid_data is not None and config.balance_replicates
        else None
    )
    if groups is not None:
        history["valid_balanced"] = []
    result = TrainingResult(history=history)
    best_loss, best_state = math.inf, copy.deepcopy(network.state_dict())
    first = 1
    fingerprint = [
        len(train_data),
        list(train_data.x.shape[1:]),
        sorted(network.state_dict()),
    ]
    saved = config.checkpoint.load(fingerprint) if config.checkpoint else None
    if saved is not None:
        network.load_state_dict(saved["network"])
        optimizer.load_state_dict(saved["optimizer"])
        scheduler.load_state_dict(saved["scheduler"])
        generator.set_state(saved["generator"])
        best_state, best_loss = saved["best_state"], saved["best_loss"]
        history.update(saved["history"])
        result.n_epochs, result.best_epoch = saved["epoch"], saved["best_epoch"]
        first = saved["epoch"] + 1

    def checkpoint(epoch, finished=False):
        config.checkpoint.save(
            {
                "network": network.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
                "generator": generator.get_state(),
                "best_state": best_state,
                "best_loss": best_loss,
                "history": history,
                "epoch": epoch,
                "best_epoch": result.best_epoch,
                "finished": finished,
                "fingerprint": fingerprint,
            }
        )

    epochs = range(first, config.max_epochs + 1)
    progress = None
    if config.verbose:
        from tqdm.auto import tqdm

        progress = tqdm(
            epochs,
            desc="training",
            unit="epoch",
            leave=True,
            initial=first - 1,
            total=config.max_epochs,
        )
        epochs = progress
    start = time.perf_counter()
    try:
        for epoch in epochs:
            if (
                refresh is not None
                and epoch > 1
                and (epoch - 1) % config.refresh_every == 0
            ):
                train_data = refresh(epoch)
            train_loss = _train_epoch(
                network, loss_fn, train_data, config, optimizer, generator, epoch
            )
            if groups is not None:
                valid_loss, monitored = _balanced(
                    network, loss_fn, valid_data, groups, seed
                )
                history["valid_balanced"].append(monitored)
            else:
                valid_loss = (
                    evaluate(network, loss_fn, valid_data, seed) if valid_data else None
                )
                monitored = train_loss if valid_data is None else valid_loss
            if not math.isfinite(monitored):
                raise _NonFiniteLoss(epoch, "validation", monitored)
            history["train_loss"].append(train_loss)
            history["valid_loss"].append(valid_loss)
            history["learning_rate"].append(optimizer.param_groups[0]["lr"])
            history["time"].append(time.perf_counter() - start)
            result.n_epochs = epoch
            if monitored < best_loss:
                best_loss, result.best_epoch = monitored, epoch
                best_state = copy.deepcopy(network.state_dict())
            scheduler.step(monitored)
            if config.checkpoint and epoch % config.checkpoint.every == 0:
                checkpoint(epoch)
            if progress is not None:
                shown = "-" if valid_loss is None else f"{valid_loss:.4g}"
                progress.set_postfix(train=f"{train_loss:.4g}", valid=shown)
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
        network.load_state_dict(best_state)
        where = (
            "the validation pass" if err.batch == "validation" else f"batch {err.batch}"
        )
        raise FloatingPointError(
            f"The training loss became {err.value} in epoch {err.epoch}, {where}. The "
            f"network was restored to its best weights (epoch {result.best_epoch}). "
            "Likely causes: a learning_rate too high for this problem, extreme "
            "simulations (check the simulator's output scale), or a custom loss "
            "returning non-finite values."
        ) from None
    finally:
        if progress is not None:
            progress.close()
    if config.checkpoint and not result.interrupted:
        checkpoint(result.n_epochs, finished=True)
    network.load_state_dict(best_state)
    return result
