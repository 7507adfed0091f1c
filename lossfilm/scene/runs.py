"""A scene's runs: one optimizer's training (or a point's descent on a textbook surface) each.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import SceneError
from .optimizers import OPTIMIZERS
from .checks import _color, _integer, _number, _text


TUNE = "tune"  # Run(lr="tune"): a seeded search for the lr that ends lowest (surfaces)
# lr="tune" tries these: log-spaced, two per decade, the same for every run and every machine.
TUNE_LRS = tuple(float(v) for v in np.geomspace(1e-5, 1.0, 11))
SURFACE_STEPS = 300  # a run's steps on a surface unless it says


@dataclass(frozen=True)
class Run:
    """One optimizer's training run; several runs on one surface make a race."""

    NOT_NUMBERS = ("label", "color")

    optimizer: Any = "sgd"  # a name (optimizers.OPTIMIZERS), a torch.optim.Optimizer class, or a factory
    lr: float = 1e-2
    epochs: int = 25
    batch_size: int = 128
    shuffle: bool = False
    options: Mapping[str, Any] = field(default_factory=dict)
    label: str | None = None
    color: str | None = None
    scheduler: Callable[[Any], Any] | None = None  # optimizer -> a torch LR scheduler
    scheduler_every: str = "epoch"  # when scheduler.step() is called: each "epoch" or each "step"
    clip_grad_norm: float | None = None  # gradients clipped to this total norm before each step
    # On a surface (Scene(surface=...)): optimizer steps, the run's own start, seeded gradient noise.
    steps: int | None = None
    start: tuple[float, float] | None = None
    noise: float = 0.0
    # This run's own seed (the model's initialisation, shuffling and dropout; a surface run's noise)
    # instead of the scene's: runs from different initialisations for ModelsPlane or a comparison.
    seed: int | None = None

    def __post_init__(self) -> None:
        if isinstance(self.optimizer, str):
            if self.optimizer.lower() not in OPTIMIZERS:
                raise SceneError("run.optimizer", "one of " + ", ".join(OPTIMIZERS) + ", a torch.optim.Optimizer "
                                 "class or a factory taking the parameters", self.optimizer)
            object.__setattr__(self, "optimizer", self.optimizer.lower())
        elif not callable(self.optimizer):
            raise SceneError("run.optimizer", "a name, a torch.optim.Optimizer class or a factory taking the "
                                              "parameters", self.optimizer)
        if self.lr != TUNE:
            object.__setattr__(self, "lr", _number(self.lr, "run.lr", positive=True))
        if self.steps is not None:
            object.__setattr__(self, "steps", _integer(self.steps, "run.steps", minimum=1))
        object.__setattr__(self, "noise", _number(self.noise, "run.noise", minimum=0))
        if self.seed is not None:
            _integer(self.seed, "run.seed", minimum=0)
        object.__setattr__(self, "epochs", _integer(self.epochs, "run.epochs", minimum=0))
        object.__setattr__(self, "batch_size", _integer(self.batch_size, "run.batch_size", minimum=1))
        if not isinstance(self.options, Mapping):
            raise SceneError("run.options", "a dict of optimizer keyword arguments", self.options)
        object.__setattr__(self, "options", dict(sorted(self.options.items())))
        _color(self.color, "run.color")
        _text(self.label, "run.label")
        if self.scheduler is not None and not callable(self.scheduler):
            raise SceneError("run.scheduler", "a function taking the optimizer and returning an LR scheduler",
                             self.scheduler)
        if self.scheduler_every not in ("epoch", "step"):
            raise SceneError("run.scheduler_every", "'epoch' or 'step'", self.scheduler_every)
        if self.clip_grad_norm is not None:
            object.__setattr__(self, "clip_grad_norm", _number(self.clip_grad_norm, "run.clip_grad_norm", positive=True))

    @property
    def name(self) -> str:
        """The label, else the optimizer's name and the option that tells it apart (SGD + momentum 0.9)."""
        if self.label:
            return self.label
        if isinstance(self.optimizer, str):
            name = self.optimizer.upper() if self.optimizer == "sgd" else OPTIMIZERS[self.optimizer]
        else:
            name = getattr(self.optimizer, "__name__", type(self.optimizer).__name__)
        if self.options.get("momentum"):
            name += f" + {'Nesterov ' if self.options.get('nesterov') else ''}momentum {self.options['momentum']:g}"
        return name
