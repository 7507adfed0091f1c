"""A PyTorch Lightning callback that records the path of a Lightning run: ``trainer =
Trainer(callbacks=[RecordPath()])``, then ``Scene(paths=[callback.trajectory])``. Importing this module
imports lightning; nothing else in lossfilm does."""
from __future__ import annotations

from lightning.pytorch.callbacks import Callback

from .trajectory import StepRecorder


class RecordPath(StepRecorder, Callback):
    """Records the LightningModule's parameters at the start and after every optimizer step (each new
    ``trainer.global_step``, so gradient accumulation records once per real step), with an epoch mark
    at the end of each training epoch. ``trajectory`` is the path once training has ended."""

    def __init__(self, label: str = "lightning", memory_mb: float = 256.0):
        StepRecorder.__init__(self, label, memory_mb)

    def on_train_start(self, trainer, pl_module) -> None:
        self._begin(pl_module, trainer.global_step)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._stepped(trainer.global_step)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        self._epoch_ended()

    def on_train_end(self, trainer, pl_module) -> None:
        self._ended()
