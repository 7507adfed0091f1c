"""A worker's job: paint frames [start, stop) of a film and encode them as one MP4 segment.

Runs in worker processes (local or on a cluster); everything it needs travels in the task as numpy
arrays and small dataclasses, never as a path to a scene file the worker may not have.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from . import formats
from ..landscape import Landscape
from ..plan import FramePlan
from ..scene.view import Style
from ..settings import Settings

if TYPE_CHECKING:  # the painter (matplotlib's figure and 3-D axes, 0.2 s) is imported where frames are painted
    from ..paint.painter import Painter


@dataclass
class Picture:
    """What every frame of one film is painted from and how it is encoded: all that travels to a worker."""

    landscape: Landscape
    plan: FramePlan
    style: Style
    settings: Settings
    name: str = ""  # the scene's
    caption: str | None = None  # a comparison's panel: its caption

    @property
    def views(self) -> list["Picture"]:
        """What a number format is given: one view, this film's (see PanelsPicture.views)."""
        return [self]

    def resized(self, width: int, height: int, min_text_px: float) -> "Picture":
        """The same film at another frame size, its smallest text at least ``min_text_px`` tall."""
        return dataclasses.replace(self, settings=self.settings.resized(width, height, min_text_px))

    def painter(self) -> Painter:
        if self.style.view == "2d":
            from ..paint.flat import FlatPainter

            return FlatPainter(self.landscape, self.plan, self.style, self.settings.look)
        from ..paint.painter import Painter

        return Painter(self.landscape, self.plan, self.style, self.settings.look)


@dataclass
class PanelsPicture:
    """A comparison's frame: every panel's Picture (painted at the panel's size) and where each goes."""

    panels: list[Picture]
    captions: tuple[str, ...]
    geometry: object  # compare.Panels
    settings: Settings  # the whole frame's
    layout: str = "row"  # the Compare's, to arrange the panels again at another size

    def resized(self, width: int, height: int, min_text_px: float) -> "PanelsPicture":
        """The same comparison on a frame of another size, arranged for it (BadInput where it cannot be
        read), the frame's and the panels' smallest text at least ``min_text_px`` tall."""
        from ..scene.compare import arranged
        from ..settings import MIN_SIZE

        settings = self.settings.resized(width, height, min_text_px)
        geo = arranged(self.layout, len(self.panels), width, height, settings.look.dpi, MIN_SIZE, min_text_px)
        panels = [p.resized(geo.width, geo.height, geo.min_text_px) for p in self.panels]
        return PanelsPicture(panels, self.captions, geo, settings, self.layout)

    @property
    def views(self) -> list[Picture]:
        """What a number format is given: every panel's view (landscape, plan, style, settings, name and
        caption), so a format written for one scene works on a comparison."""
        return list(self.panels)

    def painter(self):
        from ..paint.panels import PanelsPainter

        return PanelsPainter(self)


@dataclass
class SegmentTask:
    key: str  # one render: tasks with the same key share a worker's figure
    picture: Picture | PanelsPicture
    start: int
    stop: int
    path: str
    owner: int  # pid of the render that owns the temporary files
    remote: bool = False  # on a worker without our file system: return the segment as bytes


@dataclass
class SegmentResult:
    path: str
    frames: int
    paint_s: float
    encode_s: float
    data: bytes | None = None  # the segment itself, from a remote worker


_painters: dict[str, Painter] = {}
_KEEP = 2  # figures kept per worker: two films in flight at once (render_many) never rebuild each other's


def _painter(task: SegmentTask) -> Painter:
    painter = _painters.pop(task.key, None)
    if painter is None:
        while len(_painters) >= _KEEP:
            _painters.pop(next(iter(_painters))).close()
        painter = task.picture.painter()
    _painters[task.key] = painter  # most recently used last
    return painter


def paint_segment(task: SegmentTask) -> SegmentResult:
    if task.remote:
        with tempfile.TemporaryDirectory() as folder:
            local = dataclasses.replace(task, path=str(Path(folder) / "segment.mp4"), remote=False, owner=os.getpid())
            result = paint_segment(local)
            return dataclasses.replace(result, path=task.path, data=Path(result.path).read_bytes())
    painter = _painter(task)
    pic = task.picture
    writer = formats.master().writer(Path(task.path), pic.settings, owner=task.owner)
    paint_s = encode_s = 0.0
    try:
        writer.setup()
        for i in range(task.start, task.stop):
            t = time.perf_counter()
            rgba = painter.paint(i)
            paint_s += time.perf_counter() - t
            t = time.perf_counter()
            writer.grab_frame(rgba)
            encode_s += time.perf_counter() - t
        t = time.perf_counter()
        writer.finish()
        encode_s += time.perf_counter() - t
    except BaseException:
        writer.abort()
        raise
    return SegmentResult(task.path, task.stop - task.start, paint_s, encode_s)
