"""Hugging Face: ``RecordPath``, a ``transformers.TrainerCallback`` that records the path of a ``Trainer``
run: ``Trainer(..., callbacks=[path := RecordPath()])``, then ``Scene(paths=[path.trajectory])``.
Checkpoint folders (``out/checkpoint-*``) are read by ``Trajectory.from_checkpoints``. Importing this
module imports transformers; nothing else in lossfilm does."""
from __future__ import annotations

from .errors import needs
from .trajectory import StepRecorder

TrainerCallback = needs("transformers", "lossfilm.hf.RecordPath", "hf").TrainerCallback


class RecordPath(StepRecorder, TrainerCallback):
    """Records the Trainer's model's parameters at the start and after every optimizer step (the
    Trainer's ``global_step``: with gradient accumulation, once per real step, as the Trainer counts),
    with an epoch mark at the end of each epoch and the loss the Trainer logs kept by its step in
    ``logged``. ``trajectory`` is the path once training has ended."""

    def __init__(self, label: str = "Trainer", memory_mb: float = 256.0):
        StepRecorder.__init__(self, label, memory_mb)
        self.logged: dict[int, float] = {}  # global step -> the training loss the Trainer logged there

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if model is None:
            raise ValueError("RecordPath: the Trainer gave its callbacks no model")
        self._begin(model, state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        self._stepped(state.global_step)

    def on_epoch_end(self, args, state, control, **kwargs):
        self._epoch_ended()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            self.logged[state.global_step] = float(logs["loss"])

    def on_train_end(self, args, state, control, **kwargs):
        self._ended()
