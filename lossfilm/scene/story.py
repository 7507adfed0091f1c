"""A lecture's storyboard: the film as beats in order, each with its own camera move, how far the paths
grow, which runs show, a title card and callouts that point at the surface. Nothing here changes a
number: a story is how a film is told (``__changes_no_numbers__``; the Scene leaves it out of the key).

A beat's ``grow_to`` and a callout's ``at`` are checked twice: what a Beat can know alone (types, mathtext,
positive seconds) when it is made, and what needs the scene (run labels, steps, the map) by
``check_story`` when the Scene is made, before any training. Where the map is only known once the paths
are (a grid that grows to fit them), ``points_on_map`` checks the points after compute, before painting.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..errors import SceneError
from .checks import _number, _text
from .view import Move

__changes_no_numbers__ = True

PATHS = ("shown", "hidden")
TITLE_SECONDS = 2.5  # a beat's title card shows for its first seconds (at most 80 % of the beat)
_AT_STEP = re.compile(r"^(?P<label>.+)@(?P<step>\d+)$")
_EPOCH = re.compile(r"^epoch\s+(?P<n>\d+)$")


@dataclass(frozen=True)
class Callout:
    """Text that points at the surface: ``at`` is a point (alpha, beta) of the plane (x, y on a textbook
    surface), a run's label (its head, moving with it), ``"LABEL@STEP"`` (where that run was at that
    step) or ``"minimum"`` (a surface's known minimum, else the grid's lowest point). ``arrow``: a leader
    line from the text to the point. ``seconds``: shown for the beat's first seconds (None: all of it)."""

    text: str
    at: Any = "minimum"
    arrow: bool = True
    seconds: float | None = None

    def __post_init__(self) -> None:
        if isinstance(self.at, list):
            object.__setattr__(self, "at", tuple(self.at))

    def check(self, where: str = "callout") -> None:
        """Raise SceneError naming ``where.text`` (``story[2].callouts[0].text``) for a value that is wrong
        alone; the Scene calls it with the callout's place in the story."""
        if not isinstance(self.text, str) or not self.text.strip():
            raise SceneError(f"{where}.text", "some text", self.text)
        _text(self.text, f"{where}.text")
        at = self.at
        if isinstance(at, tuple):
            if len(at) != 2:
                raise SceneError(f"{where}.at", "a point (alpha, beta), a run's label, 'LABEL@STEP' or 'minimum'", at)
            object.__setattr__(self, "at", tuple(_number(v, f"{where}.at") for v in at))
        elif not isinstance(at, str) or not at.strip():
            raise SceneError(f"{where}.at", "a point (alpha, beta), a run's label, 'LABEL@STEP' or 'minimum'", at)
        if not isinstance(self.arrow, bool):
            raise SceneError(f"{where}.arrow", "True or False", self.arrow)
        if self.seconds is not None:
            object.__setattr__(self, "seconds", _number(self.seconds, f"{where}.seconds", positive=True))

    def target(self) -> tuple[str, Any]:
        """What ``at`` names: ("point", (a, b)), ("minimum", None), ("run", label) or ("step", (label, step))."""
        if isinstance(self.at, tuple):
            return "point", self.at
        if self.at == "minimum":
            return "minimum", None
        m = _AT_STEP.match(self.at)
        if m:
            return "step", (m["label"], int(m["step"]))
        return "run", self.at


