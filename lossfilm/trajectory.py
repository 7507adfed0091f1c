"""Paths from training done elsewhere: your own loop (``record``), checkpoint files
(``Trajectory.from_checkpoints``), or a Lightning run (``lossfilm.lightning.RecordPath``).

A Trajectory is the model's tensors at every step, one flat row per step in the order the source gave
them (``names``, ``shapes``), with epoch marks, the loss if it was recorded, and the final point's
buffers (BatchNorm statistics). ``aligned(model)`` matches it against the scene's model by name when the
film is computed, so a Lightning prefix ("model.") or a checkpoint's extra buffers are handled there and a
missing or misshapen tensor is told naming the file it came from. Saved files are plain arrays and a
JSON header: no pickle, either way.
"""
from __future__ import annotations

import contextlib
import glob as globbing
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

import numpy as np

from .errors import BadInput, SceneError, one_line
from ._plumbing.files import write_npz


class Rows:
    """Flat float32 rows appended one at a time: in memory while they fit ``memory_mb``, then in a
    temporary file mapped into memory (a 100k-parameter net over 4,000 steps is 1.6 GB)."""

    BLOCK = 256

    def __init__(self, size: int, memory_mb: float = 256.0):
        self.size, self.limit = size, memory_mb * 2**20
        self._blocks: list[np.ndarray] = []
        self._filled = 0  # rows used in the last block
        self._file = None
        self.count = 0

    def append(self, row) -> None:
        self._slot()[:] = np.asarray(row, dtype=np.float32).reshape(-1)
        self._done()

    def append_from(self, tensors) -> None:
        """The flat concatenation of ``tensors`` (1-D float32 CPU views) as the next row, written in
        place: about 5 us a step for a small MLP, against 25 us through a temporary copy."""
        import torch

        if self._file is None and self._blocks and self._filled < len(self._blocks[-1]) and \
                (self.count + 1) * self.size * 4 <= self.limit:
            torch.cat(tensors, out=self._block_tensor[self._filled])  # the common case: no new block
        else:
            torch.cat(tensors, out=torch.from_numpy(self._slot()))
            if self._file is None:
                self._block_tensor = torch.from_numpy(self._blocks[-1])
        self._done()

    def _slot(self) -> np.ndarray:
        if self._file is None and (self.count + 1) * self.size * 4 > self.limit:
            self._spill()
        if self._file is not None:
            if not hasattr(self, "_scratch"):
                self._scratch = np.empty(self.size, np.float32)
            return self._scratch
        if not self._blocks or self._filled == len(self._blocks[-1]):
            self._blocks.append(np.empty((self.BLOCK, self.size), np.float32))
            self._filled = 0
        return self._blocks[-1][self._filled]

    def _done(self) -> None:
        if self._file is not None:
            self._file.write(self._scratch.tobytes())
        else:
            self._filled += 1
        self.count += 1

    def _spill(self) -> None:
        self._file = tempfile.TemporaryFile(prefix="lossfilm-path-")  # unlinked at once; the map keeps it
        for block in self._blocks[:-1]:
            self._file.write(block.tobytes())
        if self._blocks:
            self._file.write(self._blocks[-1][:self._filled].tobytes())
        self._blocks = []

    def last(self) -> np.ndarray | None:
        """The last row appended (a copy), or None before any."""
        if not self.count:
            return None
        if self._file is not None:
            return self._scratch.copy()
        return self._blocks[-1][self._filled - 1].copy()

    def array(self) -> np.ndarray:
        if self._file is not None:
            self._file.flush()
            return np.memmap(self._file, np.float32, "r", shape=(self.count, self.size))
        if not self._blocks:
            return np.empty((0, self.size), np.float32)
        last = self._blocks[-1][:self._filled]
        return np.concatenate(self._blocks[:-1] + [last]) if len(self._blocks) > 1 else last.copy()


