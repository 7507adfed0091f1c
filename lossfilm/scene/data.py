"""A scene's data: arrays (train and test splits) or a DataLoader, and what turns the user's value
into one of those.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SceneError


@dataclass(frozen=True, eq=False)
class Data:
    """Arrays a scene trains on and evaluates on; float32, generated or shipped, never downloaded."""

    NOT_NUMBERS = ("name",)  # fields the cache key leaves out: they change no number

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "data"

    @property
    def one_split(self) -> bool:
        """True when one set of arrays both trains and evaluates (data given as an (x, y) pair)."""
        return self.x_test is self.x_train and self.y_test is self.y_train

    def __post_init__(self) -> None:
        same = self.x_test is self.x_train and self.y_test is self.y_train  # an (x, y) pair: one set for both
        for part in ("x_train", "y_train", "x_test", "y_test"):
            if same and part in ("x_test", "y_test"):
                object.__setattr__(self, part, getattr(self, part.replace("test", "train")))
                continue
            value = getattr(self, part)
            if hasattr(value, "detach") and hasattr(value, "numpy"):  # a torch tensor
                value = value.detach().cpu().numpy()
            if not isinstance(value, np.ndarray) or value.size == 0:
                raise SceneError(f"data.{part}", "a non-empty numpy array", type(value).__name__)
            if not (np.issubdtype(value.dtype, np.number) or value.dtype == bool):
                raise SceneError(f"data.{part}", "numbers", str(value.dtype))
            if np.issubdtype(value.dtype, np.floating) and not np.isfinite(value).all():
                bad = int((~np.isfinite(value)).sum())
                raise SceneError(f"data.{part}", "finite numbers (no NaN or inf)", f"{bad} non-finite values")
            if part.startswith("x") and np.issubdtype(value.dtype, np.integer):
                value = value.astype(np.int64)  # ids (tokens) reach a model that embeds them as integers
            elif value.dtype != np.float32 and (np.issubdtype(value.dtype, np.floating) or part.startswith("x")):
                value = value.astype(np.float32)  # numpy's default float64 is what torch's float32 models refuse
            object.__setattr__(self, part, value)
        if len(self.x_train) != len(self.y_train):
            raise SceneError("data.y_train", f"{len(self.x_train)} rows like x_train", len(self.y_train))
        if len(self.x_test) != len(self.y_test):
            raise SceneError("data.y_test", f"{len(self.x_test)} rows like x_test", len(self.y_test))


@dataclass(frozen=True, eq=False)
class LoaderData:
    """A torch DataLoader as a scene's data: the loss is evaluated by streaming its batches (the first
    ``eval_batches`` of them, held once, when the scene sets that), and runs lossfilm trains take one
    pass over it per epoch. Its batches' contents are the cache key."""

    loader: Any
    eval_batches: int | None = None

    def batches(self):
        """(x, y) float32 tensors, the loader's batches in order (the first eval_batches of them)."""
        import itertools

        for k, batch in enumerate(itertools.islice(self.loader, self.eval_batches)):
            if not isinstance(batch, (tuple, list)) or len(batch) < 2:
                raise SceneError("data", "a DataLoader whose batches are (inputs, targets)", type(batch).__name__)
            x, y = batch[0], batch[1]
            yield (x.float() if x.is_floating_point() else x), (y.float() if y.is_floating_point() else y)

    def __len__(self) -> int:
        n = len(self.loader)
        return min(n, self.eval_batches) if self.eval_batches else n


def as_data(value: Any, eval_batches: int | None = None):
    """A scene's ``data=``: lossfilm Data, (x, y) arrays or tensors (used to train and to evaluate), a
    torch Dataset (its items stacked into arrays) or a DataLoader (streamed: LoaderData)."""
    if isinstance(value, (Data, LoaderData)):
        return value
    if isinstance(value, tuple) and len(value) == 2:
        x, y = value
        return Data(x, y, x, y)
    kind = {c.__name__ for c in type(value).__mro__}
    if "DataLoader" in kind:
        return LoaderData(value, eval_batches)
    if "Dataset" in kind:
        import torch

        if len(value) == 0:
            raise SceneError("data", "a non-empty Dataset", 0)
        x, y = next(iter(torch.utils.data.DataLoader(value, batch_size=len(value))))
        return Data(x, y, x, y)
    raise SceneError("data", "a lossfilm Data, an (x, y) pair, a torch Dataset or a DataLoader", type(value).__name__)
