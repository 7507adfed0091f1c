"""Frame index -> what the frame shows: camera, how far each path has grown, overlay text.

Pure functions of numbers; no pixels. The painter only follows the plan.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .landscape import Landscape
from .scene.view import Camera, Move, Style

# The paths grow over this share of the clip; the rest holds the finished picture while the camera turns.
GROW_SHARE = 0.85


@dataclass
class FramePlan:
    """One entry per frame, as arrays of length ``frames`` (``text`` is a list)."""

    azimuth: np.ndarray  # degrees
    elevation: np.ndarray  # degrees
    zoom: np.ndarray
    focus: np.ndarray  # 0: the box centred in the frame, 1: the first run's end point centred
    steps: np.ndarray  # (frames, runs): trace index shown for each run
    text: list[str]
    labels: list[str]  # per run: its legend entry (not part of the numbers: a new label is a cache hit)
    colors: list[str]  # per run: its colour
    loss_label: str = "loss"  # how the loss is named on screen: "test MSE", "training cross-entropy"
    # An evolving film: which surface each frame shows, as a fraction k + u (u of the way from surface k
    # to k + 1), on the first path's clock; None for a still landscape.
    surface_at: np.ndarray | None = None
    # Where the focus is, per frame: (frames, 2) points (alpha, beta; NaN beta: the map's middle line),
    # NaN rows for the first run's end point (the default); None when no move says ``along``.
    focus_point: np.ndarray | None = None
    # A storyboard (Scene(story=...)): its beats, cards, callouts and chapters (storyboard.StoryPlan), and
    # per frame and run whether the path shows; None for a film without one.
    story: object = None
    shown: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.azimuth)


def _ease(u: np.ndarray, kind: str) -> np.ndarray:
    return u if kind == "linear" else 0.5 - 0.5 * np.cos(np.pi * u)


def camera_path(camera: Camera, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Azimuth, elevation, zoom and focus (0: the box centred, 1: the end point centred) per frame.

    Without moves: a steady orbit of ``turns`` over the clip, ending where a loop would restart. With
    moves: each segment takes its share of the clip (its seconds over their sum) and eases from where
    the last one ended; the last frame shows the end of the last move.
    """
    if not camera.moves:
        t = np.arange(frames) / max(frames, 1)
        return (camera.azimuth + 360.0 * camera.turns * t, np.full(frames, camera.elevation),
                np.full(frames, camera.zoom), np.zeros(frames))
    t = np.arange(frames) / max(frames - 1, 1)
    bounds = np.concatenate([[0.0], np.cumsum([m.seconds for m in camera.moves])])
    bounds /= bounds[-1]
    azimuth, elevation, zoom, focus = (np.empty(frames) for _ in range(4))
    view = camera.azimuth, camera.elevation, camera.zoom, 0.0
    for k, move in enumerate(camera.moves):
        a, b = bounds[k], bounds[k + 1]
        inside = (t >= a) & ((t < b) | (k == len(camera.moves) - 1))
        u = _ease(np.clip((t[inside] - a) / (b - a), 0, 1), move.ease)
        (azimuth[inside], elevation[inside], zoom[inside], focus[inside]), view = _moved(view, move, u)
    return azimuth, elevation, zoom, focus


def _moved(view: tuple, move: Move, u: np.ndarray) -> tuple[tuple, tuple]:
    """Where ``move`` takes the view (azimuth, elevation, zoom, focus) at eased progress ``u``: the four
    values per frame, and the view it ends at."""
    az0, el0, zo0, fo0 = view
    el1 = el0 if move.elevation is None else move.elevation
    zo1 = zo0 if move.zoom is None else move.zoom
    fo1 = fo0 if move.focus is None else float(move.focus)
    values = (az0 + 360.0 * move.turns * u, el0 + (el1 - el0) * u, zo0 + (zo1 - zo0) * u, fo0 + (fo1 - fo0) * u)
    return values, (az0 + 360.0 * move.turns, el1, zo1, fo1)


