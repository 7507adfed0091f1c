"""The optimizers a Run may name: one table of name -> the torch.optim class it means. Torch-free at
import (scene validation reads the names); ``make`` builds one for a run."""
from __future__ import annotations

from ..errors import SceneError

OPTIMIZERS = {"sgd": "SGD", "adam": "Adam", "adamw": "AdamW", "rmsprop": "RMSprop", "adagrad": "Adagrad",
              "nadam": "NAdam", "radam": "RAdam", "adamax": "Adamax", "adadelta": "Adadelta"}


def make(run, params):
    """The run's optimizer over ``params``: a name from the table or an Optimizer class gets the run's
    lr and options; a factory is called with the parameters and the options (it sets its own lr). What
    torch rejects (an unknown keyword, momentum=-1) is a SceneError naming the field."""
    import torch

    made = run.optimizer
    if isinstance(made, str):
        made = getattr(torch.optim, OPTIMIZERS[made])
    is_class = isinstance(made, type) and issubclass(made, torch.optim.Optimizer)
    what = getattr(made, "__name__", "the factory")
    try:
        opt = made(params, lr=run.lr, **run.options) if is_class else made(params, **run.options)
    except (TypeError, ValueError) as exc:  # unknown keyword, or a value torch refuses (momentum=-1)
        raise SceneError("run.options", f"options that {what} accepts ({exc})", run.options) from None
    except Exception as exc:
        raise SceneError("run.optimizer", f"an optimizer that can be built ({what} raised {type(exc).__name__}: "
                                          f"{exc})") from None
    if not isinstance(opt, torch.optim.Optimizer):
        raise SceneError("run.optimizer", "a factory that returns a torch.optim.Optimizer", type(opt).__name__)
    return opt


def scheduler(run, opt):
    """The run's LR scheduler over ``opt``, or None."""
    if run.scheduler is None:
        return None
    try:
        made = run.scheduler(opt)
    except Exception as exc:
        raise SceneError("run.scheduler", f"a function taking the optimizer (it raised {type(exc).__name__}: "
                                          f"{exc})") from None
    if not callable(getattr(made, "step", None)):
        raise SceneError("run.scheduler", "a function returning an LR scheduler (something with .step())",
                         type(made).__name__)
    return made


def step_with(opt, closure):
    """One optimizer step that works whether or not the optimizer calls the closure, and the loss at
    the weights it started from. The gradients are made here, before ``step``: the most common
    hand-written optimizer (``def step(self, closure=None)``: read ``p.grad``, return None) never calls
    the closure, and stood still. An optimizer that does call it (every torch one, once; L-BFGS several
    times) gets the value already made on its first call, with the gradients it left, and a fresh
    evaluation on every later call: the same arithmetic as before, step for step. The loss returned is
    ours, never the optimizer's return value (None, or whatever the user's class returns)."""
    value = closure()
    first = [True]

    def once_then_fresh():
        if first[0]:
            first[0] = False
            return value
        return closure()

    opt.step(once_then_fresh)
    return value
