"""The optimizers a Run may name: one table of name -> the torch.optim class it means. Torch-free at
import (scene validation reads the names); ``make`` builds one for a run."""
from __future__ import annotations

from .errors import SceneError

OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
              "nadam": "NAdam", "radam": "RAdam", "adamax": "Adamax", "adadelta": "Adadelta"}


def make(run, params):
    """The run's optimizer over ``params``; options torch rejects are a SceneError naming them."""
    import torch

    cls = getattr(torch.optim, OPTIMIZERS[run.optimizer])
    try:
        return cls(params, lr=run.lr, **run.options)
    except (TypeError, ValueError) as exc:  # unknown keyword, or a value torch refuses (momentum=-1)
        raise SceneError("run.options", f"options that {cls.__name__} accepts ({exc})", run.options) from None
