"""The slice of weight space: one frozen dataclass per plane kind, whose ``basis`` returns
(theta0, d1, d2, axis labels), and the Grid of (alpha, beta) it is sampled on.
"""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import SceneError
from .checks import _integer, _number, _text


class Plane:
    """A kind of plane through weight space, theta(alpha, beta) = theta0 + alpha*d1 + beta*d2. Each kind
    is one subclass (a frozen dataclass, validated at construction) whose ``basis(space, path,
    memory_mb)`` returns (theta0, d1, d2, axis labels) as float32 torch tensors of the model's parameter
    count; ``path`` is the first run's recorded parameters (steps x P). Nothing else names the kinds."""

    center = "final"
    own_grid = False  # True: the kind samples its own grid (Interpolation's t), not the scene's Grid
    # What the rest of lossfilm asks of a kind, instead of its name:
    line = False  # True: a 1-D view along a line (Interpolation), evaluated on both splits
    refittable = False  # True: its directions depend on the weights, so Evolve(refit=True) fits it anew
    refit_path_steps = 0  # a refit at step m looks at the path up to max(m, this) (a PCA needs a few points)
    moves_with_models = False  # True: it goes through runs' end points, so it cannot hold still (Evolve)

    def basis(self, space, path, memory_mb: float):
        raise NotImplementedError

    def check(self, space) -> None:
        """Bad input that needs the model (``space``: its parameters' names and shapes), raised as a
        SceneError in the preflight, before any scene is trained or any film written. Nothing by default."""

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

    def check(self, space) -> None:
        for part, ref in (("a", self.a), ("b", self.b)):
            if space.index(ref) is None:
                names = ", ".join(f"{n}{list(s)}" if s else n for n, s in zip(space.names, space.shapes))
                raise SceneError(f"plane.{part}", f"a scalar parameter or name[i] of the model ({names})", ref)

    def basis(self, space, path, memory_mb):
        import torch

        from ..compute.directions import center_of

        center = center_of(path, "final")
        self.check(space)
        ia, ib = space.index(self.a), space.index(self.b)
        d1, d2 = torch.zeros(space.size), torch.zeros(space.size)
        d1[ia] = d2[ib] = 1.0
        center[ia] = center[ib] = 0.0  # so that alpha and beta are the two weights themselves
        return center, d1, d2, self.axis_labels()


_PARAM_REF = re.compile(r"[A-Za-z0-9_.]+(\[\d+\])?")
_CENTERS = ("final", "start")


def _params(value: Any) -> None:
    """A plane's ``params=``: None (every parameter), a glob, a list of names or a predicate on a name."""
    if value is None or callable(value) or (isinstance(value, str) and value):
        return
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, str) for v in value):
        return
    raise SceneError("plane.params", "a glob such as 'blocks.3.*', a list of parameter names, or a function "
                                     "name -> bool", value)


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

    refittable = True
    seed: int = 0
    keep_biases: bool = False
    center: str = "final"
    labels: tuple[str, str] = ("α (random direction 1)", "β (random direction 2)")
    # Only these parameters move (a glob, names or a predicate), the others held at the centre: the
    # landscape of a layer. Every kind but WeightsPlane takes it.
    params: Any = None

    def __post_init__(self) -> None:
        _integer(self.seed, "plane.seed", minimum=0)
        _center(self.center)
        _params(self.params)

    def axis_labels(self) -> tuple[str, str]:
        return self.labels

    def basis(self, space, path, memory_mb):
        import torch

        from ..compute.directions import center_of, filter_normalized

        center = center_of(path, self.center)
        gen = torch.Generator().manual_seed(self.seed)
        d1, d2 = (filter_normalized(torch.randn(space.size, generator=gen), center, space, self.keep_biases)
                  for _ in range(2))
        return center, d1, d2, self.axis_labels()