@dataclass(frozen=True, eq=False)
class Trajectory:
    """A model's tensors at every step of a training run lossfilm did not do itself."""

    NOT_NUMBERS = ("label", "color", "sources")

    params: np.ndarray  # (steps + 1, total size) float32: row 0 the start, row t after step t
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    label: str = "your run"
    epoch_ends: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    loss: np.ndarray | None = None  # the training loss at each row, where the source recorded it
    buffers: Mapping[str, np.ndarray] = field(default_factory=dict)  # the final point's, by name
    sources: tuple[str, ...] = ()  # where rows came from (checkpoint files), for messages
    color: str | None = None
    step_numbers: np.ndarray | None = None  # the training step of each row, when rows are not every step

    def __post_init__(self) -> None:
        params = np.asarray(self.params) if not isinstance(self.params, np.memmap) else self.params
        if params.ndim != 2 or params.shape[0] < 1:
            raise SceneError("paths", "a Trajectory of at least one recorded point", getattr(params, "shape", None))
        if params.dtype != np.float32:
            params = params.astype(np.float32)
        object.__setattr__(self, "params", params)
        object.__setattr__(self, "names", tuple(self.names))
        object.__setattr__(self, "shapes", tuple(tuple(int(d) for d in s) for s in self.shapes))
        if sum(int(np.prod(s)) for s in self.shapes) != params.shape[1] or len(self.names) != len(self.shapes):
            raise SceneError("paths", "names and shapes that add up to each row's length", params.shape[1])
        object.__setattr__(self, "epoch_ends", np.asarray(self.epoch_ends, dtype=np.int64).reshape(-1))
        if self.step_numbers is not None:
            numbers = np.asarray(self.step_numbers, dtype=np.int64).reshape(-1)
            if len(numbers) != len(params) or (np.diff(numbers) <= 0).any():
                raise SceneError("paths.step_numbers", f"{len(params)} increasing step numbers, one per row",
                                 len(numbers))
            object.__setattr__(self, "step_numbers", numbers)
        if not isinstance(self.label, str):
            raise SceneError("paths.label", "a string", self.label)

    @property
    def steps(self) -> int:
        return len(self.params) - 1

    def to_trajectory(self) -> "Trajectory":
        return self

    # --- matching the scene's model ----------------------------------------------------------------------

    def aligned(self, model) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(rows of the model's parameters in its own order, (steps + 1, P); the final buffers by the
        model's names). Raises SceneError naming the source file of what does not fit."""
        where = self.sources[0] if self.sources else f"path {self.label!r}"
        offsets = np.concatenate([[0], np.cumsum([int(np.prod(s)) for s in self.shapes])]).astype(int)
        index = {n: i for i, n in enumerate(self.names)}
        wanted = [(n, tuple(p.shape)) for n, p in model.named_parameters()]
        prefix = _prefix([n for n, _ in wanted], index)
        if prefix is None:
            missing = next(n for n, _ in wanted if n not in index)
            raise SceneError(f"paths ({where})", f"a tensor for each of the model's parameters; "
                                                 f"{missing!r} is missing", _shown(self.names))
        columns = []
        for name, shape in wanted:
            i = index[prefix + name]
            if self.shapes[i] != shape:
                raise SceneError(f"paths ({where})", f"{prefix + name!r} of shape {shape}, as the model has",
                                 self.shapes[i])
            columns.append((offsets[i], offsets[i + 1]))
        buffer_names = {n for n, _ in model.named_buffers()}
        known = {prefix + n for n, _ in wanted} | {prefix + n for n in buffer_names}
        extra = [n for n in self.names if n not in known and n.startswith(prefix)]
        if extra:
            raise SceneError(f"paths ({where})", "only the model's parameters and buffers", f"unexpected {extra[0]!r}")
        contiguous = all(b == c for (_, b), (c, _) in zip(columns[:-1], columns[1:]))
        if contiguous and columns:
            thetas = self.params[:, columns[0][0]:columns[-1][1]]
        else:
            thetas = np.concatenate([self.params[:, a:b] for a, b in columns], axis=1)
        buffers = {n: np.asarray(self.buffers[prefix + n]) for n in buffer_names if prefix + n in self.buffers}
        return thetas, buffers

    # --- files -----------------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Plain arrays and a JSON header (np.savez, no pickle), written atomically."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        head = {"format": "lossfilm-trajectory-1", "names": list(self.names), "shapes": [list(s) for s in self.shapes],
                "label": self.label, "buffers": sorted(self.buffers), "has_loss": self.loss is not None,
                "has_step_numbers": self.step_numbers is not None}
        arrays = {"params": np.asarray(self.params), "epoch_ends": self.epoch_ends,
                  **{f"buffer:{k}": np.asarray(v) for k, v in self.buffers.items()}}
        if self.loss is not None:
            arrays["loss"] = np.asarray(self.loss, dtype=np.float64)
        if self.step_numbers is not None:
            arrays["step_numbers"] = self.step_numbers
        arrays["header"] = np.array(json.dumps(head))
        return write_npz(path, arrays)

    @classmethod
    def load(cls, path: str | Path, label: str | None = None) -> "Trajectory":
        path = Path(path)
        try:
            with np.load(path, allow_pickle=False) as z:
                head = json.loads(str(z["header"]))
                return cls(params=z["params"], names=head["names"], shapes=head["shapes"],
                           label=label or head.get("label", path.stem), epoch_ends=z["epoch_ends"],
                           loss=z["loss"] if head.get("has_loss") else None,
                           buffers={k: z[f"buffer:{k}"] for k in head.get("buffers", [])}, sources=(str(path),),
                           step_numbers=z["step_numbers"] if head.get("has_step_numbers") else None)
        except SceneError:
            raise
        except FileNotFoundError:
            raise SceneError(f"Trajectory.load({str(path)!r})", "a file saved by path.save()", "no such file") from None
        except Exception as exc:
            raise SceneError(f"Trajectory.load({str(path)!r})", "a file saved by path.save()",
                             f"{type(exc).__name__}: {exc}") from None

    @classmethod
    def from_checkpoints(cls, pattern: str | Path, label: str | None = None,
                         memory_mb: float = 256.0) -> "Trajectory":
        """Every file or folder matching ``pattern`` (a glob), in natural order (step_2 before step_10):
        each a ``torch.save``d state_dict or a Lightning ``.ckpt``, read with
        ``torch.load(weights_only=True)`` only, so a file holding pickled objects is refused and never
        run; a ``.safetensors`` file; or a Hugging Face Trainer's checkpoint folder (``checkpoint-N/``:
        ``model.safetensors``, sharded or not, else ``pytorch_model.bin``), its step from
        ``trainer_state.json`` or the folder's name. safetensors files are read with the ``safetensors``
        package: no pickle at all."""
        import torch

        files = sorted(globbing.glob(os.fspath(pattern)), key=_natural)
        if not files:
            raise SceneError(f"Trajectory.from_checkpoints({str(pattern)!r})", "one or more checkpoint files",
                             "no file matches")
        rows = names = shapes = None
        epochs: list[int] = []
        numbers: list[int] = []
        last_state: dict = {}
        for f in files:
            obj = _read_checkpoint(Path(f))
            state = obj.get("state_dict", obj) if isinstance(obj, Mapping) else None
            if not isinstance(state, Mapping) or not state or not all(torch.is_tensor(v) for v in state.values()):
                raise SceneError(f"checkpoint {f}", "a state_dict (names -> tensors) or a Lightning checkpoint",
                                 type(obj).__name__)
            floats = {k: v for k, v in state.items() if v.is_floating_point()}
            if names is None:
                names = tuple(floats)
                shapes = tuple(tuple(v.shape) for v in floats.values())
                rows = Rows(sum(v.numel() for v in floats.values()), memory_mb)
            elif set(floats) != set(names):
                gone = next((n for n in names if n not in floats), None)
                new = next((n for n in floats if n not in names), None)
                what = f"missing {gone!r}" if gone else f"unexpected {new!r}"
                raise SceneError(f"checkpoint {f}", f"the same tensors as {files[0]}", what)
            else:
                floats = {n: floats[n] for n in names}  # by name: a sharded file lists them in its own order
                bad = next((n for n, s in zip(names, shapes) if tuple(floats[n].shape) != s), None)
                if bad:
                    raise SceneError(f"checkpoint {f}", f"{bad!r} of shape {shapes[names.index(bad)]}, as in {files[0]}",
                                     tuple(floats[bad].shape))
            rows.append(torch.cat([v.detach().reshape(-1).float() for v in floats.values()]).numpy())
            if isinstance(obj, Mapping) and "epoch" in obj:
                epochs.append(int(obj["epoch"]))
            if isinstance(obj, Mapping) and "global_step" in obj:  # Lightning's own count
                numbers.append(int(obj["global_step"]))
            else:
                digits = re.findall(r"\d+", Path(f).stem)
                numbers.append(int(digits[-1]) if digits else -1)
            last_state = state
        marks = [i - 1 for i in range(1, len(epochs)) if epochs[i] != epochs[i - 1]] if len(epochs) == len(files) else []
        buffers = {k: v.detach().numpy() for k, v in last_state.items()}
        # Step numbers from the files (step_40.pt) or Lightning's global_step, when they count up.
        steps = np.asarray(numbers, np.int64)
        steps = steps if steps.min() >= 0 and (np.diff(steps) > 0).all() else None
        return cls(params=rows.array(), names=names, shapes=shapes, label=label or Path(files[0]).parent.name or "checkpoints",
                   epoch_ends=np.asarray(marks, np.int64), buffers=buffers, sources=tuple(files), step_numbers=steps)


