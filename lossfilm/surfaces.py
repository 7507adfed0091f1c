"""Textbook surfaces: the functions lecturers race optimizers on, and any f(x, y) of your own.

``Scene(surface=surfaces.rosenbrock(), start=(-1.5, 2.0), runs=[...])`` films optimizers on an exact
two-parameter surface: the grid is f on the domain (no data, no model, no plane) and autograd gives the
gradients. Each function is written with torch operations, elementwise, so one call evaluates a whole
grid or a batch of points. Torch is imported only when a function is evaluated.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any, Callable

from .errors import SceneError, users_part


def _pair(value: Any, field_name: str) -> tuple[float, float]:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise SceneError(field_name, "an (x, y) pair of numbers", value)
    out = []
    for v in value:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            raise SceneError(field_name, "an (x, y) pair of finite numbers", value)
        out.append(float(v))
    return out[0], out[1]


@dataclass(frozen=True)
class Surface:
    """f(x, y) on ``domain`` ((x lo, x hi), (y lo, y hi)), with its known ``minima`` (drawn as stars) and
    a default ``start``. ``points`` per axis of the grid; ``grow=True`` widens the grid (keeping its
    spacing) to hold paths that leave the domain, as the network scenes do."""

    NOT_NUMBERS = ("label",)

    fn: Callable[[Any, Any], Any]
    domain: tuple[tuple[float, float], tuple[float, float]]
    minima: tuple[tuple[float, float], ...] = ()
    start: tuple[float, float] | None = None
    label: str = "f(x, y)"
    points: int = 160
    grow: bool = False
    max_grow: float = 1.0

    def __post_init__(self) -> None:
        if not callable(self.fn):
            raise SceneError("surface.fn", "a function f(x, y) written with torch operations", self.fn)
        if not isinstance(self.domain, (tuple, list)) or len(self.domain) != 2:
            raise SceneError("surface.domain", "((x lo, x hi), (y lo, y hi))", self.domain)
        domain = tuple(_pair(part, "surface.domain") for part in self.domain)
        for axis, (lo, hi) in zip("xy", domain):
            if lo >= hi:
                raise SceneError(f"surface.domain ({axis})", "lo < hi", (lo, hi))
        object.__setattr__(self, "domain", domain)
        object.__setattr__(self, "minima", tuple(_pair(m, "surface.minima") for m in (self.minima or ())))
        if self.start is not None:
            object.__setattr__(self, "start", self.check_start(self.start, "surface.start"))
        if isinstance(self.points, bool) or not isinstance(self.points, int) or not 8 <= self.points <= 2000:
            raise SceneError("surface.points", "a whole number of grid points per axis from 8 to 2000", self.points)
        if not isinstance(self.label, str) or not self.label:
            raise SceneError("surface.label", "a non-empty name", self.label)

    def check_start(self, start: Any, field_name: str) -> tuple[float, float]:
        """``start`` as a pair inside the domain, or a SceneError naming ``field_name``."""
        x, y = _pair(start, field_name)
        (x0, x1), (y0, y1) = self.domain
        if not (x0 <= x <= x1 and y0 <= y <= y1):
            raise SceneError(field_name, f"a point inside the domain x in [{x0:g}, {x1:g}], y in [{y0:g}, {y1:g}]",
                             (x, y))
        return x, y

    def __call__(self, x, y):
        # A function of the scene's own that raises on some point a run reaches is the scene's error.
        with users_part("surface.fn", "a function f(x, y) of torch tensors that works at every point the runs "
                                      "reach and over the whole domain"):
            return self.fn(x, y)


def function(f: Callable[[Any, Any], Any], domain, minima=None, start=None, label: str = "f(x, y)",
             points: int = 160, grow: bool = False) -> Surface:
    """Any f(x, y) written with torch operations (autograd gives the gradients) on ``domain``."""
    return Surface(f, domain, tuple(minima or ()), start, label, points, grow)


# The functions themselves: module-level, so the cache sees their code.

def _rosenbrock(x, y, a=1.0, b=100.0):
    return (a - x) ** 2 + b * (y - x ** 2) ** 2


def _beale(x, y):
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


def _himmelblau(x, y):
    return (x ** 2 + y - 11) ** 2 + (x + y ** 2 - 7) ** 2


def _rastrigin(x, y, a=10.0):
    import torch

    return 2 * a + x ** 2 - a * torch.cos(2 * math.pi * x) + y ** 2 - a * torch.cos(2 * math.pi * y)


def _ackley(x, y):
    import torch

    # The tiny offset keeps the gradient finite at the minimum, where sqrt's derivative is infinite.
    r = torch.sqrt(0.5 * (x ** 2 + y ** 2) + 1e-30)
    return (-20 * torch.exp(-0.2 * r) - torch.exp(0.5 * (torch.cos(2 * math.pi * x) + torch.cos(2 * math.pi * y)))
            + math.e + 20)


def _six_hump_camel(x, y):
    return (4 - 2.1 * x ** 2 + x ** 4 / 3) * x ** 2 + x * y + (-4 + 4 * y ** 2) * y ** 2


def _booth(x, y):
    return (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2


def _saddle(x, y):
    return x ** 2 - y ** 2


def _monkey_saddle(x, y):
    return x ** 3 - 3 * x * y ** 2


def rosenbrock(a: float = 1.0, b: float = 100.0, domain=((-2.0, 2.0), (-1.0, 3.0)), **kw) -> Surface:
    """Rosenbrock's banana valley: easy to find, slow to follow to the minimum at (a, a²)."""
    return Surface(functools.partial(_rosenbrock, a=a, b=b), domain, ((a, a * a),), kw.pop("start", (-1.5, 2.0)),
                   kw.pop("label", "Rosenbrock"), **kw)