@dataclass(frozen=True)
class Beat:
    """One beat of a storyboard, ``seconds`` long. ``camera``: a Move over the beat (None holds the view;
    a shorter move holds for the rest). ``grow_to``: how far the paths grow during the beat (a step, "epoch
    N" or "end"); None holds them where they are. ``paths``: "shown", "hidden" or the labels of the runs
    shown. ``title``: a lower-third card for the beat's first seconds, and a chapter. ``note``: for the
    presenter (in ``--json``'s chapters and the lecture outputs), never on screen."""

    seconds: float
    title: str | None = None
    camera: Move | None = None
    grow_to: Any = None
    paths: Any = "shown"
    callouts: tuple = ()
    note: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.callouts, Callout):
            object.__setattr__(self, "callouts", (self.callouts,))
        elif isinstance(self.callouts, list):
            object.__setattr__(self, "callouts", tuple(self.callouts))
        if isinstance(self.paths, list):
            object.__setattr__(self, "paths", tuple(self.paths))

    def check(self, where: str = "beat") -> None:
        """Raise SceneError naming ``where.field`` (``story[2].grow_to``) for a value that is wrong alone;
        the Scene calls it with the beat's place in the story."""
        object.__setattr__(self, "seconds", _number(self.seconds, f"{where}.seconds", positive=True))
        _text(self.title, f"{where}.title")
        if self.note is not None and not isinstance(self.note, str):
            raise SceneError(f"{where}.note", "a string", self.note)
        if self.camera is not None:
            if not isinstance(self.camera, Move):
                raise SceneError(f"{where}.camera", "a Move(seconds, turns=, elevation=, zoom=, focus=)", self.camera)
            if self.camera.along is not None:
                raise SceneError(f"{where}.camera.along", "no along= in a beat (focus=True centres the first run's "
                                                          "end point)", self.camera.along)
            if self.camera.seconds > self.seconds + 1e-9:
                raise SceneError(f"{where}.camera.seconds", f"at most the beat's {self.seconds:g} s",
                                 self.camera.seconds)
        grow = self.grow_to
        if grow is not None and not (grow == "end" or isinstance(grow, str) and _EPOCH.match(grow.strip())):
            if isinstance(grow, str) or isinstance(grow, bool) or not isinstance(grow, int) or grow < 0:
                raise SceneError(f"{where}.grow_to", "a step (an integer >= 0), 'epoch N' or 'end'", grow)
        paths = self.paths
        if isinstance(paths, tuple):
            if not paths or not all(isinstance(p, str) for p in paths):
                raise SceneError(f"{where}.paths", "'shown', 'hidden' or a list of run labels", paths)
        elif paths not in PATHS:
            raise SceneError(f"{where}.paths", "'shown', 'hidden' or a list of run labels", paths)
        if not isinstance(self.callouts, tuple) or not all(isinstance(c, Callout) for c in self.callouts):
            raise SceneError(f"{where}.callouts", "a list of Callout(text, at=...)", self.callouts)
        for k, c in enumerate(self.callouts):
            c.check(f"{where}.callouts[{k}]")
            if c.seconds is not None and c.seconds > self.seconds + 1e-9:
                raise SceneError(f"{where}.callouts[{k}].seconds", f"at most the beat's {self.seconds:g} s",
                                 c.seconds)


def _steps_of(scene) -> list[tuple[str, int, list[int]]]:
    """Each path's (label, its last step as the viewer is told it, the step at each epoch's end), known
    before any training."""
    from .runs import SURFACE_STEPS

    labels = [r.name for r in scene.runs] + [p.label for p in scene.paths]  # as plan.run_looks names them
    out = []
    for label, run in zip(labels, scene.runs):
        if scene.is_surface:
            out.append((label, run.steps or SURFACE_STEPS, []))
            continue
        per_epoch = scene.steps_per_epoch(run)
        out.append((label, run.epochs * per_epoch, [per_epoch * (e + 1) for e in range(run.epochs)]))
    for label, path in zip(labels[len(scene.runs):], scene.paths):
        numbers = path.step_numbers
        last = int(numbers[-1]) if numbers is not None else path.steps
        ends = [int(numbers[e]) if numbers is not None else int(e) for e in path.epoch_ends]
        out.append((label, last, ends))
    return out


def epoch_step(text: str, ends: list[int], field_name: str) -> int:
    """The step at which epoch N (``"epoch N"``) ends: 0 for epoch 0."""
    n = int(_EPOCH.match(text.strip())["n"])
    if n == 0:
        return 0
    if n > len(ends):
        raise SceneError(field_name, f"an epoch from 0 to {len(ends)}", text)
    return ends[n - 1]