def _read_checkpoint(path: Path):
    """One checkpoint as torch.load gives it (a state_dict, or a dict holding one and its counters)."""
    if path.is_dir():
        return _read_folder(path)
    if path.suffix == ".safetensors":
        return _read_safetensors([path])
    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        kind = "pickled objects" if "weights_only" in str(exc) or "Unpickl" in type(exc).__name__ else \
            f"{type(exc).__name__}"
        raise SceneError(f"checkpoint {path}", "a file torch.load(weights_only=True) reads: tensors only, no "
                                               f"pickled code (it holds {kind})" if kind == "pickled objects" else
                         "a file torch.load(weights_only=True) reads", " ".join(str(exc).split())[:160]) from None


def _read_folder(folder: Path) -> dict:
    """A Hugging Face Trainer's checkpoint folder: its weights (model.safetensors, its shards by their
    index, or pytorch_model.bin) and, from trainer_state.json, the step and epoch it was saved at."""
    import json

    index = folder / "model.safetensors.index.json"
    if (folder / "model.safetensors").is_file():
        state = _read_safetensors([folder / "model.safetensors"])
    elif index.is_file():
        try:
            shards = sorted(set(json.loads(index.read_text())["weight_map"].values()))
        except (ValueError, KeyError, TypeError) as exc:
            raise SceneError(f"checkpoint {index}", "a safetensors index with a weight_map", str(exc)[:80]) from None
        state = _read_safetensors([folder / shard for shard in shards])
    elif (folder / "pytorch_model.bin").is_file():
        state = _read_checkpoint(folder / "pytorch_model.bin")
    else:
        raise SceneError(f"checkpoint {folder}", "a checkpoint folder with model.safetensors (or its shards' "
                                                 "model.safetensors.index.json) or pytorch_model.bin",
                         "none of them")
    out = {"state_dict": state}
    trainer_state = folder / "trainer_state.json"
    if trainer_state.is_file():
        try:
            saved = json.loads(trainer_state.read_text())
        except ValueError as exc:
            raise SceneError(f"checkpoint {trainer_state}", "the Trainer's JSON", str(exc)[:80]) from None
        if isinstance(saved.get("global_step"), int):
            out["global_step"] = saved["global_step"]
    return out


