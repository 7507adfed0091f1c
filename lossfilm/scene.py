"""What is shown: a Scene and its parts, as frozen dataclasses validated at construction.

A scene never trains or draws. Every check raises :class:`SceneError` naming the field
and what was expected, so the command line can print one clear line and exit 2.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from .errors import SceneError
from .optimizers import OPTIMIZERS

TUNE = "tune"  # Run(lr="tune"): a seeded search for the lr that ends lowest (surfaces)
# lr="tune" tries these: log-spaced, two per decade, the same for every run and every machine.
TUNE_LRS = tuple(float(v) for v in np.geomspace(1e-5, 1.0, 11))
SURFACE_STEPS = 300  # a run's steps on a surface unless it says

DEVICES = ("cpu", "cuda", "auto")  # where the grid is evaluated: "auto" takes a GPU when torch sees one

MAX_NAME = 120
# What one grid point holds through a render: its loss, its coordinates, its decimated and coloured copies.
GRID_BYTES_PER_POINT = 64


def _number(value: Any, field_name: str, *, positive: bool = False, minimum: float | None = None) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise SceneError(field_name, "a number", value)
    number = float(value)
    if not math.isfinite(number):
        raise SceneError(field_name, "a finite number", value)
    if positive and number <= 0:
        raise SceneError(field_name, "a positive number", value)
    if minimum is not None and number < minimum:
        raise SceneError(field_name, f"a number >= {minimum:g}", value)
    return number


def _integer(value: Any, field_name: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise SceneError(field_name, f"an integer >= {minimum}", value)
    return int(value)


def _color(value: Any, field_name: str) -> str | None:
    if value is None:
        return None
    from matplotlib.colors import is_color_like

    if not isinstance(value, str) or not is_color_like(value):
        raise SceneError(field_name, "a matplotlib colour such as '#ff5a36' or 'tab:red'", value)
    return value


def _text(value: Any, field_name: str) -> None:
    """Text the painter will draw: a string, and valid mathtext where it has $...$ (checked now, not after
    training; matplotlib's own message spans several lines)."""
    if value is None:
        return
    if not isinstance(value, str):
        raise SceneError(field_name, "a string", value)
    from matplotlib import cbook

    if cbook.is_math_text(value):
        from matplotlib.mathtext import MathTextParser

        try:
            MathTextParser("path").parse(value)
        except ValueError as exc:
            raise SceneError(field_name, "text matplotlib can draw (valid mathtext between $ signs; \\$ for a dollar)",
                             " ".join(str(exc).split())) from None


@dataclass(frozen=True, eq=False)
class Data:
    """Arrays a scene trains on and evaluates on; float32, generated or shipped, never downloaded."""

    NOT_NUMBERS = ("name",)  # fields the cache key leaves out: they change no number

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str = "data"

    def __post_init__(self) -> None:
        for part in ("x_train", "y_train", "x_test", "y_test"):
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
            if value.dtype != np.float32 and (np.issubdtype(value.dtype, np.floating) or part.startswith("x")):
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


class Plane:
    """A kind of plane through weight space, theta(alpha, beta) = theta0 + alpha*d1 + beta*d2. Each kind
    is one subclass (a frozen dataclass, validated at construction) whose ``basis(space, path,
    memory_mb)`` returns (theta0, d1, d2, axis labels) as float32 torch tensors of the model's parameter
    count; ``path`` is the first run's recorded parameters (steps x P). Nothing else names the kinds."""

    center = "final"
    own_grid = False  # True: the kind samples its own grid (Interpolation's t), not the scene's Grid

    def basis(self, space, path, memory_mb: float):
        raise NotImplementedError

    def axis_labels(self) -> tuple[str, str]:
        return getattr(self, "labels", None) or ("α", "β")


@dataclass(frozen=True)
class WeightsPlane(Plane):
    """The exact plane of two named scalar parameters: alpha and beta *are* the two weights.

    A name may carry a flat index into a larger tensor, e.g. ``"fc.weight[3]"``. All other
    parameters stay at their values at the end of the first run.
    """

    a: str
    b: str
    labels: tuple[str, str] | None = None

    def __post_init__(self) -> None:
        for part in ("a", "b"):
            if not isinstance(getattr(self, part), str) or not _PARAM_REF.fullmatch(getattr(self, part)):
                raise SceneError(f"plane.{part}", "a parameter name such as '0.weight' or 'fc.weight[3]'",
                                 getattr(self, part))
        if self.a == self.b:
            raise SceneError("plane.b", "a parameter other than plane.a", self.b)

    def axis_labels(self) -> tuple[str, str]:
        return self.labels or (self.a, self.b)

    def basis(self, space, path, memory_mb):
        import torch

        from .directions import center_of

        center = center_of(path, "final")
        ia, ib = space.index(self.a), space.index(self.b)
        for part, ref, i in (("a", self.a, ia), ("b", self.b, ib)):
            if i is None:
                names = ", ".join(f"{n}{list(s)}" if s else n for n, s in zip(space.names, space.shapes))
                raise SceneError(f"plane.{part}", f"a scalar parameter or name[i] of the model ({names})", ref)
        d1, d2 = torch.zeros(space.size), torch.zeros(space.size)
        d1[ia] = d2[ib] = 1.0
        center[ia] = center[ib] = 0.0  # so that alpha and beta are the two weights themselves
        return center, d1, d2, self.axis_labels()


_PARAM_REF = re.compile(r"[A-Za-z0-9_.]+(\[\d+\])?")
_CENTERS = ("final", "start")


def _center(value: Any) -> str:
    if value not in _CENTERS:
        raise SceneError("plane.center", "'final' (the first run's end point) or 'start'", value)
    return value


@dataclass(frozen=True)
class RandomPlane(Plane):
    """Two Gaussian directions with filter-wise normalisation (Li et al. 2018): each filter of a direction
    (a row of a Linear weight, an output channel of a convolution) is scaled to the norm of the same filter
    of the centre point. One-dimensional parameters (biases, normalisation layers) are zero in both
    directions unless ``keep_biases``, then normalised as one filter each."""

    seed: int = 0
    keep_biases: bool = False
    center: str = "final"
    labels: tuple[str, str] = ("α (random direction 1)", "β (random direction 2)")

    def __post_init__(self) -> None:
        _integer(self.seed, "plane.seed", minimum=0)
        _center(self.center)

    def axis_labels(self) -> tuple[str, str]:
        return self.labels

    def basis(self, space, path, memory_mb):
        import torch

        from .directions import center_of, filter_normalized

        center = center_of(path, self.center)
        gen = torch.Generator().manual_seed(self.seed)
        d1, d2 = (filter_normalized(torch.randn(space.size, generator=gen), center, space, self.keep_biases)
                  for _ in range(2))
        return center, d1, d2, self.axis_labels()


@dataclass(frozen=True)
class PCAPlane(Plane):
    """The top two principal components of theta_t - theta_final over the first run's recorded path;
    each axis label shows the share of the path's variance it explains."""

    center: str = "final"

    def __post_init__(self) -> None:
        _center(self.center)

    def axis_labels(self) -> tuple[str, str]:
        return ("PC1", "PC2")

    def basis(self, space, path, memory_mb):
        from .directions import center_of, pca_directions

        d1, d2, explained = pca_directions(path, memory_mb)
        return center_of(path, self.center), d1, d2, (f"PC1 ({explained[0]:.1%})", f"PC2 ({explained[1]:.1%})")


@dataclass(frozen=True, eq=False)
class CustomPlane(Plane):
    """Two given directions: flat arrays of the model's parameter count, or dicts of parameter name ->
    array shaped like that parameter (missing names are zero)."""

    d1: Any
    d2: Any
    center: str = "final"
    labels: tuple[str, str] = ("α", "β")

    def __post_init__(self) -> None:
        for part in ("d1", "d2"):
            if not isinstance(getattr(self, part), (dict, np.ndarray, list, tuple)) and not hasattr(
                    getattr(self, part), "numpy"):
                raise SceneError(f"plane.{part}", "an array or a dict of parameter name -> array",
                                 type(getattr(self, part)).__name__)
        _center(self.center)

    def axis_labels(self) -> tuple[str, str]:
        return self.labels

    def basis(self, space, path, memory_mb):
        from .directions import center_of, given_direction

        return (center_of(path, self.center), given_direction(self.d1, space, "plane.d1"),
                given_direction(self.d2, space, "plane.d2"), self.axis_labels())

    def __repr__(self) -> str:  # part of the cache key: the directions' values, not their identity
        import hashlib

        h = hashlib.sha256()
        for d in (self.d1, self.d2):
            items = sorted(d.items()) if isinstance(d, dict) else [("", d)]
            for k, v in items:
                h.update(k.encode() + np.ascontiguousarray(np.asarray(v, dtype=np.float32)).tobytes())
        return f"CustomPlane({h.hexdigest()[:16]}, center={self.center!r}, labels={self.labels!r})"


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class HessianPlane(Plane):
    """The loss's sharpest directions at the centre: the Hessian's eigenvectors number ``k`` (1 = the
    largest eigenvalue), found by Lanczos over Hessian-vector products on the scene's evaluation data
    (lossfilm.hessian; never the dense Hessian). Seeded; ``filter_normalize`` rescales them filter-wise
    like RandomPlane (then they show the sharp directions at the scale of the weights, no longer as unit
    eigenvectors). The axis labels carry the eigenvalues, and ``--json`` reports them."""

    k: tuple[int, int] = (1, 2)
    seed: int = 0
    steps: int = 16  # Hessian-vector products, about 2.5 gradients each on the tiny CNN (bench_hessian)
    filter_normalize: bool = False
    keep_biases: bool = False
    center: str = "final"

    needs_problem = True  # basis() is given the model, loss and data (compute.plane_basis)

    def __post_init__(self) -> None:
        k = self.k
        if (not isinstance(k, (tuple, list)) or len(k) != 2 or any(isinstance(v, bool) or not isinstance(v, int)
                                                                   or v < 1 for v in k) or k[0] == k[1]):
            raise SceneError("plane.k", "two different eigenvector numbers, 1 for the largest eigenvalue", k)
        object.__setattr__(self, "k", tuple(k))
        _integer(self.seed, "plane.seed", minimum=0)
        _integer(self.steps, "plane.steps", minimum=2)
        for name in ("filter_normalize", "keep_biases"):
            if not isinstance(getattr(self, name), bool):
                raise SceneError(f"plane.{name}", "True or False", getattr(self, name))
        _center(self.center)

    def axis_labels(self, eigenvalues=None) -> tuple[str, str]:
        if eigenvalues is None:
            return tuple(f"v{k}" for k in self.k)
        return tuple(f"v{k} (λ{str(k).translate(_SUBSCRIPTS)} = {lam:.3g})" for k, lam in zip(self.k, eigenvalues))

    def basis(self, space, path, memory_mb, problem=None):
        import torch

        from .directions import center_of, filter_normalized
        from .hessian import top_directions

        if max(self.k) > space.size:
            raise SceneError("plane.k", f"eigenvector numbers from 1 to the model's {space.size} parameters", self.k)
        center = center_of(path, self.center)
        values, vectors = top_directions(problem.model, space, problem.loss, problem.source, center, self.k,
                                         max(self.steps, max(self.k)), self.seed)
        d1, d2 = (torch.as_tensor(v, dtype=torch.float32) for v in vectors)
        if self.filter_normalize:
            d1, d2 = (filter_normalized(d, center, space, self.keep_biases) for d in (d1, d2))
        return center, d1, d2, self.axis_labels(values), {"eigenvalues": [float(v) for v in values]}


class ThroughModels(Plane):
    """A view through the end points of some of the scene's runs or paths, named by their labels in the
    fields ``PARTS``. The Scene resolves the labels to ``indices`` (so which runs the view goes through is
    part of the cache key); ``basis`` is given every end point (compute.Problem)."""

    PARTS: tuple[str, ...] = ()
    needs_problem = True

    def _check_parts(self) -> None:
        for part in self.PARTS:
            _text(getattr(self, part), f"plane.{part}")
            if not getattr(self, part):
                raise SceneError(f"plane.{part}", "the label of one of the scene's runs or paths", getattr(self, part))
        for j, part in enumerate(self.PARTS):
            for other in self.PARTS[:j]:
                if getattr(self, part) == getattr(self, other):
                    raise SceneError(f"plane.{part}", f"a run other than plane.{other}", getattr(self, part))

    def resolved(self, names: list[str]) -> "ThroughModels":
        """This view with the indices of its paths among ``names`` (the runs', then the paths')."""
        found = []
        for part in self.PARTS:
            label = getattr(self, part)
            hits = [i for i, n in enumerate(names) if n == label]
            if len(hits) != 1:
                why = "the label of exactly one" if hits else "the label of one"
                raise SceneError(f"plane.{part}", f"{why} of the scene's runs or paths ({', '.join(names)})", label)
            found.append(hits[0])
        return dataclasses.replace(self, indices=tuple(found))

    def ends(self, problem):
        """The named end points, in PARTS order, as float64 tensors."""
        import torch

        return [torch.as_tensor(np.asarray(problem.ends[i]), dtype=torch.float64) for i in self.indices]

    def _apart(self, gap, scale, part: str, expected: str) -> None:
        """A SceneError naming ``part`` when ``gap`` (a vector) is nothing beside ``scale``."""
        if float(gap.norm()) <= 1e-6 * max(1.0, float(scale)):
            raise SceneError(f"plane.{part}", expected, getattr(self, part))


@dataclass(frozen=True)
class ModelsPlane(ThroughModels):
    """The plane through three models (Garipov et al. 2018): the end points of the runs or paths labelled
    ``a``, ``b`` and ``c``. theta0 is a; the axes are orthonormalised (d1 along b - a, d2 the part of
    c - a orthogonal to it), so distances on the surface are true distances in weight space. a sits at
    (0, 0), b on the alpha axis. Give the runs different ``Run(seed=...)`` to start them apart."""

    a: str
    b: str
    c: str
    labels: tuple[str, str] = ("α (towards b)", "β (towards c)")
    indices: tuple[int, int, int] | None = None  # set by the Scene: which of its paths a, b, c are

    PARTS = ("a", "b", "c")

    def __post_init__(self) -> None:
        self._check_parts()

    def axis_labels(self) -> tuple[str, str]:
        return self.labels

    def basis(self, space, path, memory_mb, problem=None):
        a, b, c = self.ends(problem)
        u, v = b - a, c - a
        self._apart(u, a.norm(), "b", "a model other than plane.a (the two end at the same weights)")
        d1 = u / u.norm()
        w = v - (v @ d1) * d1
        self._apart(w, v.norm(), "c", "a model off the line through plane.a and plane.b")
        d2 = w / w.norm()
        points = [[0.0, 0.0], [float(u.norm()), 0.0], [float(v @ d1), float(w.norm())]]
        return (a.float(), d1.float(), d2.float(), self.axis_labels(),
                {"models": {getattr(self, p): xy for p, xy in zip("abc", points)}})


@dataclass(frozen=True)
class Interpolation(ThroughModels):
    """The straight line between two models (Goodfellow et al. 2015): theta(t) = (1 - t) a + t b for t
    from -extend to 1 + extend, a and b the end points of the runs or paths with those labels. The film
    shows it as a ribbon: its front edge is the loss on the scene's evaluate_on split, its back edge the
    loss on the other split, so the train/test pair is read together. The barrier (the highest loss on the
    segment from a to b, less the higher of the two ends) is in the subtitle and ``--json``'s
    ``"barrier"``. Each run's path is projected onto the line (its t)."""

    a: str
    b: str
    extend: float = 0.5
    points_per_unit: int = 60  # samples for t from 0 to 1; t = 0 and t = 1 are always samples
    indices: tuple[int, int] | None = None  # set by the Scene: which of its paths a and b are

    PARTS = ("a", "b")
    own_grid = True  # the samples of t, not the scene's Grid

    def __post_init__(self) -> None:
        self._check_parts()
        object.__setattr__(self, "extend", _number(self.extend, "plane.extend", minimum=0))
        if self.extend > 10:
            raise SceneError("plane.extend", "at most 10 (how far past a and b the line goes, in units of b - a)",
                             self.extend)
        _integer(self.points_per_unit, "plane.points_per_unit", minimum=2)
        if self.points_per_unit > 2000:
            raise SceneError("plane.points_per_unit", "at most 2000", self.points_per_unit)

    def axis_labels(self) -> tuple[str, str]:
        return (f"t ({self.a} → {self.b})", "split")

    def ts(self) -> np.ndarray:
        """The samples of t: on the lattice k / points_per_unit, so t = 0 and t = 1 are exact."""
        k = self.points_per_unit
        reach = int(np.ceil(self.extend * k - 1e-9))
        return np.arange(-reach, k + reach + 1) / k

    def basis(self, space, path, memory_mb, problem=None):
        import torch

        a, b = self.ends(problem)
        self._apart(b - a, a.norm(), "b", "a model other than plane.a (the two end at the same weights)")
        # The line's direction is b - a itself (not a unit vector): alpha is t. beta names the split.
        return a.float(), (b - a).float(), torch.zeros(space.size), self.axis_labels(), {}


def plane_kinds() -> str:
    """The plane kinds there are, for messages: every concrete (dataclass) subclass of Plane, at any depth."""
    kinds, todo = [], list(Plane.__subclasses__())
    while todo:
        kind = todo.pop(0)
        todo += kind.__subclasses__()
        if dataclasses.is_dataclass(kind):
            kinds.append(kind.__name__)
    return ", ".join(kinds)


@dataclass(frozen=True)
class Grid:
    """The (alpha, beta) lattice: ``np.arange(lo, hi, step)`` on each axis, like the article.

    With ``fit="grow"`` the range widens (on the same lattice) until every path fits with
    ``margin`` (a fraction of the path's extent) to spare, by at most ``max_grow`` times the given
    range on each side; ``fit="fixed"`` keeps it as given. Parts of a path outside the grid are not drawn.
    """

    a: tuple[float, float] = (-2.0, 2.0)
    b: tuple[float, float] = (-2.0, 2.0)
    step: float = 0.05
    fit: str = "grow"
    margin: float = 0.1
    max_grow: float = 1.0
    max_points: int = 1_000_000
    points: int = 0  # with fit="path": points per axis

    @classmethod
    def around_paths(cls, points: int = 100, margin: float = 0.25) -> "Grid":
        """A ``points`` x ``points`` grid over the paths' bounding box widened by ``margin`` of its extent
        (on each side): the natural grid for a PCA plane, whose coordinates are not known in advance."""
        return cls(fit="path", points=points, margin=margin)

    def __post_init__(self) -> None:
        step = _number(self.step, "grid.step", positive=True)
        object.__setattr__(self, "step", step)
        for part in ("a", "b"):
            rng = getattr(self, part)
            if not isinstance(rng, (tuple, list)) or len(rng) != 2:
                raise SceneError(f"grid.{part}", "a (lo, hi) pair", rng)
            lo, hi = (_number(v, f"grid.{part}") for v in rng)
            if lo >= hi:
                raise SceneError(f"grid.{part}", "lo < hi", rng)
            object.__setattr__(self, part, (lo, hi))
        if self.fit not in ("grow", "fixed", "path"):
            raise SceneError("grid.fit", "'grow', 'fixed' or 'path'", self.fit)
        if self.fit == "path":
            _integer(self.points, "grid.points", minimum=2)
        object.__setattr__(self, "margin", _number(self.margin, "grid.margin", minimum=0))
        object.__setattr__(self, "max_grow", _number(self.max_grow, "grid.max_grow", minimum=0))
        _integer(self.max_points, "grid.max_points", minimum=4)
        n = self.shape()
        if n[0] < 2 or n[1] < 2:
            raise SceneError("grid.step", "a step that gives at least 2 points per axis", step)
        if n[0] * n[1] > self.max_points:
            raise SceneError("grid", f"at most {self.max_points} points (grid.max_points)", n[0] * n[1])

    def shape(self) -> tuple[int, int]:
        """(rows, columns) = points of ``np.arange`` on b and a, counted without building them."""
        def count(lo: float, hi: float) -> int:
            n = (hi - lo) / self.step
            return max(0, math.ceil(n)) if math.isfinite(n) else 2**62

        if self.fit == "path":
            return self.points, self.points
        return count(*self.b), count(*self.a)


@dataclass(frozen=True)
class Move:
    """One segment of a camera move: over ``seconds``, turn by ``turns`` orbits and ease elevation and
    zoom to the given values (None keeps them). ``focus=True`` moves the picture so that the first run's
    end point comes to the centre of the frame (with ``zoom``: zoom towards the end point); ``False``
    moves back. ``Move(2)`` alone holds still for two seconds."""

    seconds: float
    turns: float = 0.0
    elevation: float | None = None
    zoom: float | None = None
    focus: bool | None = None
    ease: str = "in_out"
    # Where the focus is during this move, travelling from the first point to the second: two (alpha, beta)
    # points, or two numbers meaning alpha (an Interpolation's t) on the map's middle line, so that
    # ``Move(6, zoom=2.2, focus=True, along=(-0.5, 1.5))`` flies the camera along an interpolation's
    # ribbon. None: the first run's end point.
    along: tuple | None = None

    def __post_init__(self) -> None:
        if self.along is not None:
            if not isinstance(self.along, (tuple, list)) or len(self.along) != 2:
                raise SceneError("camera.moves.along", "two points (alpha, beta), or two numbers (t from, t to)",
                                 self.along)
            ends = []
            for end in self.along:
                if isinstance(end, (tuple, list)):
                    if len(end) != 2:
                        raise SceneError("camera.moves.along", "points of two numbers (alpha, beta)", end)
                    ends.append(tuple(_number(v, "camera.moves.along") for v in end))
                else:
                    ends.append((_number(end, "camera.moves.along"), None))
            object.__setattr__(self, "along", tuple(ends))
        object.__setattr__(self, "seconds", _number(self.seconds, "camera.moves.seconds", positive=True))
        object.__setattr__(self, "turns", _number(self.turns, "camera.moves.turns"))
        if self.elevation is not None and not -90 <= _number(self.elevation, "camera.moves.elevation") <= 90:
            raise SceneError("camera.moves.elevation", "degrees between -90 and 90", self.elevation)
        if self.zoom is not None:
            _number(self.zoom, "camera.moves.zoom", positive=True)
        if self.focus not in (None, True, False):
            raise SceneError("camera.moves.focus", "True, False or None", self.focus)
        if self.ease not in ("linear", "in_out"):
            raise SceneError("camera.moves.ease", "'linear' or 'in_out'", self.ease)


@dataclass(frozen=True)
class Camera:
    """How the film is seen: start azimuth, elevation and zoom, then either ``turns`` of steady orbit over
    the clip (the default: one) or a list of ``moves``, whose durations are scaled to fill the clip."""

    azimuth: float = -60.0
    elevation: float = 32.0
    turns: float = 1.0
    zoom: float = 1.0
    moves: tuple[Move, ...] = ()

    def __post_init__(self) -> None:
        moves = tuple(self.moves)
        if not all(isinstance(m, Move) for m in moves):
            raise SceneError("camera.moves", "a list of Move(seconds, turns, elevation, zoom)", self.moves)
        object.__setattr__(self, "moves", moves)
        object.__setattr__(self, "azimuth", _number(self.azimuth, "camera.azimuth"))
        object.__setattr__(self, "elevation", _number(self.elevation, "camera.elevation"))
        if not -90 <= self.elevation <= 90:
            raise SceneError("camera.elevation", "degrees between -90 and 90", self.elevation)
        object.__setattr__(self, "turns", _number(self.turns, "camera.turns"))
        object.__setattr__(self, "zoom", _number(self.zoom, "camera.zoom", positive=True))


@dataclass(frozen=True)
class Style:
    """The look: theme, colormap, path colours."""

    theme: str = "dark"
    cmap: str = "viridis"
    path_colors: tuple[str, ...] = ("#ff4d6d", "#ffb703", "#4cc9f0", "#c77dff", "#ffffff")
    title: str | None = None
    subtitle: str | None = None
    floor: bool = True  # the floor map with each path's shadow
    hud: bool = True  # epoch / step / loss text
    loss_curve: bool = True  # an inset of loss against step growing with the paths 
    loss_curve_log: bool = False
    colorbar: bool = False
    # Teaching overlays at each run's current point, on a surface: the downhill gradient's direction,
    # and the step the optimizer takes (its velocity, for momentum methods).
    gradient_arrows: bool = False
    velocity_arrows: bool = False
    zscale: str = "linear"  # "log" for surfaces whose values span decades
    z_label: str | None = None  # the z axis's name (default: the loss's, e.g. "test MSE")
    loss_label: str | None = None  # the loss's name in the HUD, inset and colour bar (default e.g. "test MSE")
    # The loss range the heights and colours span, (lo, hi) in loss units; None: the surface's own.
    # Compare(shared_z=True) sets it to the union of its panels' ranges, so heights compare.
    z_range: tuple[float, float] | None = None
    # An evolving film (Evolve): False keeps one z range for all its surfaces, so heights compare across
    # time; True gives each moment's surface its own range (the z axis relabelled as it morphs), so a
    # late, flat surface still shows its shape.
    z_follows: bool = False
    # "3d": the surface turning in 3-D; "2d": seen from above, a map with contour lines and the paths on
    # it (an Interpolation: a plain plot of the loss along t). The camera is not used in 2-D.
    view: str = "3d"
    # "smooth": each facet's colour blends between its corners (Gouraud); "flat": one colour per facet,
    # 10-25 % cheaper to paint, for a batch where speed counts more than the last polish.
    shading: str = "smooth"

    def __post_init__(self) -> None:
        if self.z_follows is True and (self.z_range is not None or self.colorbar):
            raise SceneError("style.z_follows", "False with z_range= or colorbar=True (one range for the film)",
                             self.z_follows)
        if self.z_range is not None:
            if not isinstance(self.z_range, (tuple, list)) or len(self.z_range) != 2:
                raise SceneError("style.z_range", "a (lo, hi) pair of losses", self.z_range)
            lo, hi = (_number(v, "style.z_range") for v in self.z_range)
            if lo >= hi or (self.zscale == "log" and lo <= 0):
                raise SceneError("style.z_range", "lo < hi" + (" and lo > 0 on a log z axis" if self.zscale == "log"
                                                               else ""), self.z_range)
            object.__setattr__(self, "z_range", (lo, hi))
        if self.theme not in ("dark", "light"):
            raise SceneError("style.theme", "'dark' or 'light'", self.theme)
        if self.shading not in ("smooth", "flat"):
            raise SceneError("style.shading", "'smooth' or 'flat'", self.shading)
        if self.view not in ("3d", "2d"):
            raise SceneError("style.view", "'3d' or '2d'", self.view)
        if self.zscale not in ("linear", "log"):
            raise SceneError("style.zscale", "'linear' or 'log'", self.zscale)
        for name in ("floor", "hud", "loss_curve", "loss_curve_log", "colorbar", "gradient_arrows", "velocity_arrows",
                     "z_follows"):
            if not isinstance(getattr(self, name), bool):
                raise SceneError(f"style.{name}", "True or False", getattr(self, name))
        _text(self.title, "style.title")
        _text(self.subtitle, "style.subtitle")
        _text(self.z_label, "style.z_label")
        _text(self.loss_label, "style.loss_label")
        import matplotlib

        if self.cmap not in matplotlib.colormaps:
            raise SceneError("style.cmap", "a matplotlib colormap name such as 'viridis'", self.cmap)
        if isinstance(self.path_colors, str) or not isinstance(self.path_colors, (tuple, list)) or not self.path_colors:
            raise SceneError("style.path_colors", "one or more matplotlib colours", self.path_colors)
        object.__setattr__(self, "path_colors", tuple(self.path_colors))
        for i, c in enumerate(self.path_colors):
            if c is None:
                raise SceneError(f"style.path_colors[{i}]", "a matplotlib colour such as '#ff5a36'", c)
            _color(c, f"style.path_colors[{i}]")


MAX_SURFACES = 60  # an evolving film's surfaces at most: each costs a whole grid


@dataclass(frozen=True)
class Evolve:
    """A landscape that changes while the model learns: the surface is computed again at K moments of the
    first run's training (``every`` N optimizer steps, or ``every="epoch"``; or ``surfaces=K`` moments
    spread evenly), always on the scene's directions but through the weights of that moment, and the film
    morphs from one surface to the next while the path grows. The first moment is the start, the last
    the end; the z range and colours are those of all K surfaces together, fixed for the whole film."""

    every: int | str | None = None
    surfaces: int | None = None
    max_surfaces: int = MAX_SURFACES
    # True: the plane kind is fitted afresh at every moment, centred on its weights (a RandomPlane
    # filter-normalised against them, a PCAPlane of the path so far, a HessianPlane's eigenvectors there),
    # and the paths move between each moment's projections as the film morphs.
    refit: bool = False

    def __post_init__(self) -> None:
        _integer(self.max_surfaces, "evolve.max_surfaces", minimum=2)
        if not isinstance(self.refit, bool):
            raise SceneError("evolve.refit", "True or False", self.refit)
        if self.surfaces is not None:
            if self.every is not None:
                raise SceneError("evolve", "every= or surfaces=, not both", f"every={self.every!r}, surfaces={self.surfaces!r}")
            _integer(self.surfaces, "evolve.surfaces", minimum=2)
            if self.surfaces > self.max_surfaces:
                raise SceneError("evolve.surfaces", f"at most {self.max_surfaces} surfaces (evolve.max_surfaces)",
                                 self.surfaces)
        elif self.every is None:
            object.__setattr__(self, "every", "epoch")
        elif self.every != "epoch":
            _integer(self.every, "evolve.every", minimum=1)

    def moments(self, steps: int, epoch_ends) -> np.ndarray:
        """The trace indices (0 ... steps) at which the surface is computed, first and last included."""
        if self.surfaces is not None:
            marks = np.round(np.linspace(0, steps, self.surfaces)).astype(np.int64)
        elif self.every == "epoch":
            marks = np.asarray(epoch_ends, np.int64)
        else:
            marks = np.arange(0, steps + 1, int(self.every), dtype=np.int64)
        return np.unique(np.concatenate([[0], marks[(marks >= 0) & (marks <= steps)], [steps]]))

    def check(self, steps: int, epoch_ends, field_name: str = "evolve") -> np.ndarray:
        """The moments, or a SceneError when they are fewer than 2 or more than ``max_surfaces``."""
        moments = self.moments(steps, epoch_ends)
        what = f"every={self.every!r}" if self.surfaces is None else f"surfaces={self.surfaces}"
        if len(moments) < 2:
            raise SceneError(field_name, "at least 2 moments to morph between (a run of at least one step)",
                             f"{what} over {steps} steps")
        if len(moments) > self.max_surfaces:
            raise SceneError(f"{field_name}.every", f"at most {self.max_surfaces} surfaces (evolve.max_surfaces; a "
                             f"larger every=)", f"{what} gives {len(moments)} over {steps} steps")
        return moments


@dataclass(frozen=True)
class Scene:
    """Everything that makes one film. ``model`` is a zero-argument factory returning an nn.Module."""

    # How the numbers are seen, not what they are: the cache key leaves these out. ``device`` too: a GPU
    # and the CPU give the same numbers up to float rounding.
    NOT_NUMBERS = ("name", "camera", "style", "duration", "fps", "device")

    name: str
    data: Any = None  # Data, (x, y), a torch Dataset or DataLoader: see as_data
    model: Callable[[], Any] | None = None
    runs: tuple[Run, ...] | None = None  # default: one Run() when there are no paths from outside
    plane: Plane | None = None
    grid: Grid = Grid()
    loss: Any = "mse"  # a name from losses.LOSSES, or any callable / nn.Module (output, target) -> scalar
    init: Mapping[str, float] | None = None
    seed: int = 0
    camera: Camera = Camera()
    style: Style = Style()
    duration: float = 8.0
    fps: int | None = None
    memory_mb: float = 256.0
    evaluate_on: str = "test"
    device: str = "cpu"
    paths: tuple = ()  # Trajectory objects: training done elsewhere (record, checkpoints, Lightning)
    eval_batches: int | None = None  # with a DataLoader: evaluate the loss on its first this many batches
    # A textbook surface instead of data, model and plane (lossfilm.surfaces), and where its runs start.
    surface: Any = None
    start: tuple[float, float] | None = None
    evolve: Evolve | None = None  # a landscape recomputed while the model learns (Evolve)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", self.name):
            raise SceneError("name", "a file-name-safe name (letters, digits, _ . -)", self.name)
        if len(self.name) > MAX_NAME:  # room for ".name-master.<pid>.part.mp4" within a file name's 255 bytes
            raise SceneError("name", f"a name of at most {MAX_NAME} characters", f"{len(self.name)} characters")
        if self.surface is not None:
            self._check_surface()
            return
        if self.start is not None:
            raise SceneError("start", "no start without a surface (a network starts from its model's weights, "
                                      "or init=)", self.start)
        for run in (self.runs if isinstance(self.runs, (tuple, list)) else [self.runs]):
            if isinstance(run, Run) and (run.lr == TUNE or run.steps is not None or run.start is not None
                                         or run.noise):
                raise SceneError("runs", "lr='tune', steps=, start= and noise= on a surface only "
                                         "(a network's run counts epochs)", run)
        if self.eval_batches is not None:
            _integer(self.eval_batches, "eval_batches", minimum=1)
        object.__setattr__(self, "data", as_data(self.data, self.eval_batches))
        if self.eval_batches is not None and not isinstance(self.data, LoaderData):
            raise SceneError("eval_batches", "a DataLoader as data (it bounds the batches evaluated)", self.eval_batches)
        if not callable(self.model):
            raise SceneError("model", "a function that returns a torch.nn.Module", self.model)
        paths = (self.paths,) if hasattr(self.paths, "to_trajectory") else tuple(self.paths)
        if not all(hasattr(p, "to_trajectory") for p in paths):
            raise SceneError("paths", "Trajectory objects (record(), Trajectory.load, Trajectory.from_checkpoints)",
                             self.paths)
        object.__setattr__(self, "paths", tuple(p.to_trajectory() for p in paths))
        runs = self.runs if self.runs is not None else (() if paths else (Run(),))
        runs = (runs,) if isinstance(runs, Run) else tuple(runs)
        if not all(isinstance(r, Run) for r in runs) or not (runs or paths):
            raise SceneError("runs", "one or more lossfilm Run objects (or paths=[...] from outside)", self.runs)
        object.__setattr__(self, "runs", runs)
        if not isinstance(self.plane, Plane):
            raise SceneError("plane", f"a plane: one of {plane_kinds()}", self.plane)
        if isinstance(self.plane, (ModelsPlane, Interpolation)):  # which paths it goes through: in the key
            object.__setattr__(self, "plane", self.plane.resolved([r.name for r in runs] + [p.label for p in paths]))
        if self.evaluate_on not in ("test", "train"):
            raise SceneError("evaluate_on", "'test' or 'train'", self.evaluate_on)
        if self.device not in DEVICES:
            raise SceneError("device", "'cpu', 'cuda' or 'auto'", self.device)
        if not isinstance(self.grid, Grid):
            raise SceneError("grid", "a lossfilm Grid", self.grid)
        from .losses import LOSSES

        if isinstance(self.loss, str) and self.loss not in LOSSES or not (isinstance(self.loss, str) or callable(self.loss)):
            raise SceneError("loss", "one of " + ", ".join(LOSSES) + ", or a callable (output, target) -> scalar",
                             self.loss)
        if self.init is not None:
            if not isinstance(self.init, Mapping):
                raise SceneError("init", "a dict of parameter name -> value", self.init)
            for k, v in self.init.items():
                _number(v, f"init[{k!r}]")
            object.__setattr__(self, "init", dict(sorted(self.init.items())))
        _integer(self.seed, "seed", minimum=0)
        object.__setattr__(self, "duration", _number(self.duration, "duration", positive=True))
        if self.fps is not None:
            _integer(self.fps, "fps", minimum=1)
        object.__setattr__(self, "memory_mb", _number(self.memory_mb, "memory_mb", positive=True))
        rows, cols = self.grid.shape()
        if rows * cols * GRID_BYTES_PER_POINT > self.memory_mb * 2**20:
            raise SceneError("grid", f"at most {int(self.memory_mb * 2**20 // GRID_BYTES_PER_POINT)} points for "
                                     f"memory_mb={self.memory_mb:g} (a larger step, or raise memory_mb)", rows * cols)
        if self.evolve is not None:
            self._check_evolve()

    def _check_evolve(self) -> None:
        """An evolving film: a plane with fixed directions, and (for a run of this scene) a number of
        surfaces from 2 to the bound, told now rather than after training."""
        if not isinstance(self.evolve, Evolve):
            raise SceneError("evolve", "a lossfilm Evolve(every=...)", self.evolve)
        if isinstance(self.plane, ThroughModels):
            raise SceneError("evolve", "a plane with fixed directions (RandomPlane, PCAPlane, CustomPlane, "
                                       "HessianPlane, WeightsPlane)", type(self.plane).__name__)
        if self.evolve.refit and not isinstance(self.plane, (RandomPlane, PCAPlane, HessianPlane)):
            raise SceneError("evolve.refit", "a plane whose directions depend on the weights (RandomPlane, PCAPlane, "
                                             "HessianPlane)", type(self.plane).__name__)
        if not self.runs:  # a path from outside: its length is known once it is read
            return
        run = self.runs[0]
        data = self.data
        per_epoch = len(data.loader) if isinstance(data, LoaderData) else math.ceil(len(data.x_train) / run.batch_size)
        self.evolve.check(run.epochs * per_epoch, np.arange(1, run.epochs + 1) * per_epoch)

    def _check_surface(self) -> None:
        """A surface scene: a surface, its start and the runs; no data, model or plane."""
        if self.evolve is not None:
            raise SceneError("evolve", "a network's scene (a textbook surface does not change while a run learns)",
                             self.evolve)
        from .surfaces import Surface, get

        surface = get(self.surface) if isinstance(self.surface, str) else self.surface
        if not isinstance(surface, Surface):
            raise SceneError("surface", "a lossfilm surface (surfaces.rosenbrock(), surfaces.function(f, domain)) "
                                        "or a surface's name", self.surface)
        object.__setattr__(self, "surface", surface)
        for part in ("data", "model", "plane", "paths"):
            if getattr(self, part) not in (None, ()):
                raise SceneError(part, f"no {part} with a surface: the surface is the loss", type(getattr(self, part)).__name__)
        start = self.start if self.start is not None else surface.start
        if start is None and not all(isinstance(r, Run) and r.start is not None for r in (self.runs or ())):
            raise SceneError("start", "an (x, y) start for the runs (Scene(start=...), Run(start=...))", None)
        if start is not None:
            object.__setattr__(self, "start", surface.check_start(start, "start"))
        runs = self.runs if self.runs is not None else (Run(),)
        runs = (runs,) if isinstance(runs, Run) else tuple(runs)
        if not runs or not all(isinstance(r, Run) for r in runs):
            raise SceneError("runs", "one or more lossfilm Run objects", self.runs)
        for k, run in enumerate(runs):
            if run.start is not None:
                object.__setattr__(run, "start", surface.check_start(run.start, f"runs[{k}].start"))
            if run.scheduler_every == "epoch" and run.scheduler is not None:
                raise SceneError(f"runs[{k}].scheduler_every", "'step' on a surface (there are no epochs)", "epoch")
        object.__setattr__(self, "runs", runs)
        _integer(self.seed, "seed", minimum=0)
        object.__setattr__(self, "duration", _number(self.duration, "duration", positive=True))
        if self.fps is not None:
            _integer(self.fps, "fps", minimum=1)
        object.__setattr__(self, "memory_mb", _number(self.memory_mb, "memory_mb", positive=True))
        if self.device not in DEVICES:
            raise SceneError("device", "'cpu', 'cuda' or 'auto'", self.device)

    def seed_of(self, run: Run) -> int:
        """The seed a run draws from: its own (Run(seed=)), else the scene's."""
        return self.seed if run.seed is None else run.seed

    def start_of(self, run: Run) -> tuple[float, float]:
        """Where a run on the surface starts: its own start, else the scene's, else the surface's."""
        return run.start if run.start is not None else self.start

    @property
    def is_surface(self) -> bool:
        return self.surface is not None
