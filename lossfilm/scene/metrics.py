"""What else a landscape can measure beside the loss, one table: a metric is the mean over the evaluation
rows of something per row, computed in the evaluator's pass over the data with the loss. torch is
imported only when one runs: scene validation reads the table's names."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..errors import SceneError


@dataclass(frozen=True)
class Metric:
    name: str  # as the screen names it: "accuracy %", "error %", or a callable's name
    # (K, R, ...) stacked predictions against (R, ...) targets -> (K,) mean over the rows, or None: ``fn``.
    rows: Callable | None = None
    fn: Callable | None = None  # the user's (output, target) -> scalar, averaged over rows like the loss
    # From the share of rows classified right (the C kernel's count, for plain MLPs): the metric's value.
    share: Callable | None = None
    higher_is_better: bool = False  # accuracy: a barrier is how far it drops, not how far it rises

    def from_share(self, right):
        return self.share(right)


def _hits(pred, target):
    return (pred.argmax(-1) == target.long()).to(pred.dtype)


def _accuracy_rows(pred, target):
    return 100.0 * _hits(pred, target).mean(-1)


def _error_rows(pred, target):
    return 100.0 - 100.0 * _hits(pred, target).mean(-1)


METRICS = {"accuracy": Metric("accuracy %", _accuracy_rows, share=lambda right: 100.0 * right, higher_is_better=True),
           "error": Metric("error %", _error_rows, share=lambda right: 100.0 - 100.0 * right)}


def get(metric: Any) -> Metric:
    """A metric by name (METRICS) or the scene's callable (output, target) -> scalar."""
    if isinstance(metric, str):
        return METRICS[metric]
    return Metric(getattr(metric, "__name__", type(metric).__name__), fn=metric)


def check(metric: Any, field: str) -> None:
    """A SceneError naming ``field`` unless ``metric`` is a known name or a callable."""
    if isinstance(metric, str) and metric in METRICS or (callable(metric) and not isinstance(metric, str)):
        return
    raise SceneError(field, "one of " + ", ".join(METRICS) + ", or a callable (output, target) -> scalar", metric)