def _read_safetensors(files: list[Path]) -> dict:
    """The tensors of one or more safetensors files (a sharded checkpoint's shards), by name."""
    try:
        from safetensors.torch import load_file
    except ImportError:
        raise BadInput(f"{files[0]}: reading safetensors needs the safetensors package "
                       "(pip install -r requirements-hf.txt, or pip install lossfilm[hf])") from None
    state: dict = {}
    for f in files:
        if not f.is_file():
            raise SceneError(f"checkpoint {f}", "a shard the index names", "no such file")
        try:
            state.update(load_file(str(f), device="cpu"))
        except Exception as exc:
            raise SceneError(f"checkpoint {f}", "a safetensors file", one_line(exc)[:160]) from None
    return state


def _natural(name: str):
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _prefix(wanted: list[str], index: Mapping[str, int]) -> str | None:
    """The prefix that names every wanted tensor in the source ("" or, from Lightning, "model." ...)."""
    candidates = [""] + sorted({n[: len(n) - len(w)] for n in index for w in wanted[:1] if n.endswith(w)}, key=len)
    return next((p for p in candidates if all(p + w in index for w in wanted)), None)


def _shown(names) -> str:
    names = list(names)
    return ", ".join(names[:6]) + (f", ... ({len(names)} in all)" if len(names) > 6 else "")


