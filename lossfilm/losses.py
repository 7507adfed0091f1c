"""Loss functions by name. Each is a plain (prediction, target) -> scalar function that vmap can batch."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from .errors import SceneError


@dataclass(frozen=True)
class Loss:
    name: str
    fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    # Rows per evaluation batch when the loss is *defined* by its batches (as published); None: any split.
    batch: int | None = None
    # True: the value is the plain mean of per-batch losses (a DataLoader loop); False: the exact mean per row.
    mean_of_batches: bool = False


def _mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((pred.reshape(target.shape) - target) ** 2).mean()


def _broadcast_mse(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    # nn.MSELoss()(pred (B, 1), target (B,)) broadcasts to (B, B): mean_ij (p_i - y_j)^2, which equals
    # Var(p) + Var(y) + (mean p - mean y)^2 (population variances). This form needs O(B), not O(B^2),
    # and avoids the cancellation of the expanded square.
    p = pred.reshape(-1)
    mp, my = p.mean(), target.mean()
    return ((p - mp) ** 2).mean() + ((target - my) ** 2).mean() + (mp - my) ** 2


def _cross_entropy(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(pred, target.long())


LOSSES: dict[str, Loss] = {
    "mse": Loss("mse", _mse),
    # The article's loss: nn.MSELoss on (B, 1) predictions against (B,) targets, batches of 128, mean of batches.
    "as_published": Loss("as_published", _broadcast_mse, batch=128, mean_of_batches=True),
    "cross_entropy": Loss("cross_entropy", _cross_entropy),
}


def get(name: str) -> Loss:
    try:
        return LOSSES[name]
    except KeyError:
        raise SceneError("loss", "one of " + ", ".join(LOSSES), name) from None
