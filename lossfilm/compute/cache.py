"""Content-addressed cache of Landscapes: ``<dir>/<key>.npz``, keyed by everything that changes the numbers.

The key is derived from the Scene's dataclasses, field by field: every field counts unless its class
declares it irrelevant to the numbers (``NOT_NUMBERS``: names, labels, colours, camera, style, duration),
so a new field can never be forgotten. Arrays count by their bytes; the user's own code (model factory
and classes, data and loss functions) by its bytecode and the source of the file it is defined in; the
computing code of lossfilm by a digest of the modules compute imports. Building the key runs nothing of
the user's: a cache hit trains nothing and builds no model.

Files are written atomically and read without pickle; a file that is unreadable, or whose arrays do not
fit the scene (another shape, another number of runs), is reported and recomputed.
"""
from __future__ import annotations

import ast
import dataclasses
import functools
import hashlib
import json
import types
import warnings
from pathlib import Path

import numpy as np

from ..output.encode import clean_stale_parts
from .._plumbing.files import write_npz
from ..landscape import Landscape, Trace

# Bump when the file layout changes. Changes to the computation itself are seen through code_digest().
FORMAT = 4
PACKAGE = Path(__file__).resolve().parents[1]  # lossfilm/


def computing_files(root: str = "compute.build") -> list[Path]:
    """The files of lossfilm that module ``root`` (dotted, under lossfilm) imports, directly or not (lazy
    imports inside functions too), and the non-Python sources they declare in ``__code_files__`` (the C
    kernel): what makes the numbers. A module that says ``__changes_no_numbers__ = True`` (the scene's
    view: camera, moves, style) is left out, and what it imports is not followed."""
    seen: dict[str, Path] = {}
    todo = [root]
    while todo:
        name = todo.pop()
        path = _module_file(name)
        if name in seen or path is None:
            continue
        tree = ast.parse(path.read_bytes())
        if _says_no_numbers(tree):
            continue
        seen[name] = path
        package = name.split(".")[:-1] if path.name != "__init__.py" else name.split(".")
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.level or (node.module or "").startswith("lossfilm.")):
                base = package[:len(package) - node.level + 1] if node.level else []
                module = (node.module or "") if node.level else node.module[len("lossfilm."):]
                target = ".".join(base + ([module] if module else []))
                if target:
                    todo.append(target)
                for alias in node.names:  # ``from . import evaluate``: a module, if there is one by that name
                    todo.append(f"{target}.{alias.name}" if target else alias.name)
            elif isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__code_files__" for t in node.targets):
                for extra in ast.literal_eval(node.value):
                    seen[f"{name}:{extra}"] = path.parent / extra
    return sorted(seen.values())


def _module_file(name: str) -> Path | None:
    """The file of lossfilm's module ``name`` (dotted, under lossfilm; a package's ``__init__``), or None."""
    where = PACKAGE.joinpath(*name.split(".")) if name else PACKAGE
    for path in (where.with_suffix(".py"), where / "__init__.py"):
        if path.is_file():
            return path
    return None