class Recording:
    """What ``record()`` yields: a path growing with every optimizer step; a Trajectory once closed."""

    def __init__(self, model, label: str, memory_mb: float):
        self.model, self.label = model, label
        self._params = [p for _, p in model.named_parameters()]
        self._names = [n for n, _ in model.named_parameters()]
        self._shapes = [tuple(p.shape) for p in self._params]
        self._rows = Rows(sum(p.numel() for p in self._params), memory_mb)
        self._epochs: list[int] = []
        self._losses: list[float] = []
        self._trajectory: Trajectory | None = None
        self._views = None
        self._open = True
        self.step()  # the start

    def step(self) -> None:
        views = self._views
        if views:  # detached flat views of the parameters, made once: optimizers update in place
            # ...unless the loop moved a parameter to new memory (``p.data = ...``: Lookahead, SWA or EMA
            # swaps, pruning by assignment, vector_to_parameters): then the views are made again.
            if all(v.data_ptr() == p.data_ptr() for v, p in zip(views, self._params)):
                self._rows.append_from(views)
                return
            self._views = None
        import torch

        sizes = [p.numel() for p in self._params]
        if sum(sizes) != self._rows.size:
            moved = next(n for n, p, shape in zip(self._names, self._params, self._shapes) if tuple(p.shape) != shape)
            raise ValueError(f"record({self.label!r}): parameter {moved!r} changed its shape during training "
                             f"(from {list(self._shapes[self._names.index(moved)])}): a path needs the same "
                             "parameters at every step")
        if self._views is None:
            simple = all(p.is_contiguous() and p.device.type == "cpu" and p.dtype == torch.float32
                         for p in self._params)
            self._views = [p.detach().reshape(-1) for p in self._params] if simple else False
            if self._views:
                return self.step()
        self._rows.append(torch.cat([p.detach().reshape(-1).float() for p in self._params]).cpu().numpy())

    def epoch(self) -> None:
        """Mark the end of an epoch at the last recorded step."""
        self._epochs.append(self._rows.count - 1)

    def add_loss(self, value) -> None:
        """Optionally note the training loss of the step just taken (kept with the path)."""
        self._losses.append(float(value))

    def close(self) -> Trajectory:
        if self._trajectory is None:
            self._check_the_end()
            losses = np.asarray([np.nan] + self._losses) if len(self._losses) == self._rows.count - 1 else None
            buffers = {n: b.detach().cpu().numpy() for n, b in self.model.named_buffers()}
            self._trajectory = Trajectory(params=self._rows.array(), names=self._names, shapes=self._shapes,
                                          label=self.label, epoch_ends=np.asarray(self._epochs, np.int64),
                                          loss=losses, buffers=buffers)
            self.model = self._params = self._views = None  # a closed recording holds no live tensors
        return self._trajectory

    def _check_the_end(self) -> None:
        """Warn, loudly, when the model's weights now are not the last recorded step's: something moved
        them outside ``optimizer.step()``, or replaced a parameter the recording cannot follow, and the
        film's path would end somewhere the model is not."""
        import warnings

        import torch

        named = list(self.model.named_parameters())
        last = self._rows.last()
        if last is None:
            return
        if [n for n, _ in named] != self._names or sum(p.numel() for _, p in named) != last.size:
            warnings.warn(f"record({self.label!r}): the model's parameters are not the ones recorded (a parameter "
                          "was replaced or added): the path shows the recorded ones", RuntimeWarning, stacklevel=3)
            return
        now = torch.cat([p.detach().reshape(-1).float().cpu() for _, p in named]).numpy()
        gap = np.abs(now - last)
        if not np.all(gap <= 1e-6 + 1e-5 * np.abs(now)):
            at = int(np.argmax(gap))
            name = self._names[int(np.searchsorted(np.cumsum([p.numel() for _, p in named]), at, side="right"))]
            warnings.warn(f"record({self.label!r}): the model's weights differ from the last recorded step by up to "
                          f"{gap.max():.3g} (in {name!r}): they were changed after the last optimizer.step(), so the "
                          "film's path ends at the last step, not at the model's final weights", RuntimeWarning,
                          stacklevel=3)

    def to_trajectory(self) -> Trajectory:
        return self.close()

    def save(self, path: str | Path) -> Path:
        return self.close().save(path)

    def __getattr__(self, name):  # a closed recording reads like its Trajectory
        if name.startswith("_") or self.__dict__.get("_open", True):
            raise AttributeError(f"{name}: a recorded path is complete when its with-block ends")
        return getattr(self.close(), name)


