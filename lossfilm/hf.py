"""Hugging Face: ``RecordPath``, a ``transformers.TrainerCallback`` that records the path of a ``Trainer``
run: ``Trainer(..., callbacks=[path := RecordPath()])``, then ``Scene(paths=[path.trajectory])``.
Checkpoint folders (``out/checkpoint-*``) are read by ``Trajectory.from_checkpoints``. Importing this
module imports transformers; nothing else in lossfilm does."""
from __future__ import annotations

from .errors import needs
from .trajectory import Recording, Trajectory

TrainerCallback = needs("transformers", "lossfilm.hf.RecordPath", "hf").TrainerCallback


class RecordPath(TrainerCallback):
    """Records the Trainer's model's parameters at the start and after every optimizer step (the
    Trainer's ``global_step``: with gradient accumulation, once per real step, as the Trainer counts),
    with an epoch mark at the end of each epoch and the loss the Trainer logs kept beside its step.
    ``trajectory`` is the path once training has ended."""

    def __init__(self, label: str = "Trainer", memory_mb: float = 256.0):
        self.label, self.memory_mb = label, memory_mb
        self._recording: Recording | None = None
        self._step = 0
        self.logged: dict[int, float] = {}  # global step -> the training loss the Trainer logged there

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            raise ValueError("RecordPath: the Trainer gave its callbacks no model")
        self._recording = Recording(model, self.label, self.memory_mb)
        self._step = state.global_step

    def on_step_end(self, args, state, control, **kwargs):
        if self._recording is not None and state.global_step > self._step:
            self._step = state.global_step
            self._recording.step()

    def on_epoch_end(self, args, state, control, **kwargs):
        if self._recording is not None and self._recording._rows.count - 1 not in self._recording._epochs:
            self._recording.epoch()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.logged[state.global_step] = float(logs["loss"])

    def on_train_end(self, args, state, control, **kwargs):
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