@dataclass(frozen=True)
class PCAPlane(Plane):
    """The top two principal components of theta_t - theta_final over the first run's recorded path;
    each axis label shows the share of the path's variance it explains."""

    refittable = True
    refit_path_steps = 2
    center: str = "final"
    params: Any = None  # see RandomPlane: the principal directions of these parameters' path

    def __post_init__(self) -> None:
        _center(self.center)
        _params(self.params)

    def axis_labels(self) -> tuple[str, str]:
        return ("PC1", "PC2")

    def basis(self, space, path, memory_mb):
        from ..compute.directions import center_of, pca_directions

        if space.mask is None:
            d1, d2, explained = pca_directions(path, memory_mb)
        else:  # params=: the principal directions of the chosen parameters' own path
            import torch

            chosen = space.mask.numpy()
            s1, s2, explained = pca_directions(np.asarray(path)[:, chosen], memory_mb)
            d1, d2 = torch.zeros(space.size, dtype=s1.dtype), torch.zeros(space.size, dtype=s2.dtype)
            d1[space.mask], d2[space.mask] = s1, s2
        return center_of(path, self.center), d1, d2, (f"PC1 ({explained[0]:.1%})", f"PC2 ({explained[1]:.1%})")


@dataclass(frozen=True, eq=False)
class CustomPlane(Plane):
    """Two given directions: flat arrays of the model's parameter count, or dicts of parameter name ->
    array shaped like that parameter (missing names are zero)."""

    d1: Any
    d2: Any
    center: str = "final"
    labels: tuple[str, str] = ("α", "β")
    params: Any = None  # see RandomPlane: the directions' other parameters are set to zero

    def __post_init__(self) -> None:
        _params(self.params)
        for part in ("d1", "d2"):
            if not isinstance(getattr(self, part), (dict, np.ndarray, list, tuple)) and not hasattr(
                    getattr(self, part), "numpy"):
                raise SceneError(f"plane.{part}", "an array or a dict of parameter name -> array",
                                 type(getattr(self, part)).__name__)
        _center(self.center)

    def axis_labels(self) -> tuple[str, str]:
        return self.labels

    def check(self, space) -> None:
        from ..compute.directions import given_direction

        given_direction(self.d1, space, "plane.d1")
        given_direction(self.d2, space, "plane.d2")

    def basis(self, space, path, memory_mb):
        from ..compute.directions import center_of, given_direction

        return (center_of(path, self.center), given_direction(self.d1, space, "plane.d1"),
                given_direction(self.d2, space, "plane.d2"), self.axis_labels())

    def __repr__(self) -> str:  # part of the cache key: the directions' values, not their identity
        import hashlib

        h = hashlib.sha256()
        for d in (self.d1, self.d2):
            items = sorted(d.items()) if isinstance(d, dict) else [("", d)]
            for k, v in items:
                h.update(k.encode() + np.ascontiguousarray(np.asarray(v, dtype=np.float32)).tobytes())
        params = self.params
        if callable(params):  # its code, not its address
            params = getattr(params, "__code__", params)
            params = hashlib.sha256(getattr(params, "co_code", repr(params).encode())).hexdigest()[:16]
        return f"CustomPlane({h.hexdigest()[:16]}, center={self.center!r}, labels={self.labels!r}, params={params!r})"


_SUBSCRIPTS = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