def story_camera(story, camera: Camera, bounds: np.ndarray) -> tuple[np.ndarray, ...]:
    """A storyboard's azimuth, elevation, zoom and focus per frame (``bounds``: each beat's first frame,
    then the frame count): each beat's move over its first frames (its seconds of the beat's), the view
    held for the rest of the beat and through beats without one."""
    frames = int(bounds[-1])
    azimuth, elevation, zoom, focus = (np.empty(frames) for _ in range(4))
    view = camera.azimuth, camera.elevation, camera.zoom, 0.0
    for k, beat in enumerate(story):
        f0, f1 = int(bounds[k]), int(bounds[k + 1])
        n = f1 - f0
        if beat.camera is None or n == 0:
            azimuth[f0:f1], elevation[f0:f1], zoom[f0:f1], focus[f0:f1] = view
            continue
        moving = max(1, int(round(n * beat.camera.seconds / beat.seconds)))
        u = _ease(np.minimum(1.0, (np.arange(n) + 1) / moving), beat.camera.ease)
        (azimuth[f0:f1], elevation[f0:f1], zoom[f0:f1], focus[f0:f1]), view = _moved(view, beat.camera, u)
    return azimuth, elevation, zoom, focus


def focus_points(camera: Camera, frames: int) -> np.ndarray | None:
    """The focus point of each frame (see FramePlan.focus_point), eased along each move's ``along`` on the
    moves' own shares of the clip; None when no move has one."""
    if not any(m.along is not None for m in camera.moves):
        return None
    t = np.arange(frames) / max(frames - 1, 1)
    bounds = np.concatenate([[0.0], np.cumsum([m.seconds for m in camera.moves])])
    bounds /= bounds[-1]
    points = np.full((frames, 2), np.nan)
    last = None
    for k, move in enumerate(camera.moves):
        a, b = bounds[k], bounds[k + 1]
        inside = (t >= a) & ((t < b) | (k == len(camera.moves) - 1))
        if move.along is not None:
            u = _ease(np.clip((t[inside] - a) / (b - a), 0, 1), move.ease)[:, None]
            p0 = np.array([v if v is not None else np.nan for v in move.along[0]], float)
            p1 = np.array([v if v is not None else np.nan for v in move.along[1]], float)
            points[inside] = p0 + u * (p1 - p0)
            last = p1
        elif last is not None:  # after a flight the focus stays where it arrived
            points[inside] = last
    return points


def path_steps(step_counts: list[int], frames: int, grow_share: float = GROW_SHARE) -> np.ndarray:
    """Trace index per frame and run. All runs advance on one step clock, so a race stays fair:
    a run with fewer steps stops early and waits at its end."""
    longest = max(step_counts)
    grow_frames = max(1, int(round(frames * grow_share)) - 1)
    clock = np.minimum(np.arange(frames) / grow_frames, 1.0)
    global_step = np.round(clock * longest).astype(np.int64)
    return np.minimum(global_step[:, None], np.asarray(step_counts)[None, :])


def loss_text(trace, step: int) -> str:
    """A run's loss at a step as the viewer reads it: "diverged" once a run that diverged has reached
    its last finite point (whose loss is already astronomically large), or for a value that is not finite."""
    value = float(trace.loss[step])
    if not np.isfinite(value) or (trace.diverged_at >= 0 and step >= trace.steps):
        return "diverged"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"


def metric_text(name: str, value: float) -> str:
    """A metric beside the loss as the HUD tells it: "accuracy 93.1%", "cross-entropy 0.532"."""
    name = HUMAN_LOSSES.get(name, name)
    if not np.isfinite(value):
        return f"{name} –"
    if name.endswith(" %"):
        return f"{name[:-2]} {value:.1f}%"
    return f"{name} {value:.4g}"


def height_text(name: str, trace, step: int) -> str:
    """The height at a step with its name: "test MSE 0.0123", or a metric's "test accuracy 93.1%"."""
    if name.endswith(" %"):
        return metric_text(name, float(trace.loss[step]))
    return f"{name} {loss_text(trace, step)}"


def overlay_text(landscape: Landscape, steps: np.ndarray, loss_label: str | None = None, short: bool = False,
                 with_loss: bool = True) -> list[str]:
    """Epoch and step on the clock of the longest run, and the loss when there is one run. A path from
    outside tells its own step numbers (checkpoints every N steps) and shows no epoch when it has none.
    ``short``: a small frame's one line, the step and "loss" (``with_loss=False``: the step alone)."""
    lead = max(landscape.traces, key=lambda t: t.steps)
    per_epoch = lead.epoch_ends[0] if len(lead.epoch_ends) else max(lead.steps, 1)
    total_epochs = landscape.epochs
    # A small frame's line says "loss", or the metric that is the height ("accuracy 93.1%", not "loss 93.1").
    short_name = landscape.loss_name if landscape.loss_name.endswith(" %") else "loss"
    sep, name = ("  ", short_name) if short else ("   ", loss_label or landscape.loss_name)
    lines = []
    for row in steps:
        s = int(row.max())
        step = f"step {lead.step_at(s)}/{lead.step_at(lead.steps)}"
        if total_epochs and not short:
            epoch = min(s / max(per_epoch, 1), total_epochs)
            head = f"epoch {epoch:5.2f}/{total_epochs}   {step}"
        else:
            head = step
        if len(landscape.traces) == 1 and with_loss:
            extra = "".join(f"{sep}{metric_text(k, v[s])}" for k, v in lead.metrics.items()) if not short else ""
            lines.append(f"{head}{sep}{height_text(name, lead, s)}{extra}")
        else:
            lines.append(head)
    return lines


