"""A comparison's painter: each panel painted by its own Painter at the panel's size, placed on one frame
with its caption under it. A panel is pixel for pixel the scene rendered alone at that size."""
from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgb

from .layout import MIN_POINTS
from .colors import THEMES
from .sprites import TextSprites


class PanelsPainter:
    """``paint(i)`` paints frame i of every panel into one frame (RGBA, rows from the top)."""

    def __init__(self, picture):
        look, geo = picture.settings.look, picture.geometry
        theme = THEMES[picture.panels[0].style.theme]
        self.geometry = geo
        self.frame = np.empty((look.height, look.width, 4), np.uint8)
        self.frame[..., :3] = np.round(np.asarray(to_rgb(theme["bg"])) * 255).astype(np.uint8)
        self.frame[..., 3] = 255
        sprites = TextSprites(look.dpi)
        self.caption_boxes = []
        for caption, (cx, cy) in zip(picture.captions, geo.caption_centres):
            sprite = _fitting(sprites, caption, theme["fg"], geo.caption_points, 0.96 * geo.width)
            sprite.paste(self.frame, cx, cy)  # the captions never change: drawn once, outside every panel
            self.caption_boxes.append(sprite.box(cx, cy))
        self.painters = []
        try:
            for panel in picture.panels:
                self.painters.append(panel.painter())
        except BaseException:
            self.close()
            raise

    def paint(self, i: int) -> memoryview:
        w, h = self.geometry.width, self.geometry.height
        for (x, y), painter in zip(self.geometry.origins, self.painters):
            self.frame[y:y + h, x:x + w] = np.asarray(painter.paint(i))
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
