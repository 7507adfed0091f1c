"""What is drawn on a film's frames above the picture, one small protocol for all of it.

An overlay is one class with up to four methods, each optional:

* ``setup(painter)``: once per painter (in the worker that paints), after the picture is framed: make
  artists on ``painter.ax`` or ``painter.fig``, sprites, whatever it needs. ``painter`` offers
  ``fig``, ``ax``, ``look`` (size, dpi), ``theme`` (colours), ``plan`` (the frame plan: labels, colours,
  steps, text), ``landscape``, ``layout``, ``sprites`` (text as images) and ``to_pixels(alpha, beta)``
  (where a point of the plane is on the frame, in pixels from the top left), in the 3-D and the flat view
  alike.
* ``update(i)``: before frame ``i`` is drawn: set the data of its artists.
* ``paste(pixels, i)``: after the frame is drawn: paste sprites onto ``pixels`` (rows from the top, RGBA).
* ``boxes(i)``: the pixel boxes of the text it shows at frame ``i``, by name (layout checks, and other
  text that must keep clear of it).

The flat view blits: it draws the map once, and each frame only the artists an overlay lists in
``animated`` (make them with ``animated=True``). The painters build their own overlays (paths, minima,
arrows, HUD, loss lines, the inset) this way, and a scene adds its own with
``Style(overlays=(MyOverlay(),))``: an overlay travels to the workers with the style, so it must pickle
(a class at module level of an importable module, its fields plain values).
"""
from __future__ import annotations

import numpy as np

from .layout import POINTS
from .sprites import MonoLine


class Overlay:
    """The protocol, with nothing drawn: subclass it and keep what you need."""

    animated: tuple = ()  # artists the flat view redraws each frame (blitting)

    def setup(self, painter) -> None:
        pass

    def update(self, i: int) -> None:
        pass

    def paste(self, pixels: np.ndarray, i: int) -> None:
        pass

    def boxes(self, i: int) -> dict:
        return {}

    def reserved(self) -> list:
        """Pixel boxes the picture keeps clear of at every frame (a line of text at its longest)."""
        return []


class HUD(Overlay):
    """The frame plan's line of text (step, epoch, loss) in the layout's HUD place."""

    def setup(self, painter) -> None:
        self.text, self.at = painter.chrome.hud_lines, painter.layout.hud
        self.line = MonoLine(painter.look.dpi, painter.theme["fg"], POINTS["hud"])

    def paste(self, pixels, i):
        self.line.paste(pixels, self.text[i], *self.at)

    def boxes(self, i):
        return {"hud": self.line.box(self.text[i], *self.at)}

    def reserved(self):
        return [self.line.box(max(self.text, key=len, default=""), *self.at)]


def hud_text(look, landscape, plan) -> list[str]:
    """The HUD's line per frame: the plan's, or on a small frame its short form (the step, and the loss
    of a lone run where the line fits the frame)."""
    if not look.small:
        return plan.text
    from ..plan import overlay_text
    from .layout import MONO_ADVANCE

    lines = overlay_text(landscape, plan.steps, short=True)
    room = 0.95 * look.width / (MONO_ADVANCE * POINTS["hud"] * look.dpi / 72.0)
    if max(map(len, lines), default=0) > room:  # a narrow frame: the step alone, the loss is the picture's
        lines = overlay_text(landscape, plan.steps, short=True, with_loss=False)
    return lines


class RunLines(Overlay):
    """In a race, one line per run in its colour: its label and its loss at the frame's step (the legend)."""

    def setup(self, painter) -> None:
        from ..plan import height_text

        self.plan, self.traces, self.places = painter.plan, painter.landscape.traces, painter.layout.run_lines
        self.lines = [MonoLine(painter.look.dpi, c, POINTS["hud"]) for c in self.plan.colors]
        self.texts = [""] * len(self.lines)
        self._height_text = height_text

    def update(self, i):
        plan = self.plan
        width = max(10, max(map(len, plan.labels)))  # the losses line up in one column
        for k, trace in enumerate(self.traces[:len(self.lines)]):
            s = int(plan.steps[i, k])
            self.texts[k] = f"{plan.labels[k]:<{width}} {self._height_text(plan.loss_label, trace, s)}"

    def paste(self, pixels, i):
        for line, text, at in zip(self.lines, self.texts, self.places):
            line.paste(pixels, text, *at)

    def boxes(self, i):
        return {f"run {k}": line.box(text, *at) for k, (line, text, at) in enumerate(zip(self.lines, self.texts,
                                                                                         self.places))}

    def reserved(self):
        labels = self.plan.labels
        width = max(10, *(len(label) for label in labels)) + len(self.plan.loss_label) + 11 if labels else 0
        return [line.box("0" * width, *at) for line, at in zip(self.lines, self.places)]


class LossInset(Overlay):
    """The loss inset's lines, growing with the paths (its frame, ticks and title are static text)."""

    def __init__(self, curve):
        self.curve = curve
        self.animated = tuple(a for _, line, dot in curve.lines for a in (line, dot)) + tuple(
            line for _, line in curve.sharp_lines)

    def setup(self, painter) -> None:
        self.plan = painter.plan

    def update(self, i):
        self.curve.update(self.plan.steps[i], None if self.plan.shown is None else self.plan.shown[i])


def set_up(overlays, painter) -> list:
    """``overlays`` made ready for ``painter``, in order; returns them as a list."""
    overlays = list(overlays)
    for overlay in overlays:
        overlay.setup(painter)
    return overlays