class StepRecorder:
    """What a training framework's callback shares (lightning.RecordPath, hf.RecordPath): a Recording begun
    on the model at the start, a row for each new global step (gradient accumulation records once per
    real step), epoch marks, and the Trajectory once training has ended."""

    def __init__(self, label: str, memory_mb: float):
        self.label, self.memory_mb = label, memory_mb
        self._recording: Recording | None = None
        self._step = 0

    def _begin(self, model, global_step: int) -> None:
        self._recording = Recording(model, self.label, self.memory_mb)
        self._step = global_step

    def _stepped(self, global_step: int) -> None:
        if self._recording is not None and global_step > self._step:
            self._step = global_step
            self._recording.step()

    def _epoch_ended(self) -> None:
        rec = self._recording
        if rec is not None and rec._rows.count - 1 not in rec._epochs:
            rec.epoch()

    def _ended(self) -> None:
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


@contextlib.contextmanager
def record(model, optimizer, label: str = "your run", memory_mb: float = 256.0):
    """Record ``model``'s parameters after every ``optimizer.step()`` of the loop inside the block
    (torch's optimizer step hooks; the loop itself is not edited). Yields the path: ``path.epoch()``
    marks an epoch's end, ``path.save(file)`` keeps it, ``Scene(paths=[path])`` films it."""
    rec = Recording(model, label, memory_mb)
    handle = optimizer.register_step_post_hook(lambda *_: rec.step())
    try:
        yield rec
    finally:
        handle.remove()
        rec._open = False
        rec.close()