def run_looks(scene) -> tuple[list[str], list[str]]:
    """Each path's label and colour (the scene's runs, then its paths from outside): its own colour,
    else the style's colours in turn."""
    colors = scene.style.path_colors
    paths = [(r.name, r.color) for r in scene.runs] + [(p.label, p.color) for p in scene.paths]
    return [label for label, _ in paths], [c or colors[i % len(colors)] for i, (_, c) in enumerate(paths)]


HUMAN_LOSSES = {"mse": "MSE", "as_published": "MSE as published", "cross_entropy": "cross-entropy"}


def loss_label(scene) -> str:
    """The height as a viewer reads it: the style's ``loss_label``, else e.g. "test MSE" or "training
    cross-entropy" (the split it is evaluated on, then the loss's human name), or with ``metric=`` the
    metric's ("test accuracy %")."""
    if scene.style.loss_label:
        return scene.style.loss_label
    if scene.surface is not None:
        return "f(x, y)"
    from .scene.losses import display_name

    name = HUMAN_LOSSES.get(scene.loss, None) if isinstance(scene.loss, str) else None
    name = name or display_name(scene.loss)
    if getattr(scene, "metric", None) is not None:
        from .scene.metrics import get

        name = get(scene.metric).name
    if type(scene.data).__name__ == "LoaderData":
        return name
    if getattr(scene.data, "one_split", False):  # one set trains and evaluates: it is the training loss
        return f"training {name}"
    return f"{'test' if scene.evaluate_on == 'test' else 'training'} {name}"


def plan(landscape: Landscape, camera: Camera, frames: int, labels: list[str] | None = None,
         colors: list[str] | None = None, loss_name: str | None = None, story=None,
         names: list[str] | None = None) -> FramePlan:
    """The frame plan; ``labels`` and ``colors`` per run default to the default Style's, ``loss_name``
    (what the screen calls the loss) to the landscape's own name for it. ``story``: the scene's beats
    (storyboard), which then move the camera and grow the paths instead of the one clock; ``names``: the
    runs' labels as the story names them (before a tuned run's label tells its lr), default ``labels``."""
    n = len(landscape.traces)
    default = Style().path_colors
    labels = list(labels) if labels is not None else [f"run {k + 1}" for k in range(n)]
    colors = list(colors) if colors is not None else [default[k % len(default)] for k in range(n)]
    name = loss_name or landscape.loss_name
    if story:
        from .storyboard import beat_bounds, story_plan, story_shown, story_steps

        bounds = beat_bounds(story, frames)
        azimuth, elevation, zoom, focus = story_camera(story, camera, bounds)
        steps = story_steps(story, landscape, bounds)
        return FramePlan(azimuth, elevation, zoom, focus, steps, overlay_text(landscape, steps, name), labels,
                         colors, name, surface_clock(landscape, steps), None,
                         story_plan(story, landscape, names or labels, steps, bounds),
                         story_shown(story, names or labels, bounds))
    azimuth, elevation, zoom, focus = camera_path(camera, frames)
    steps = path_steps([t.steps for t in landscape.traces], frames)
    return FramePlan(azimuth, elevation, zoom, focus, steps, overlay_text(landscape, steps, name), labels, colors,
                     name, surface_clock(landscape, steps), focus_points(camera, frames))


def surface_clock(landscape: Landscape, steps: np.ndarray) -> np.ndarray | None:
    """Per frame, the surface an evolving film shows (k + u, see FramePlan.surface_at): it follows the
    first path, reaching surface k as the path reaches moment k."""
    if landscape.surfaces is None:
        return None
    marks = np.asarray(landscape.surface_steps, np.float64)
    return np.interp(steps[:, 0].astype(np.float64), marks, np.arange(len(marks), dtype=np.float64))