def on_map(point, bounds) -> bool:
    (a0, a1), (b0, b1) = bounds
    return a0 <= point[0] <= a1 and b0 <= point[1] <= b1


def check_story(scene) -> None:
    """A story against its scene, before any training: run labels known, steps within the runs', points on
    the map where the map is known now. Raises SceneError naming ``story[i]...``."""
    story = scene.story
    if not story:
        raise SceneError("story", "one or more Beat(seconds, ...)", story)
    paths = _steps_of(scene)
    by_label = {label: (last, ends) for label, last, ends in paths}
    lead_last = max(last for _, last, _ in paths)
    lead_ends = max((ends for _, _, ends in paths), key=len)
    bounds = map_bounds(scene)
    clock = 0
    for i, beat in enumerate(story):
        where = f"story[{i}]"
        if not isinstance(beat, Beat):
            raise SceneError(where, "a Beat(seconds, title=, camera=, grow_to=, paths=, callouts=)", beat)
        beat.check(where)
        if isinstance(beat.paths, tuple):
            for label in beat.paths:
                if label not in by_label:
                    raise SceneError(f"{where}.paths", "labels of the scene's runs: " + ", ".join(map(repr, by_label)),
                                     label)
        if beat.grow_to is not None:
            if beat.grow_to == "end":
                to = lead_last
            elif isinstance(beat.grow_to, str):
                to = epoch_step(beat.grow_to, lead_ends, f"{where}.grow_to")
            else:
                to = beat.grow_to
                if to > lead_last:
                    raise SceneError(f"{where}.grow_to", f"a step from 0 to the runs' last, {lead_last}", to)
            if to < clock:
                raise SceneError(f"{where}.grow_to", f"a step at or after where the paths are ({clock}): "
                                                     "paths grow forward", beat.grow_to)
            clock = to
        for k, callout in enumerate(beat.callouts):
            field_name = f"{where}.callouts[{k}].at"
            kind, what = callout.target()
            if kind == "run" and what not in by_label:
                raise SceneError(field_name, "a point (alpha, beta), 'minimum', or a run's label: "
                                 + ", ".join(map(repr, by_label)), callout.at)
            if kind == "step":
                label, step = what
                if label not in by_label:
                    raise SceneError(field_name, "'LABEL@STEP' with a run's label: " + ", ".join(map(repr, by_label)),
                                     callout.at)
                if step > by_label[label][0]:
                    raise SceneError(field_name, f"a step from 0 to {by_label[label][0]}, the last of {label!r}",
                                     callout.at)
            if kind == "point" and bounds is not None and not on_map(what, bounds):
                raise SceneError(field_name, f"a point on the map: alpha in [{bounds[0][0]:g}, {bounds[0][1]:g}], "
                                             f"beta in [{bounds[1][0]:g}, {bounds[1][1]:g}]", callout.at)


def map_bounds(scene):
    """((alpha lo, hi), (beta lo, hi)) of the map where it is known before any training (a fixed grid's),
    else None (a grid or a surface's domain that grows to fit the paths)."""
    if scene.is_surface or scene.grid.fit != "fixed":  # a surface's domain grows to hold its paths too
        return None
    return scene.grid.a, scene.grid.b


def points_on_map(scene, landscape) -> None:
    """After compute, before painting: every callout's point on the map as computed (a grown grid's)."""
    from ..errors import BadInput

    a, b = landscape.alphas, landscape.betas
    bounds = ((float(a[0]), float(a[-1])), (float(b[0]), float(b[-1])))
    for i, beat in enumerate(scene.story or ()):
        for k, callout in enumerate(beat.callouts):
            kind, what = callout.target()
            if kind == "point" and not on_map(what, bounds):
                raise BadInput(f"{scene.name}: story[{i}].callouts[{k}].at: expected a point on the map: alpha in "
                               f"[{bounds[0][0]:.3g}, {bounds[0][1]:.3g}], beta in [{bounds[1][0]:.3g}, "
                               f"{bounds[1][1]:.3g}], got {callout.at!r}")
