"""A comparison: several scenes filmed side by side on one clock, as one film.

Each panel is its own scene (its numbers cached as that scene's), painted by its own painter at the
panel's size exactly as if it were rendered alone at that size, then placed on the frame with a caption
under it. With ``shared_z`` every panel's heights and colours span one z range, the union of theirs, so
that a higher surface is a higher loss. Nothing here imports torch or matplotlib.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

from ..errors import BadInput, SceneError
from .scene import MAX_NAME, Scene

LAYOUTS = ("row", "grid")
CAPTION_POINTS = 10  # at the whole frame's dpi
CAPTION_LINES = 2.2  # the caption band's height, in caption font sizes
GAP = 0.01  # between panels, as a share of the frame's width


@dataclass(frozen=True)
class Compare:
    """``Compare([scene_a, scene_b, ...], layout="row"|"grid", shared_z=True)``: one film of the scenes
    side by side. ``captions`` (one per scene) go under the panels; by default each scene's title, else
    its name. ``name`` names the film's files (default: the scenes' names joined by "_vs_")."""

    scenes: tuple
    layout: str = "row"
    shared_z: bool = True
    captions: tuple[str, ...] | None = None
    name: str | None = None

    def __post_init__(self) -> None:
        scenes = (self.scenes,) if isinstance(self.scenes, Scene) else tuple(self.scenes or ())
        if len(scenes) < 2 or not all(isinstance(s, Scene) for s in scenes):
            raise SceneError("scenes", "two or more Scene objects to compare", self.scenes)
        object.__setattr__(self, "scenes", scenes)
        if self.layout not in LAYOUTS:
            raise SceneError("layout", "'row' or 'grid'", self.layout)
        if not isinstance(self.shared_z, bool):
            raise SceneError("shared_z", "True or False", self.shared_z)
        names = [s.name for s in scenes]
        twice = next((n for n in names if names.count(n) > 1), None)
        if twice is not None:
            raise SceneError("scenes", "scenes with names of their own (each panel is cached as its scene)", twice)
        first = scenes[0]
        for k, s in enumerate(scenes[1:], 1):  # one camera clock: the same frames at the same times
            if s.duration != first.duration:
                raise SceneError(f"scenes[{k}].duration", f"{first.duration:g} s, the duration of scenes[0] "
                                 f"({first.name!r}): the panels share one clock", s.duration)
            if s.fps != first.fps:
                raise SceneError(f"scenes[{k}].fps", f"{first.fps}, the fps of scenes[0] ({first.name!r}): the "
                                 "panels share one clock", s.fps)
            if self.shared_z and s.style.zscale != first.style.zscale:
                raise SceneError(f"scenes[{k}].style.zscale", f"{first.style.zscale!r} as scenes[0]'s, for a shared "
                                 "z range (or shared_z=False)", s.style.zscale)
        if self.captions is None:
            captions = tuple(s.style.title if s.style.title else s.name for s in scenes)
        else:
            captions = (self.captions,) if isinstance(self.captions, str) else tuple(self.captions)
            if len(captions) != len(scenes) or not all(isinstance(c, str) for c in captions):
                raise SceneError("captions", f"{len(scenes)} strings, one per scene", self.captions)
        object.__setattr__(self, "captions", captions)
        name = self.name if self.name is not None else "_vs_".join(names)[:MAX_NAME]
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", name) or len(name) > MAX_NAME:
            raise SceneError("name", f"a file-name-safe name (letters, digits, _ . -) of at most {MAX_NAME} "
                                     "characters", name)
        object.__setattr__(self, "name", name)

    # What the settings read of a scene: one clock for all panels.
    @property
    def duration(self) -> float:
        return self.scenes[0].duration

    @property
    def fps(self) -> int | None:
        return self.scenes[0].fps

    @property
    def style(self):
        return self.scenes[0].style

    def grid_shape(self, width: int | None = None, height: int | None = None) -> tuple[int, int]:
        """(rows, columns) of panels: one row for "row"; for "grid" on a frame of the given size, the
        columns that give the largest panels (their shorter side), so that a tall frame stacks them and
        a wide one sets them side by side; without a size, a near-square grid."""
        n = len(self.scenes)
        if self.layout == "row":
            return 1, n
        if width is None or height is None:
            cols = math.ceil(math.sqrt(n))
            return math.ceil(n / cols), cols

        def shorter_side(cols: int) -> float:
            rows = math.ceil(n / cols)
            return min(width / cols, height / rows - CAPTION_LINES * CAPTION_POINTS * 1.5)

        cols = max(range(1, n + 1), key=lambda c: (shorter_side(c), -abs(c - math.sqrt(n))))
        return math.ceil(n / cols), cols


@dataclass(frozen=True)
class Panels:
    """Where the panels go on a frame: each panel's pixel box (left, top) of size (width, height), and
    its caption's centre. Panel sizes are even (H.264 takes them alone too)."""

    width: int
    height: int
    origins: tuple[tuple[int, int], ...]
    caption_centres: tuple[tuple[float, float], ...]
    caption_points: float


def panel_geometry(compare: Compare, width: int, height: int, dpi: float, min_size: int) -> Panels:
    """The panels of ``compare`` on a ``width`` x ``height`` frame at ``dpi``; BadInput when a panel
    would be smaller than ``min_size`` pixels."""
    rows, cols = compare.grid_shape(width, height)
    font = CAPTION_POINTS * dpi / 72.0
    band = int(math.ceil(CAPTION_LINES * font))
    gap = int(round(GAP * width))
    pw = (width - (cols - 1) * gap) // cols // 2 * 2
    ph = (height - rows * band - (rows - 1) * gap) // rows // 2 * 2
    if min(pw, ph) < min_size:
        raise BadInput(f"size: expected a frame that holds {len(compare.scenes)} panels of at least {min_size} px "
                       f"in {rows} row(s) of {cols} (they would be {pw}x{ph}), got {width}x{height}")
    # The panels, centred as a block; a short last row of a grid is centred too.
    top0 = (height - (rows * (ph + band) + (rows - 1) * gap)) // 2
    origins, captions = [], []
    n = len(compare.scenes)
    for k in range(n):
        r, c = divmod(k, cols)
        in_row = min(cols, n - r * cols)
        left0 = (width - (in_row * pw + (in_row - 1) * gap)) // 2
        x, y = left0 + c * (pw + gap), top0 + r * (ph + band + gap)
        origins.append((x, y))
        captions.append((x + pw / 2, y + ph + band / 2))
    return Panels(pw, ph, tuple(origins), tuple(captions), CAPTION_POINTS)
