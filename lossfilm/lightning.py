"""A PyTorch Lightning callback that records the path of a Lightning run: ``trainer =
Trainer(callbacks=[RecordPath()])``, then ``Scene(paths=[callback.trajectory])``. Importing this module
imports lightning; nothing else in lossfilm does."""
from __future__ import annotations

from lightning.pytorch.callbacks import Callback

from .trajectory import Recording, Trajectory


class RecordPath(Callback):
    """Records the LightningModule's parameters at the start and after every optimizer step (each new
    ``trainer.global_step``, so gradient accumulation records once per real step), with an epoch mark
    at the end of each training epoch. ``trajectory`` is the path once training has ended."""

    def __init__(self, label: str = "lightning", memory_mb: float = 256.0):
        self.label, self.memory_mb = label, memory_mb
        self._recording: Recording | None = None
        self._step = 0

    def on_train_start(self, trainer, pl_module) -> None:
        self._recording = Recording(pl_module, self.label, self.memory_mb)
        self._step = trainer.global_step

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self._recording is not None and trainer.global_step > self._step:
            self._step = trainer.global_step
            self._recording.step()

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        if self._recording is not None:
            self._recording.epoch()

    def on_train_end(self, trainer, pl_module) -> None:
        if self._recording is not None:
            self._recording._open = False
            self._recording.close()

    @property
    def trajectory(self) -> Trajectory:
        if self._recording is None:
            raise RuntimeError("RecordPath: no training has run with this callback yet")
        self._recording._open = False
        return self._recording.close()

    def to_trajectory(self) -> Trajectory:
        return self.trajectory
