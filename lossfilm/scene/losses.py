"""Loss functions by name, one table. Each is a plain (prediction, target) -> scalar function that vmap
can batch. The module imports torch only when a loss runs: scene validation reads the table's names."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

from ..errors import SceneError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class Loss:
    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    # Rows per evaluation batch when the loss is *defined* by its batches (as published); None: any split.
    batch: int | None = None
    # True: the value is the plain mean of per-batch losses (a DataLoader loop); False: the exact mean per row.
    mean_of_batches: bool = False
    # The same loss for stacked predictions (..., R, *out) against targets (..., R, *t) with
    # ``row_dims = len(t)``: one value per leading index. Lets the evaluator skip vmap and its overhead.
    rows: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None
    # What the model's output must be for these targets: (output, a few target rows, all targets) ->
    # None, or the text of what was expected (the preflight's message).
    expects: Callable[[torch.Tensor, torch.Tensor, object], str | None] | None = None


def _mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((pred.reshape(target.shape) - target) ** 2).mean()


def _broadcast_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # nn.MSELoss()(pred (B, 1), target (B,)) broadcasts to (B, B): mean_ij (p_i - y_j)^2, which equals
    # Var(p) + Var(y) + (mean p - mean y)^2 (population variances). This form needs O(B), not O(B^2),
    # and avoids the cancellation of the expanded square.
    p = pred.reshape(-1)
    mp, my = p.mean(), target.mean()
    return ((p - mp) ** 2).mean() + ((target - my) ** 2).mean() + (mp - my) ** 2


def _mse_rows(pred: torch.Tensor, target: torch.Tensor, row_dims: int) -> torch.Tensor:
    if row_dims == 0 and pred.shape[-1] == 1:  # (.., R, 1) predictions of (R,) targets, paired row by row
        pred = pred[..., 0]
    return (pred - target).square_().flatten(start_dim=pred.dim() - row_dims - 1).mean(-1)


def _broadcast_mse_rows(pred: torch.Tensor, target: torch.Tensor, row_dims: int) -> torch.Tensor:
    p = pred[..., 0]
    mp, my = p.mean(-1, keepdim=True), target.mean(-1, keepdim=True)
    return (p - mp).square_().mean(-1) + (target - my).square_().mean(-1) + (mp - my).square_()[..., 0]


def _cross_entropy_rows(pred: torch.Tensor, target: torch.Tensor, row_dims: int) -> torch.Tensor:
    # logsumexp by hand: log_softmax's kernel is slow along a short class axis (3 classes: 4x here).
    top = pred.amax(-1, keepdim=True)
    lse = (pred - top).exp_().sum(-1).log_() + top[..., 0]
    index = target.long().expand(pred.shape[:-1]).unsqueeze(-1)
    return (lse - pred.gather(-1, index)[..., 0]).mean(-1)


def _cross_entropy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    import torch.nn.functional as F

    return F.cross_entropy(pred, target.long())


def _values_like_targets(out, target, _all) -> str | None:
    per_row = int(target[0].numel()) if target.dim() > 1 else 1
    if out.dim() == 0 or out.shape[0] != target.shape[0] or out[0].numel() != per_row:
        return f"an output of {per_row} value(s) per row, as the targets have, got output shape {tuple(out.shape)}"
    return None


def _one_value_per_row(out, target, _all) -> str | None:
    if target.dim() != 1:
        return f"targets of one value per row for as_published, got target shape {tuple(target.shape)}"
    if out.dim() == 0 or out.shape[0] != target.shape[0] or out[0].numel() != 1:
        return f"an output of one value per row, got output shape {tuple(out.shape)}"
    return None


def _class_scores(out, target, all_targets) -> str | None:
    import numpy as np

    if out.dim() != 2 or out.shape[0] != target.shape[0]:
        return f"an output of class scores (rows, classes) for cross_entropy, got output shape {tuple(out.shape)}"
    labels = np.asarray(all_targets)
    if labels.ndim != 1:
        return f"targets of one class label per row, got target shape {labels.shape}"
    if not np.array_equal(labels, np.round(labels)):
        return "targets that are whole class labels, got fractional values"
    classes = out.shape[1]
    if labels.min() < 0 or labels.max() >= classes:
        return (f"class labels from 0 to {classes - 1} for a model with {classes} outputs, got labels from "
                f"{labels.min():g} to {labels.max():g}")
    return None


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", _mse, rows=_mse_rows, expects=_values_like_targets),
    # The article's loss: nn.MSELoss on (B, 1) predictions against (B,) targets, batches of 128, mean of batches.
    "as_published": Loss("as_published", _broadcast_mse, batch=128, mean_of_batches=True,
                         rows=_broadcast_mse_rows, expects=_one_value_per_row),
    "cross_entropy": Loss("cross_entropy", _cross_entropy, rows=_cross_entropy_rows, expects=_class_scores),
}


def get(loss) -> Loss:
    """The table's loss of that name, or a scene's own callable (output, target) -> scalar: it takes the
    generic batched road (vmap over the points), none of the named losses' fast paths."""
    if not isinstance(loss, str) and callable(loss):
        return Loss(name=display_name(loss), fn=loss)
    try:
        return LOSSES[loss]
    except KeyError:
        raise SceneError("loss", "one of " + ", ".join(LOSSES), loss) from None


# torch's loss modules, as a viewer reads them
# torch's losses by the names people read them by: nn modules by class, torch.nn.functional by function.
_MODULE_NAMES = {"CrossEntropyLoss": "cross-entropy", "MSELoss": "MSE", "L1Loss": "L1", "NLLLoss": "NLL",
                 "BCEWithLogitsLoss": "binary cross-entropy", "BCELoss": "binary cross-entropy", "HuberLoss": "Huber",
                 "SmoothL1Loss": "smooth L1", "KLDivLoss": "KL divergence", "PoissonNLLLoss": "Poisson NLL loss",
                 "GaussianNLLLoss": "Gaussian NLL loss",
                 "cross_entropy": "cross-entropy", "mse_loss": "MSE", "l1_loss": "L1 loss", "nll_loss": "NLL loss",
                 "binary_cross_entropy": "binary cross-entropy",
                 "binary_cross_entropy_with_logits": "binary cross-entropy", "huber_loss": "Huber loss",
                 "smooth_l1_loss": "smooth L1 loss", "kl_div": "KL divergence", "poisson_nll_loss": "Poisson NLL loss",
                 "gaussian_nll_loss": "Gaussian NLL loss", "soft_margin_loss": "soft margin loss",
                 "multi_margin_loss": "multi-class margin loss", "hinge_embedding_loss": "hinge embedding loss"}


def display_name(loss) -> str:
    """A loss as a viewer reads it: torch's own by their usual names ("NLL loss" for F.nll_loss), a
    function of the scene's own by its name, a lambda as "loss"."""
    if isinstance(loss, str):
        return loss
    name = getattr(loss, "__name__", None) or type(loss).__name__
    if name == "<lambda>":
        return "loss"
    return _MODULE_NAMES.get(name, name.replace("_", " "))
