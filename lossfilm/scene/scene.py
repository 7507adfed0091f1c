"""What is shown: a Scene and its parts, as frozen dataclasses validated at construction.

A scene never trains or draws. Every check raises :class:`SceneError` naming the field
and what was expected, so the command line can print one clear line and exit 2.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import SceneError
from .checks import _integer, _number
from .data import LoaderData, as_data
from .runs import Run, TUNE
from .planes import Grid, Plane, ThroughModels, plane_kinds
from .view import Camera, Style


DEVICES = ("cpu", "cuda", "auto")  # where the grid is evaluated: "auto" takes a GPU when torch sees one

MAX_NAME = 120
# What one grid point holds through a render: its loss, its coordinates, its decimated and coloured copies.
GRID_BYTES_PER_POINT = 64


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


MAX_MOMENTS = 200  # Sharpness: moments per run at most (each costs steps + probes Hessian-vector products)


@dataclass(frozen=True)
class Sharpness:
    """The loss's curvature along training: at moments of each path (``every`` N steps as the HUD counts
    them, or ``every="epoch"``; the start and the end always), the top ``k`` Hessian eigenvalues on the
    evaluation data by Lanczos (``steps`` Hessian-vector products), and with ``trace=True`` Hutchinson's
    estimate of the Hessian's trace from ``probes`` seeded Rademacher vectors, with its standard error."""

    every: int | str = "epoch"
    k: int = 1
    trace: bool = False
    steps: int = 20
    probes: int = 32
    seed: int = 0
    max_moments: int = MAX_MOMENTS

    def __post_init__(self) -> None:
        if self.every != "epoch":
            _integer(self.every, "track.every", minimum=1)
        _integer(self.k, "track.k", minimum=1)
        if self.k > 10:
            raise SceneError("track.k", "at most 10 eigenvalues", self.k)
        if not isinstance(self.trace, bool):
            raise SceneError("track.trace", "True or False", self.trace)
        _integer(self.steps, "track.steps", minimum=self.k)
        _integer(self.probes, "track.probes", minimum=2)
        _integer(self.seed, "track.seed", minimum=0)
        _integer(self.max_moments, "track.max_moments", minimum=2)

    def moments(self, steps, epoch_ends) -> np.ndarray:
        """Trace indices of the moments: the start, each epoch's end (or the first index at or past each
        multiple of ``every`` in ``steps``, the step numbers shown), the end."""
        steps = np.asarray(steps, np.int64)
        last = len(steps) - 1
        if self.every == "epoch":
            marks = np.asarray(epoch_ends, np.int64)
        else:
            block = steps // int(self.every)
            marks = np.nonzero(np.diff(block) > 0)[0] + 1
        return np.unique(np.concatenate([[0], marks[(marks >= 0) & (marks <= last)], [last]]))

    @property
    def columns(self) -> list[str]:
        """What each row of a run's sharpness holds."""
        return ["step"] + [f"lambda{j + 1}" for j in range(self.k)] + (["trace", "trace_se"] if self.trace else [])


