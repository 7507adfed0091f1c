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
MAX_PANEL_ASPECT = 1.1  # a panel's height, at most, in panel widths
PICTURE_ASPECT = 1.4  # the 3-D box's picture, width over height, about


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
        """(rows, columns) of panels (see _grid_shape)."""
        return _grid_shape(self.layout, len(self.scenes), width, height)


def _grid_shape(layout: str, n: int, width: int | None = None, height: int | None = None) -> tuple[int, int]:
    """(rows, columns) of ``n`` panels. On a frame of the given size, the arrangement whose panels show the
    largest picture (the surface's box is wider than tall), then the largest text: "row" puts the panels
    in one line, across a wide frame and stacked down a tall or square one where that reads better;
    "grid" tries every number of columns. Without a size, the plain arrangement: one row, or a
    near-square grid."""
    if width is None or height is None:
        if layout == "row":
            return 1, n
        cols = math.ceil(math.sqrt(n))
        return math.ceil(n / cols), cols
    shapes = [(1, n), (n, 1)] if layout == "row" else [(math.ceil(n / c), c) for c in range(1, n + 1)]
    dpi = 100.0 * min(height / 480.0, width / 640.0)
    # A panel's title and legend above the picture and its HUD below take about four lines of text.
    text = 4 * 1.9 * 9.0 * min(dpi, 100.0) / 72.0

    def reads(shape) -> tuple[float, float]:
        pw, ph, band, _ = _panel_size(shape, width, height, dpi)
        # Bands of empty frame count against an arrangement: a row of three on a square frame
        # leaves two thirds of it empty where a column of three, with pictures as large, fills it.
        filled = min(1.0, shape[0] * (ph + band) / height)
        return min(pw, PICTURE_ASPECT * (ph - text)) * filled ** 0.5, 100.0 * min(ph / 480.0, pw / 640.0)

    return max(shapes, key=reads)


def _panel_size(shape, width: int, height: int, dpi: float) -> tuple[int, int, int, int]:
    """The panels' even pixel size in a (rows, columns) arrangement, and the caption band under each
    and the gap between them, in pixels: (width, height, band, gap)."""
    rows, cols = shape
    band = int(math.ceil(CAPTION_LINES * CAPTION_POINTS * dpi / 72.0))
    gap = int(round(GAP * width))
    pw = (width - (cols - 1) * gap) // cols // 2 * 2
    ph = (height - rows * band - (rows - 1) * gap) // rows // 2 * 2
    # A panel much taller than wide holds a picture that is wider than tall and bands of nothing above
    # and below it, its caption far from it: the panels stay near square and the block is centred.
    return pw, min(ph, int(MAX_PANEL_ASPECT * pw) // 2 * 2), band, gap


@dataclass(frozen=True)
class Panels:
    """Where the panels go on a frame: each panel's pixel box (left, top) of size (width, height), its
    caption's centre, and the least height of a panel's smallest text (a comparison's panel reads like a
    film of its own: its text is never smaller than a single scene's on the smallest preset, nor than
    the whole frame asks). Panel sizes are even (H.264 takes them alone too)."""

    width: int
    height: int
    origins: tuple[tuple[int, int], ...]
    caption_centres: tuple[tuple[float, float], ...]
    caption_points: float
    min_text_px: float = 0.0


# A panel's smallest text is at least a single scene's on the smallest preset (7 pt at 100 dpi)...
PANEL_TEXT_PX = 7.0 * 100.0 / 72.0
# ... and a panel whose text would have to grow past this many times its own proportion is unreadable.
MAX_TEXT_GROWTH = 2.5


def panel_geometry(compare: Compare, width: int, height: int, dpi: float, min_size: int,
                   min_text_px: float = 0.0) -> Panels:
    """The panels of ``compare`` on a ``width`` x ``height`` frame at ``dpi`` (the frame's text, whose
    least height is ``min_text_px``); BadInput when a panel would be smaller than ``min_size`` pixels or
    its text could not be read."""
    return arranged(compare.layout, len(compare.scenes), width, height, dpi, min_size, min_text_px)


def arranged(layout: str, n: int, width: int, height: int, dpi: float, min_size: int,
             min_text_px: float = 0.0) -> Panels:
    """``panel_geometry`` for ``n`` panels in ``layout``: what a comparison's picture keeps, to be
    painted again at another size (a blog's GIF)."""
    rows, cols = _grid_shape(layout, n, width, height)
    pw, ph, band, gap = _panel_size((rows, cols), width, height, dpi)
    if min(pw, ph) < min_size:
        raise BadInput(f"size: expected a frame that holds {n} panels of at least {min_size} px "
                       f"in {rows} row(s) of {cols} (they would be {pw}x{ph}), got {width}x{height}")
    natural = 100.0 * min(ph / 480.0, pw / 640.0)
    text_px = max(min_text_px, min(PANEL_TEXT_PX, 7.0 * dpi / 72.0))
    if text_px * 72.0 / 7.0 > MAX_TEXT_GROWTH * natural:
        raise BadInput(f"size: expected a frame whose {n} panels can be read: in {rows} row(s) "
                       f"of {cols} they would be {pw}x{ph}, too small for text {text_px:.0f} px tall; got "
                       f"{width}x{height} (a larger frame, or fewer panels, or layout='grid')")
    # The panels, centred as a block; a short last row of a grid is centred too.
    top0 = (height - (rows * (ph + band) + (rows - 1) * gap)) // 2
    origins, captions = [], []
    for k in range(n):
        r, c = divmod(k, cols)
        in_row = min(cols, n - r * cols)
        left0 = (width - (in_row * pw + (in_row - 1) * gap)) // 2
        x, y = left0 + c * (pw + gap), top0 + r * (ph + band + gap)
        origins.append((x, y))
        captions.append((x + pw / 2, y + ph + band / 2))
    return Panels(pw, ph, tuple(origins), tuple(captions), CAPTION_POINTS, text_px)
