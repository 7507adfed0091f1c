"""Content-addressed cache of Landscapes: ``<dir>/<hash>.npz``, keyed by everything that changes the numbers.

Camera, quality, format and style do not enter the key, so re-rendering a scene with another camera
or quality does no training and no grid work. Files are written atomically and read without pickle.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import warnings
from pathlib import Path

import numpy as np
import torch

from .compute import build_model
from .landscape import Landscape, Trace
from .encode import clean_stale_parts
from .scene import Scene

# Bump when the file layout changes. Changes to the computation itself are seen through _code().
FORMAT = 1
_COMPUTING_MODULES = ("compute.py", "evaluate.py", "losses.py", "cache.py", "native.py", "mlp_kernel.c")


@functools.lru_cache(maxsize=1)
def _code() -> str:
    """A digest of the code that produces the numbers: editing it invalidates every cached landscape."""
    here = Path(__file__).resolve().parent
    h = hashlib.sha256()
    for name in _COMPUTING_MODULES:
        h.update((here / name).read_bytes())
    return h.hexdigest()


def key(scene: Scene) -> str:
    h = hashlib.sha256()

    def add(label: str, value) -> None:
        h.update(label.encode() + b"\0")
        if isinstance(value, np.ndarray):
            h.update(str((value.dtype, value.shape)).encode())
            h.update(np.ascontiguousarray(value).tobytes())
        else:
            h.update(repr(value).encode())
        h.update(b"\0")

    add("format", FORMAT)
    add("code", _code())
    add("torch", torch.__version__)
    add("numpy", np.__version__)
    for part in ("x_train", "y_train", "x_test", "y_test"):
        add(part, getattr(scene.data, part))
    model = build_model(scene)  # seeded construction + init: the starting weights themselves
    add("model", repr(model))
    for name, tensor in model.state_dict().items():
        add(name, tensor.detach().cpu().numpy())
    add("runs", [(r.optimizer, r.lr, r.epochs, r.batch_size, r.shuffle, r.options, r.name, r.color) for r in scene.runs])
    add("colors", scene.style.path_colors)
    add("plane", scene.plane)
    add("grid", scene.grid)
    add("loss", scene.loss)
    add("seed", scene.seed)
    return h.hexdigest()[:24]


def save(landscape: Landscape, path: Path) -> None:
    arrays = {"alphas": landscape.alphas, "betas": landscape.betas, "loss": landscape.loss}
    head = {"axis_labels": list(landscape.axis_labels), "loss_name": landscape.loss_name,
            "epochs": landscape.epochs, "traces": []}
    for i, t in enumerate(landscape.traces):
        head["traces"].append({"label": t.label, "color": t.color, "diverged_at": t.diverged_at})
        arrays.update({f"t{i}_alpha": t.alpha, f"t{i}_beta": t.beta, f"t{i}_loss": t.loss, f"t{i}_epochs": t.epoch_ends})
    arrays["head"] = np.array(json.dumps(head))
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_parts(path.parent)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def load(path: Path) -> Landscape:
    with np.load(path, allow_pickle=False) as z:
        head = json.loads(str(z["head"]))
        traces = [
            Trace(label=t["label"], color=t["color"], alpha=z[f"t{i}_alpha"], beta=z[f"t{i}_beta"],
                  loss=z[f"t{i}_loss"], epoch_ends=z[f"t{i}_epochs"], diverged_at=int(t["diverged_at"]))
            for i, t in enumerate(head["traces"])
        ]
        return Landscape(alphas=z["alphas"], betas=z["betas"], loss=z["loss"], traces=traces,
                         axis_labels=tuple(head["axis_labels"]), loss_name=head["loss_name"], epochs=int(head["epochs"]))


def fetch(scene: Scene, folder: Path) -> tuple[Landscape | None, Path]:
    """(landscape or None, its cache path). A broken file is reported and treated as a miss."""
    path = Path(folder) / f"{key(scene)}.npz"
    if not path.exists():
        return None, path
    try:
        return load(path), path
    except Exception as exc:  # truncated, corrupted, or from a foreign writer: recompute
        warnings.warn(f"{scene.name}: cache file {path} is unreadable ({type(exc).__name__}); recomputing",
                      RuntimeWarning, stacklevel=2)
        return None, path