@dataclass(frozen=True)
class Scene:
    """Everything that makes one film. ``model`` is a zero-argument factory returning an nn.Module."""

    # How the numbers are seen, not what they are: the cache key leaves these out. ``device`` too: a GPU
    # and the CPU give the same numbers up to float rounding.
    NOT_NUMBERS = ("name", "camera", "style", "duration", "fps", "device", "story")

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
    track: Sharpness | None = None  # the curvature along each run (Sharpness(every=..., k=..., trace=...))
    # Beside the loss, or as the height: "accuracy", "error" or a callable (output, target) -> scalar,
    # averaged over the evaluation rows like the loss, in the same pass (scene.metrics).
    metric: Any = None
    metrics: tuple = ()
    # A lecture's storyboard: the film as Beat(...)s in order (scene.story); the film lasts their seconds.
    story: tuple | None = None

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
        if isinstance(self.plane, ThroughModels):  # which paths it goes through: in the key
            object.__setattr__(self, "plane", self.plane.resolved([r.name for r in runs] + [p.label for p in paths]))
        if self.evaluate_on not in ("test", "train"):
            raise SceneError("evaluate_on", "'test' or 'train'", self.evaluate_on)
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
        self._check_common()
        rows, cols = self.grid.shape()
        if rows * cols * GRID_BYTES_PER_POINT > self.memory_mb * 2**20:
            raise SceneError("grid", f"at most {int(self.memory_mb * 2**20 // GRID_BYTES_PER_POINT)} points for "
                                     f"memory_mb={self.memory_mb:g} (a larger step, or raise memory_mb)", rows * cols)
        if self.evolve is not None:
            self._check_evolve()
        if self.track is not None:
            self._check_track()
        self._check_metrics()

    def _check_metrics(self) -> None:
        """metric= (the height) and metrics= (beside the loss): known names or callables; the height on a
        plane (an Interpolation's line reports metrics= beside its loss), neither on an evolving film."""
        from .metrics import check

        if self.metric is not None:
            check(self.metric, "metric")
        if isinstance(self.metrics, str) or callable(self.metrics):
            object.__setattr__(self, "metrics", (self.metrics,))
        if not isinstance(self.metrics, (list, tuple)):
            raise SceneError("metrics", "a list of metrics (names or callables)", self.metrics)
        object.__setattr__(self, "metrics", tuple(self.metrics))
        for k, m in enumerate(self.metrics):
            check(m, f"metrics[{k}]")
        if self.metric is not None and self.plane.line:
            raise SceneError("metric", "a plane scene (an Interpolation's line shows the loss; metrics= beside it "
                                       "reports each metric's barrier)", type(self.plane).__name__)
        if (self.metric is not None or self.metrics) and self.evolve is not None:
            raise SceneError("metric" if self.metric is not None else "metrics", "a scene without evolve= (an "
                             "evolving film shows the loss only)", self.evolve)

    def _check_track(self) -> None:
        """Sharpness along training: a network's runs, with a number of moments up to the bound, told
        before training."""
        if not isinstance(self.track, Sharpness):
            raise SceneError("track", "a lossfilm Sharpness(every=..., k=..., trace=...)", self.track)
        for k, run in enumerate(self.runs):
            per_epoch = self.steps_per_epoch(run)
            total = run.epochs * per_epoch
            moments = self.track.moments(np.arange(total + 1), np.arange(1, run.epochs + 1) * per_epoch)
            if len(moments) > self.track.max_moments:
                raise SceneError("track.every", f"at most {self.track.max_moments} moments per run (track.max_moments;"
                                                " a larger every=)", f"{self.track.every!r} gives {len(moments)} "
                                                                     f"over run {k}'s {total} steps")

    def _check_evolve(self) -> None:
        """An evolving film: a plane with fixed directions, and (for a run of this scene) a number of
        surfaces from 2 to the bound, told now rather than after training."""
        if not isinstance(self.evolve, Evolve):
            raise SceneError("evolve", "a lossfilm Evolve(every=...)", self.evolve)
        if self.plane.moves_with_models:
            raise SceneError("evolve", f"a plane with fixed directions "
                                       f"({plane_kinds(lambda kind: not kind.moves_with_models)})",
                             type(self.plane).__name__)
        if self.evolve.refit and not self.plane.refittable:
            raise SceneError("evolve.refit", f"a plane whose directions depend on the weights "
                                             f"({plane_kinds(lambda kind: kind.refittable)})", type(self.plane).__name__)
        if not self.runs:  # a path from outside: its length is known once it is read
            return
        run = self.runs[0]
        per_epoch = self.steps_per_epoch(run)
        self.evolve.check(run.epochs * per_epoch, np.arange(1, run.epochs + 1) * per_epoch)

    def _check_surface(self) -> None:
        """A surface scene: a surface, its start and the runs; no data, model or plane."""
        if self.evolve is not None:
            raise SceneError("evolve", "a network's scene (a textbook surface does not change while a run learns)",
                             self.evolve)
        if self.track is not None:
            raise SceneError("track", "a network's scene (on a textbook surface the Hessian is exact and 2x2: "
                                      "Style(gradient_arrows=True) shows the descent direction)", self.track)
        if self.metric is not None or self.metrics:
            raise SceneError("metric" if self.metric is not None else "metrics",
                             "a network's scene (a textbook surface's height is f itself)", self.metric or self.metrics)
        from ..surfaces import Surface, get

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
        self._check_common()

    def _check_common(self) -> None:
        """What every scene has, a network's or a surface's: each checked here, once."""
        _integer(self.seed, "seed", minimum=0)
        object.__setattr__(self, "duration", _number(self.duration, "duration", positive=True))
        if self.fps is not None:
            _integer(self.fps, "fps", minimum=1)
        object.__setattr__(self, "memory_mb", _number(self.memory_mb, "memory_mb", positive=True))
        if self.device not in DEVICES:
            raise SceneError("device", "'cpu', 'cuda' or 'auto'", self.device)
        if self.story is not None:
            self._check_story()

    def _check_story(self) -> None:
        """A storyboard: its beats checked against the runs before any training; the film is as long as
        its beats, and each beat moves the camera (the scene's camera gives only where it starts)."""
        from .story import Beat, check_story

        story = (self.story,) if isinstance(self.story, Beat) else self.story
        if not isinstance(story, (list, tuple)):
            raise SceneError("story", "a list of Beat(seconds, ...)", story)
        object.__setattr__(self, "story", tuple(story))
        if self.camera.moves:
            raise SceneError("camera.moves", "no moves with a story (each beat's camera= moves it; the scene's "
                                             "camera gives where it starts)", len(self.camera.moves))
        check_story(self)
        object.__setattr__(self, "duration", float(sum(beat.seconds for beat in self.story)))

    def steps_per_epoch(self, run: Run) -> int:
        """A network run's optimizer steps per epoch: the DataLoader's batches, or the training rows in
        batches of the run's size."""
        if isinstance(self.data, LoaderData):
            return len(self.data.loader)
        return math.ceil(len(self.data.x_train) / run.batch_size)

    @property
    def measures(self) -> list:
        """What the evaluator measures beside the loss, in its columns' order: metric= (the height), then
        metrics=."""
        return ([self.metric] if self.metric is not None else []) + list(self.metrics)

    def seed_of(self, run: Run) -> int:
        """The seed a run draws from: its own (Run(seed=)), else the scene's."""
        return self.seed if run.seed is None else run.seed

    def start_of(self, run: Run) -> tuple[float, float]:
        """Where a run on the surface starts: its own start, else the scene's, else the surface's."""
        return run.start if run.start is not None else self.start

    @property
    def is_surface(self) -> bool:
        return self.surface is not None