@dataclass(frozen=True)
class HessianPlane(Plane):
    """The loss's sharpest directions at the centre: the Hessian's eigenvectors number ``k`` (1 = the
    largest eigenvalue), found by Lanczos over Hessian-vector products on the scene's evaluation data
    (lossfilm.compute.hessian; never the dense Hessian). Seeded; ``filter_normalize`` rescales them filter-wise
    like RandomPlane (then they show the sharp directions at the scale of the weights, no longer as unit
    eigenvectors). The axis labels carry the eigenvalues, and ``--json`` reports them."""

    refittable = True
    k: tuple[int, int] = (1, 2)
    seed: int = 0
    steps: int = 16  # Hessian-vector products, about 2.5 gradients each on the tiny CNN (bench_hessian)
    filter_normalize: bool = False
    keep_biases: bool = False
    center: str = "final"
    params: Any = None  # see RandomPlane: the Hessian of these parameters only (its block), at the centre

    needs_problem = True  # basis() is given the model, loss and data (compute.plane_basis)

    def __post_init__(self) -> None:
        _params(self.params)
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

        from ..compute.directions import center_of, filter_normalized
        from ..compute.hessian import top_directions

        moved = space.size if space.mask is None else int(space.mask.sum())
        if max(self.k) > moved:
            raise SceneError("plane.k", f"eigenvector numbers from 1 to the {moved} parameters the plane moves", self.k)
        center = center_of(path, self.center)
        values, vectors = top_directions(problem.model, space, problem.loss, problem.source, center, self.k,
                                         max(self.steps, max(self.k)), self.seed, space.mask)
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
    moves_with_models = True

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
        """This view with the indices of its paths among ``names`` (the runs', then the paths'). A label
        ``"init:LABEL"`` names that run's first point instead of its end (a run from its initialisation)."""
        found = []
        for part in self.PARTS:
            label = _of_run(getattr(self, part))
            hits = [i for i, n in enumerate(names) if n == label]
            if len(hits) != 1:
                why = "the label of exactly one" if hits else "the label of one"
                raise SceneError(f"plane.{part}", f"{why} of the scene's runs or paths ({', '.join(names)})", label)
            found.append(hits[0])
        return dataclasses.replace(self, indices=tuple(found))

    def ends(self, problem):
        """The named points, in PARTS order, as float64 tensors: each run's end, or its first point for
        ``"init:LABEL"``."""
        import torch

        return [torch.as_tensor(np.asarray((problem.starts if _of_run(getattr(self, part)) != getattr(self, part)
                                            else problem.ends)[i]), dtype=torch.float64)
                for part, i in zip(self.PARTS, self.indices)]

    def _apart(self, gap, scale, part: str, expected: str) -> None:
        """A SceneError naming ``part`` when ``gap`` (a vector) is nothing beside ``scale``."""
        if float(gap.norm()) <= 1e-6 * max(1.0, float(scale)):
            raise SceneError(f"plane.{part}", expected, getattr(self, part))


INIT = "init:"  # a view's label for a run's first point: Interpolation("init:SGD", "SGD")


def _of_run(label: str) -> str:
    """The run a view's label names: ``"init:SGD"`` names SGD's first point."""
    return label[len(INIT):] if isinstance(label, str) and label.startswith(INIT) else label


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
    params: Any = None  # see RandomPlane: b and c reached in these parameters only, the others at a's

    PARTS = ("a", "b", "c")

    def __post_init__(self) -> None:
        self._check_parts()
        _params(self.params)

    def axis_labels(self) -> tuple[str, str]:
        return self.labels

    def basis(self, space, path, memory_mb, problem=None):
        a, b, c = self.ends(problem)
        u, v = space.restrict(b - a), space.restrict(c - a)  # params=: only the chosen parameters move
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
    ``"barrier"``, both splits' in ``"barriers"``. Each run's path is projected onto the line (its t).
    ``Interpolation("init:A", "A")`` goes from run A's initial weights to its end (Goodfellow et al.'s test
    of a monotonic decrease)."""

    a: str
    b: str
    extend: float = 0.5
    points_per_unit: int = 60  # samples for t from 0 to 1; t = 0 and t = 1 are always samples
    indices: tuple[int, int] | None = None  # set by the Scene: which of its paths a and b are
    params: Any = None  # see RandomPlane: the line moves these parameters from a's to b's, the others at a's

    PARTS = ("a", "b")
    line = True
    own_grid = True  # the samples of t, not the scene's Grid

    def __post_init__(self) -> None:
        self._check_parts()
        _params(self.params)
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
        direction = space.restrict(b - a)  # params=: only the chosen parameters move, the rest stay at a's
        self._apart(direction, a.norm(), "b", "a model other than plane.a (the two end at the same weights)")
        # The line's direction is b - a itself (not a unit vector): alpha is t. beta names the split.
        return a.float(), direction.float(), torch.zeros(space.size), self.axis_labels(), {}


def plane_kinds(which=lambda kind: True) -> str:
    """The plane kinds there are, for messages: every concrete (dataclass) subclass of Plane, at any depth,
    for which ``which(kind)`` holds (a property of the kind, never its name)."""
    kinds, todo = [], list(Plane.__subclasses__())
    while todo:
        kind = todo.pop(0)
        todo += kind.__subclasses__()
        if dataclasses.is_dataclass(kind) and which(kind):
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