def beale(domain=((-4.5, 4.5), (-4.5, 4.5)), **kw) -> Surface:
    """Beale's function: flat plateaus and steep ridges, minimum at (3, 0.5). Best seen in log z."""
    return Surface(_beale, domain, ((3.0, 0.5),), kw.pop("start", (1.0, 1.6)), kw.pop("label", "Beale"), **kw)


HIMMELBLAU_MINIMA = ((3.0, 2.0), (-2.805118, 3.131312), (-3.779310, -3.283186), (3.584428, -1.848126))


def himmelblau(domain=((-5.0, 5.0), (-5.0, 5.0)), **kw) -> Surface:
    """Himmelblau's function: four minima of equal depth (f = 0)."""
    return Surface(_himmelblau, domain, HIMMELBLAU_MINIMA, kw.pop("start", (0.0, 0.0)),
                   kw.pop("label", "Himmelblau"), **kw)


def rastrigin(a: float = 10.0, domain=((-5.12, 5.12), (-5.12, 5.12)), **kw) -> Surface:
    """Rastrigin's egg box: a bowl covered in local minima that trap plain gradient descent; (0, 0) is global."""
    return Surface(functools.partial(_rastrigin, a=a), domain, ((0.0, 0.0),), kw.pop("start", (-4.3, 4.1)),
                   kw.pop("label", "Rastrigin"), **kw)


def ackley(domain=((-5.0, 5.0), (-5.0, 5.0)), **kw) -> Surface:
    """Ackley's function: a nearly flat, rippled plain around one deep hole at (0, 0)."""
    return Surface(_ackley, domain, ((0.0, 0.0),), kw.pop("start", (-3.5, 3.0)), kw.pop("label", "Ackley"), **kw)


SIX_HUMP_MINIMA = ((0.0898, -0.7126), (-0.0898, 0.7126))


def six_hump_camel(domain=((-2.0, 2.0), (-1.2, 1.2)), **kw) -> Surface:
    """The six-hump camel: six local minima, two of them global (f = -1.0316)."""
    return Surface(_six_hump_camel, domain, SIX_HUMP_MINIMA, kw.pop("start", (-1.6, -0.9)),
                   kw.pop("label", "six-hump camel"), **kw)


def booth(domain=((-10.0, 10.0), (-10.0, 10.0)), **kw) -> Surface:
    """Booth's function: a tilted quadratic bowl, minimum at (1, 3)."""
    return Surface(_booth, domain, ((1.0, 3.0),), kw.pop("start", (-8.0, -6.0)), kw.pop("label", "Booth"), **kw)


def saddle(domain=((-2.0, 2.0), (-2.0, 2.0)), **kw) -> Surface:
    """x² − y²: a saddle point at (0, 0) and no minimum; a start just off the ridge shows who escapes."""
    return Surface(_saddle, domain, (), kw.pop("start", (-1.8, 0.02)), kw.pop("label", "saddle x² − y²"), **kw)


def monkey_saddle(domain=((-2.0, 2.0), (-2.0, 2.0)), **kw) -> Surface:
    """x³ − 3xy²: a monkey saddle (three ways down) at (0, 0), no minimum."""
    return Surface(_monkey_saddle, domain, (), kw.pop("start", (1.5, 0.05)), kw.pop("label", "monkey saddle"), **kw)


SURFACES: dict[str, Callable[..., Surface]] = {
    f.__name__: f for f in (rosenbrock, beale, himmelblau, rastrigin, ackley, six_hump_camel, booth, saddle,
                            monkey_saddle)
}


def get(name: str) -> Surface:
    """A built-in surface by name, e.g. ``Scene(surface="himmelblau")``."""
    if name not in SURFACES:
        raise SceneError("surface", "one of " + ", ".join(SURFACES) + ", or surfaces.function(f, domain)", name)
    return SURFACES[name]()


def __getattr__(name: str):
    # ``surfaces.rosenbrok()`` in a scene file: say what there is, not just AttributeError.
    raise AttributeError(f"lossfilm.surfaces has no surface {name!r}; there are: {', '.join(SURFACES)}, "
                         "and function(f, domain)")
