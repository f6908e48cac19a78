"""Saving a training run's state to disk and resuming it exactly."""

from __future__ import annotations

import copy
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn


@dataclass
class TrainingResult:
    history: dict = field(default_factory=dict)
    best_epoch: int = 0
    n_epochs: int = 0
    interrupted: bool = False


@dataclass
class Run:
    """The mutable state of one training run: everything a checkpoint holds."""

    network: nn.Module
    optimizer: object
    scheduler: object
    generator: object
    result: TrainingResult
    best_loss: float = float("inf")
    best_state: dict = field(default_factory=dict)

    def __post_init__(self):
        self.best_state = copy.deepcopy(self.network.state_dict())

    @property
    def history(self) -> dict:
        return self.result.history

    def improve(self, epoch: int, monitored: float) -> None:
        """Keep the current weights if ``monitored`` is the best loss so far."""
        if monitored < self.best_loss:
            self.best_loss, self.result.best_epoch = monitored, epoch
            self.best_state = copy.deepcopy(self.network.state_dict())

    def state_dict(self, finished: bool) -> dict:
        return {
            "network": self.network.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(),
            "generator": self.generator.get_state(),
            "best_state": self.best_state,
            "best_loss": self.best_loss,
            "history": self.history,
            "epoch": self.result.n_epochs,
            "best_epoch": self.result.best_epoch,
            "finished": finished,
        }

    def load_state_dict(self, state: dict) -> None:
        self.network.load_state_dict(state["network"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scheduler.load_state_dict(state["scheduler"])
        self.generator.set_state(state["generator"])
        self.best_state, self.best_loss = state["best_state"], state["best_loss"]
        self.history.update(state["history"])
        self.result.n_epochs, self.result.best_epoch = (
            state["epoch"],
            state["best_epoch"],
        )


@dataclass
class Checkpoint:
    """Training state saved every ``every`` epochs to ``directory/checkpoint.pt``.

    The state (weights, optimiser, learning-rate schedule, random generator, best
    weights, history) is enough to resume exactly where training stood, so a resumed
    run ends with the same weights as an uninterrupted one. A checkpoint of a run that
    finished is not resumed: the next fit starts afresh and overwrites it. The
    ``fingerprint`` (training-set size and shape, network layout) tells whether a
    checkpoint belongs to this run.
    """

    directory: str | os.PathLike
    every: int

    @property
    def path(self) -> Path:
        return Path(self.directory) / "checkpoint.pt"

    def save(self, run: Run, fingerprint: list, finished: bool = False) -> None:
        state = {**run.state_dict(finished), "fingerprint": fingerprint}
        Path(self.directory).mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as handle:
                torch.save(state, handle)
            os.replace(tmp, self.path)  # atomic: a crash never leaves half a file
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)

    def resume(self, run: Run, fingerprint: list) -> int:
        """Restore ``run`` from an unfinished checkpoint; returns the next epoch."""
        if not self.path.exists():
            return 1
        state = torch.load(self.path, map_location="cpu", weights_only=True)
        if state["finished"]:
            return 1
        if state["fingerprint"] != fingerprint:
            warnings.warn(
                f"The checkpoint in {self.directory} was made for other training data "
                "or another network; starting afresh.",
                UserWarning,
                stacklevel=4,
            )
            return 1
        run.load_state_dict(state)
        return state["epoch"] + 1