def _says_no_numbers(tree: ast.Module) -> bool:
    return any(isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "__changes_no_numbers__"
                                                   for t in node.targets) and getattr(node.value, "value", False)
               for node in tree.body)


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """A digest of the code that produces the numbers: editing it invalidates every cached landscape."""
    h = hashlib.sha256()
    for path in computing_files():
        h.update(path.relative_to(PACKAGE).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return h.hexdigest()


def _versions() -> list[tuple[str, str]]:
    import importlib.metadata

    out = []
    for dist in ("torch", "numpy"):
        try:
            out.append((dist, importlib.metadata.version(dist)))
        except importlib.metadata.PackageNotFoundError:
            out.append((dist, "none"))
    return out


# Code in these packages is identified by its name; their versions are part of the key.
_LIBRARIES = ("torch", "numpy", "builtins", "functools", "math", "collections", "typing")


class _Hasher:
    def __init__(self):
        self.h = hashlib.sha256()
        self._files: set[str] = set()
        self._active: set[int] = set()

    def put(self, *parts) -> None:
        for p in parts:
            self.h.update(p if isinstance(p, bytes) else str(p).encode())
            self.h.update(b"\0")

    def value(self, v) -> None:
        """Feed a value by content: the same numbers and code give the same bytes in every process."""
        if id(v) in self._active:  # a cycle (a class that refers to itself)
            self.put("cycle")
            return
        self._active.add(id(v))
        try:
            self._value(v)
        finally:
            self._active.discard(id(v))

    def _value(self, v) -> None:
        from ..scene.data import LoaderData

        if isinstance(v, LoaderData):  # a loader by what it yields: content it can see
            self.put("loader", v.eval_batches)
            for x, y in v.batches():
                self.value(x)
                self.value(y)
            return
        if v is None or isinstance(v, (bool, int, float, complex, str, bytes)):
            self.put(type(v).__name__, repr(v))
        elif isinstance(v, np.ndarray) or type(v).__name__ == "Tensor" or hasattr(v, "__array__") and not callable(v):
            a = np.ascontiguousarray(np.asarray(v.detach().cpu() if hasattr(v, "detach") else v))
            self.put("array", a.dtype.str, a.shape, a.tobytes())
        elif isinstance(v, np.generic):
            self.put("scalar", v.dtype.str, v.tobytes())
        elif dataclasses.is_dataclass(v) and not isinstance(v, type):
            skip = set(getattr(type(v), "NOT_NUMBERS", ()))
            self.put("dataclass", type(v).__module__, type(v).__qualname__)
            for f in dataclasses.fields(v):
                if f.name not in skip:
                    self.put(f.name)
                    self.value(getattr(v, f.name))
        elif isinstance(v, dict):
            self.put("dict", len(v))
            for k in sorted(v, key=repr):
                self.value(k)
                self.value(v[k])
        elif isinstance(v, (list, tuple, set, frozenset)):
            items = sorted(v, key=repr) if isinstance(v, (set, frozenset)) else v
            self.put(type(v).__name__, len(v))
            for item in items:
                self.value(item)
        elif isinstance(v, functools.partial):
            self.put("partial")
            self.value(v.func)
            self.value(v.args)
            self.value(v.keywords)
        elif isinstance(v, types.MethodType):
            self.put("method")
            self.value(v.__func__)
            self.value(v.__self__)
        elif isinstance(v, types.FunctionType):
            self._function(v)
        elif isinstance(v, type):
            self._class(v)
        elif isinstance(v, types.BuiltinFunctionType):
            self.put("builtin", getattr(v, "__module__", ""), v.__qualname__)
        else:  # an object: its class's code and its state
            self.put("object")
            self._class(type(v))
            state = v.state_dict() if hasattr(v, "state_dict") and callable(v.state_dict) else getattr(v, "__dict__", repr(v))
            self.value(state)

    def _library(self, module: str | None) -> bool:
        return (module or "").split(".")[0] in _LIBRARIES

    def _file(self, filename: str) -> None:
        """The source of the file code comes from (helpers it calls live there too), once per key."""
        if filename in self._files:
            return
        self._files.add(filename)
        try:
            self.put("file", Path(filename).name, Path(filename).read_bytes())
        except OSError:
            self.put("file", filename, "unreadable")  # the bytecode still counts

    def _code(self, code: types.CodeType) -> None:
        self.put("code", code.co_name, code.co_code, code.co_names, code.co_varnames)
        for c in code.co_consts:
            self._code(c) if isinstance(c, types.CodeType) else self.value(c)

    def _function(self, fn: types.FunctionType) -> None:
        self.put("function", fn.__module__, fn.__qualname__)
        if self._library(fn.__module__):
            return
        self._file(fn.__code__.co_filename)
        self._code(fn.__code__)
        self.value(fn.__defaults__)
        self.value(fn.__kwdefaults__)
        for cell in fn.__closure__ or ():
            try:
                self.value(cell.cell_contents)
            except ValueError:  # an empty cell
                self.put("empty")

    def _class(self, cls: type) -> None:
        self.put("class", cls.__module__, cls.__qualname__)
        for base in cls.__mro__:
            if base is object or self._library(base.__module__):
                continue
            for name, member in sorted(vars(base).items()):
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if isinstance(member, types.FunctionType):
                    self.put(name)
                    self._file(member.__code__.co_filename)
                    self._code(member.__code__)

    def digest(self) -> str:
        return self.h.hexdigest()[:24]


def key(scene) -> str:
    """The cache key of a scene's numbers (see the module's docstring). A render asks twice for the same
    scene (the preflight, then the fetch); the second answer is remembered, since hashing a scene can
    mean reading a whole DataLoader. Scenes are frozen: the same object has the same key."""
    for seen, known in _recent:
        if seen is scene:
            return known
    h = _Hasher()
    h.put("format", FORMAT, "code", code_digest(), *(x for pair in _versions() for x in pair))
    h.value(scene)
    _recent.insert(0, (scene, h.digest()))
    del _recent[_RECENT:]
    return _recent[0][1]


_RECENT = 8  # scenes whose keys are remembered: those of one command, in flight together
_recent: list[tuple[object, str]] = []


def save(landscape: Landscape, path: Path) -> None:
    arrays = {"alphas": landscape.alphas, "betas": landscape.betas, "loss": landscape.loss,
              "minima": landscape.minima, **{f"plane_{k}": v for k, v in landscape.plane.items()}}
    if landscape.surfaces is not None:
        arrays.update(surfaces=landscape.surfaces, surface_steps=landscape.surface_steps)
    arrays.update({f"metric{j}": v for j, v in enumerate(landscape.metrics.values())})
    head = {"axis_labels": list(landscape.axis_labels), "loss_name": landscape.loss_name,
            "epochs": landscape.epochs, "traces": [], "facts": landscape.facts, "metrics": list(landscape.metrics)}
    for i, t in enumerate(landscape.traces):
        head["traces"].append({"diverged_at": t.diverged_at, "step_numbers": t.step_numbers is not None, "lr": t.lr,
                               "grad": t.grad is not None, "moments": t.moment_alpha is not None,
                               "sharpness": t.sharpness is not None})
        if t.sharpness is not None:
            arrays[f"t{i}_sharpness"] = t.sharpness
        head["traces"][-1]["metrics"] = list(t.metrics)
        arrays.update({f"t{i}_metric{j}": v for j, v in enumerate(t.metrics.values())})
        if t.moment_alpha is not None:
            arrays.update({f"t{i}_moment_alpha": t.moment_alpha, f"t{i}_moment_beta": t.moment_beta})
        if t.grad is not None:
            arrays[f"t{i}_grad"] = t.grad
        arrays.update({f"t{i}_alpha": t.alpha, f"t{i}_beta": t.beta, f"t{i}_loss": t.loss, f"t{i}_epochs": t.epoch_ends})
        if t.step_numbers is not None:
            arrays[f"t{i}_steps"] = t.step_numbers
    arrays["head"] = np.array(json.dumps(head))
    path.parent.mkdir(parents=True, exist_ok=True)
    clean_stale_parts(path.parent)
    write_npz(path, arrays)


def load(path: Path) -> Landscape:
    with np.load(path, allow_pickle=False) as z:
        head = json.loads(str(z["head"]))
        traces = [
            Trace(alpha=z[f"t{i}_alpha"], beta=z[f"t{i}_beta"], loss=z[f"t{i}_loss"], epoch_ends=z[f"t{i}_epochs"],
                  diverged_at=int(t["diverged_at"]), step_numbers=z[f"t{i}_steps"] if t.get("step_numbers") else None,
                  lr=None if t.get("lr") is None else float(t["lr"]), grad=z[f"t{i}_grad"] if t.get("grad") else None,
                  moment_alpha=z[f"t{i}_moment_alpha"] if t.get("moments") else None,
                  moment_beta=z[f"t{i}_moment_beta"] if t.get("moments") else None,
                  sharpness=z[f"t{i}_sharpness"] if t.get("sharpness") else None,
                  metrics={name: z[f"t{i}_metric{j}"] for j, name in enumerate(t.get("metrics", []))})
            for i, t in enumerate(head["traces"])
        ]
        return Landscape(alphas=z["alphas"], betas=z["betas"], loss=z["loss"], traces=traces,
                         axis_labels=tuple(head["axis_labels"]), loss_name=head["loss_name"], epochs=int(head["epochs"]),
                         minima=z["minima"].reshape(-1, 2),
                         plane={k[6:]: z[k] for k in z.files if k.startswith("plane_")},
                         facts=head.get("facts", {}),
                         surfaces=z["surfaces"] if "surfaces" in z.files else None,
                         surface_steps=z["surface_steps"] if "surface_steps" in z.files else None,
                         metrics={name: z[f"metric{j}"] for j, name in enumerate(head.get("metrics", []))})


def check_fits(landscape: Landscape, scene) -> None:
    """Raise ValueError unless the arrays have the shapes the scene implies."""
    la, lb = landscape.alphas, landscape.betas
    if la.ndim != 1 or lb.ndim != 1 or landscape.loss.shape != (lb.size, la.size) or min(la.size, lb.size) < 2:
        raise ValueError(f"a grid of {landscape.loss.shape} for axes of {la.shape} and {lb.shape}")
    # A surface's grid is its domain, grown or not; a plane kind with its own grid (a line's samples of t)
    # is not the scene's Grid either.
    own_grid = getattr(scene, "surface", None) is not None or getattr(scene.plane, "own_grid", False)
    if not own_grid and scene.grid.fit in ("path", "fixed") and landscape.loss.shape != scene.grid.shape():
        raise ValueError(f"a {landscape.loss.shape} grid where the scene asks for {scene.grid.shape()}")
    if (landscape.surfaces is None) != (getattr(scene, "evolve", None) is None):
        raise ValueError("an evolving film's surfaces missing, or a still film's present")
    if landscape.surfaces is not None and (landscape.surfaces.shape[1:] != landscape.loss.shape
                                           or landscape.surface_steps.shape != landscape.surfaces.shape[:1]):
        raise ValueError("surfaces of another grid than the film's")
    if landscape.plane and (set(landscape.plane) != {"theta0", "d1", "d2"}
                            or len({v.shape for v in landscape.plane.values()}) != 1):
        raise ValueError("a plane whose centre and directions differ in length")
    wanted = len(getattr(scene, "measures", ()))  # a metric= height puts the loss beside: as many either way
    if len(landscape.metrics) != wanted or any(v.shape != landscape.loss.shape for v in landscape.metrics.values()):
        raise ValueError("the grid's metrics missing, or of another shape than the loss's")
    if len(landscape.traces) != len(scene.runs) + len(scene.paths):
        raise ValueError(f"{len(landscape.traces)} paths for {len(scene.runs) + len(scene.paths)} runs and paths")
    for t in landscape.traces:
        n = t.alpha.shape
        if t.alpha.ndim != 1 or t.beta.shape != n or t.loss.shape != n or n[0] < 1:
            raise ValueError("a path whose arrays differ in length")
        if t.epoch_ends.size and (t.epoch_ends.min() < 0 or t.epoch_ends.max() >= n[0]):
            raise ValueError("epoch marks outside the path")
        if t.diverged_at >= n[0]:
            raise ValueError("a divergence mark outside the path")
        if t.step_numbers is not None and t.step_numbers.shape != n:
            raise ValueError("step numbers of another length than the path")
        if t.grad is not None and t.grad.shape != (n[0], 2):
            raise ValueError("gradients of another length than the path")
        if len(t.metrics) != wanted or any(v.shape != n for v in t.metrics.values()):
            raise ValueError("a path's metrics missing, or of another length than the path")
        track = getattr(scene, "track", None)
        if (t.sharpness is not None) != (track is not None) or (track is not None and (
                t.sharpness.ndim != 2 or t.sharpness.shape[1] != len(track.columns))):
            raise ValueError("a path's sharpness missing, or not one column per value")
        refit = getattr(getattr(scene, "evolve", None), "refit", False)
        if (t.moment_alpha is not None) != bool(refit) or (refit and (
                t.moment_alpha.shape != (len(landscape.surface_steps), n[0]) or t.moment_beta.shape != t.moment_alpha.shape)):
            raise ValueError("a path's coordinates per moment missing, or not one row per surface")


def path_for(scene, folder: Path | str) -> Path:
    return Path(folder) / f"{key(scene)}.npz"


def fetch(scene, folder: Path) -> tuple[Landscape | None, Path]:
    """(landscape or None, its cache path). A broken or ill-fitting file is reported and treated as a miss."""
    path = path_for(scene, folder)
    if not path.exists():
        return None, path
    try:
        found = load(path)
        check_fits(found, scene)
        return found, path
    except Exception as exc:  # truncated, corrupted, of other shapes, or from a foreign writer: recompute
        warnings.warn(f"{scene.name}: cache file {path} is unreadable ({type(exc).__name__}: {exc}); recomputing",
                      RuntimeWarning, stacklevel=2)
        return None, path
