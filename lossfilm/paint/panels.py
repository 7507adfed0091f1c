"""A comparison's painter: each panel painted by its own Painter at the panel's size, placed on one frame
with its caption under it. A panel is pixel for pixel the scene rendered alone at that size (and text
size), less the rows that are background all through the film."""
from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from .layout import MIN_POINTS
from .colors import THEMES
from .sprites import TextSprites


class PanelsPainter:
    """``paint(i)`` paints frame i of every panel into one frame (RGBA, rows from the top).

    The panels' rows that ever hold anything (measured on a few frames of the move) are placed as one
    block in the middle of the frame, each caption right under its panel: a panel's own layout leaves
    bands of background above and below its picture, and the caption would stand apart from it."""

    PROBES = 8

    def __init__(self, picture):
        look, geo = picture.settings.look, picture.geometry
        theme = THEMES[picture.panels[0].style.theme]
        self.geometry = geo
        bg = np.round(np.asarray(to_rgb(theme["bg"])) * 255).astype(np.uint8)
        self.frame = np.empty((look.height, look.width, 4), np.uint8)
        self.frame[..., :3] = bg
        self.frame[..., 3] = 255
        self.painters = []
        try:
            for panel in picture.panels:
                self.painters.append(panel.painter())
            sprites = TextSprites(look.dpi)
            self.rows = self._content_rows(picture, bg, geo.caption_points * look.dpi / 72.0)
            self.origins, centres = self._placed(geo, look.height)
            self.caption_boxes = []
            for caption, (cx, cy) in zip(picture.captions, centres):
                sprite = _fitting(sprites, caption, theme["fg"], geo.caption_points, 0.96 * geo.width)
                sprite.paste(self.frame, cx, cy)  # the captions never change: drawn once, outside every panel
                self.caption_boxes.append(sprite.box(cx, cy))
        except BaseException:
            self.close()
            raise

    def _content_rows(self, picture, bg: np.ndarray, font: float) -> tuple[int, int]:
        """The panels' rows (first, last + 1) that hold anything on a few frames across the film, with
        a margin of half a caption line: the same rows of every panel, so panels side by side align."""
        h = self.geometry.height
        frames = len(picture.panels[0].plan.azimuth)
        ink = np.zeros(h, bool)
        for i in sorted(set(np.linspace(0, frames - 1, self.PROBES).round().astype(int))):
            for painter in self.painters:
                pixels = np.asarray(painter.paint(int(i)))[..., :3]
                ink |= (pixels != bg).any(axis=(1, 2))
        for painter in self.painters:  # the 3-D picture over the whole move, and the text at its longest
            boxes = list(painter.chrome.obstacles())
            if hasattr(painter, "picture_box"):
                boxes.append(painter.picture_box())
            for _, top, _, bottom in boxes:
                ink[max(0, int(top)):max(0, min(h, int(np.ceil(bottom))))] = True
        rows = np.nonzero(ink)[0]
        if not rows.size:
            return 0, h
        pad = int(round(0.5 * font))
        return max(0, int(rows[0]) - pad), min(h, int(rows[-1]) + 1 + pad)

    def _placed(self, geo, height: int):
        """Each panel's (left, top) for its cropped rows, and each caption's centre, the block centred."""
        c0, c1 = self.rows
        tops = sorted({y for _, y in geo.origins})
        band = geo.caption_centres[0][1] - geo.origins[0][1] - geo.height  # half the caption band
        gap = tops[1] - tops[0] - geo.height - 2 * band if len(tops) > 1 else 0
        pitch = (c1 - c0) + 2 * band + gap
        top0 = int(round((height - (len(tops) * pitch - gap)) / 2))
        origins, centres = [], []
        for x, y in geo.origins:
            top = top0 + tops.index(y) * pitch
            origins.append((x, int(top)))
            centres.append((x + geo.width / 2, top + (c1 - c0) + band))
        return origins, centres

    def paint(self, i: int) -> memoryview:
        w = self.geometry.width
        c0, c1 = self.rows
        for (x, y), painter in zip(self.origins, self.painters):
            self.frame[y:y + c1 - c0, x:x + w] = np.asarray(painter.paint(i))[c0:c1]
        return memoryview(self.frame)

    def close(self) -> None:
        for painter in self.painters:
            painter.close()


def _fitting(sprites: TextSprites, text: str, color, points: float, width: float):
    """The caption in bold at ``points``, smaller (down to the frame's smallest text) until it fits
    ``width``; a caption still too long is cut with an ellipsis."""
    size = float(points)
    while True:
        sprite = sprites.get(text, color, size, weight="bold")
        if sprite.width <= width:
            return sprite
        if size > MIN_POINTS:
            size = max(MIN_POINTS, size - 0.5)
        elif len(text) > 2:
            text = text[:-2].rstrip() + "…"
        else:
            return sprite
