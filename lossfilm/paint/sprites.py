"""Text as sprites: each string (or, for monospace lines, each character) is rasterised once and then
alpha-composited onto frames.

Laying out and rasterising a line of text costs matplotlib about 0.5-2 ms per frame; a film shows the
same tick labels and the same few characters in every frame, so we pay that once per string.
"""
from __future__ import annotations

import numpy as np
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.colors import to_rgba
from matplotlib.font_manager import FontProperties

from . import raster


class Sprite:
    """Straight-alpha RGBA ink with its anchor: pixel (ax, ay) of the sprite is the text's reference point."""

    __slots__ = ("rgb", "alpha", "ax", "ay", "width", "height", "ink", "_ink", "_keep")

    def __init__(self, rgba: np.ndarray, ax: float, ay: float):
        self.rgb = rgba[..., :3].astype(np.float32)
        self.alpha = rgba[..., 3:].astype(np.float32) / 255.0
        # Premultiplied once (with the rounding's half): a paste is then one multiply-add per channel.
        self._ink = self.rgb * self.alpha + 0.5
        self._keep = 1.0 - self.alpha
        self.ax, self.ay = ax, ay
        self.height, self.width = rgba.shape[:2]
        rows, cols = np.nonzero(rgba[..., 3] > 0)
        # The inked box relative to the anchor (left, top, right, bottom), for layout that must not overlap.
        self.ink = ((cols.min() - ax, rows.min() - ay, cols.max() + 1 - ax, rows.max() + 1 - ay) if rows.size
                    else (0.0, 0.0, 0.0, 0.0))

    def box(self, x: float, y: float) -> tuple[float, float, float, float]:
        """The inked box on the frame with the anchor at pixel (x, y)."""
        left, top, right, bottom = self.ink
        return x + left, y + top, x + right, y + bottom

    def paste(self, frame: np.ndarray, x: float, y: float) -> None:
        """Composite onto ``frame`` (H, W, 4 uint8, rows from the top) with the anchor at pixel (x, y)."""
        x0, y0 = int(round(x - self.ax)), int(round(y - self.ay))
        h, w = frame.shape[:2]
        fx0, fy0 = max(x0, 0), max(y0, 0)
        fx1, fy1 = min(x0 + self.width, w), min(y0 + self.height, h)
        if fx0 >= fx1 or fy0 >= fy1:
            return
        if raster.composite(frame, fx0, fy0, fx1, fy1, self._ink, self._keep, fx0 - x0, fy0 - y0):
            return
        sx, sy = slice(fx0 - x0, fx1 - x0), slice(fy0 - y0, fy1 - y0)
        below = frame[fy0:fy1, fx0:fx1, :3]
        below[...] = (below * self._keep[sy, sx] + self._ink[sy, sx]).astype(np.uint8)


def _rasterise(text: str, prop: FontProperties, color, dpi: float) -> tuple[np.ndarray, float, float]:
    """(rgba, baseline_x, baseline_y) with the text's baseline start at (baseline_x, baseline_y) from the top."""
    size_px = prop.get_size_in_points() * dpi / 72.0
    pad = int(size_px) + 4
    width = int(len(text) * size_px * 0.75) + 2 * pad
    height = int(size_px * 2) + 2 * pad
    renderer = RendererAgg(width, height, dpi)
    gc = renderer.new_gc()
    gc.set_foreground(to_rgba(color), isRGBA=True)
    # Agg's draw_text takes y from the top (a Text artist flips it first: the renderer's flipy()): the
    # baseline is that row. Read from the bottom, the glyphs landed a whole em above where their boxes
    # said, and a HUD line could print over a title its box kept clear of.
    baseline = pad + size_px * 1.5
    renderer.draw_text(gc, pad, baseline, text, prop, 0)
    rgba = np.asarray(renderer.buffer_rgba()).copy()
    return rgba, float(pad), float(baseline)


class TextSprites:
    """A cache of rasterised strings at one dpi."""

    def __init__(self, dpi: float):
        self.dpi = dpi
        self._cache: dict[tuple, Sprite] = {}

    def get(self, text: str, color, size: float, weight: str = "normal", ha: str = "center",
            va: str = "center", family: str | None = None) -> Sprite:
        key = (text, str(color), size, weight, ha, va, family)
        sprite = self._cache.get(key)
        if sprite is None:
            prop = FontProperties(size=size, weight=weight, family=family)
            sprite = self._cache[key] = _cropped(*_rasterise(text, prop, color, self.dpi), ha, va)
        return sprite


def _cropped(rgba: np.ndarray, bx: float, by: float, ha: str, va: str) -> Sprite:
    """The ink of a rasterised string, anchored as asked (``left``/``baseline`` keep the pen position)."""
    ink = rgba[..., 3] > 0
    if not ink.any():
        return Sprite(np.zeros((1, 1, 4), np.uint8), 0.0, 0.0)
    rows, cols = np.nonzero(ink.any(1))[0], np.nonzero(ink.any(0))[0]
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    h, w = r1 - r0, c1 - c0
    ax = {"left": bx - c0, "center": w / 2, "right": w}[ha]
    ay = {"baseline": by - r0, "center": h / 2, "top": 0, "bottom": h}[va]
    return Sprite(rgba[r0:r1, c0:c1], ax, ay)


class MonoLine:
    """A line of monospace text drawn from per-character sprites: any string, no per-frame layout."""

    def __init__(self, dpi: float, color, size: float, family: str = "DejaVu Sans Mono"):
        from matplotlib.font_manager import findfont, get_font

        self.prop = FontProperties(size=size, family=family)
        self.color, self.dpi = color, dpi
        self._rgb = np.array(to_rgba(color)[:3], np.float32) * 255.0  # glyph ink is this colour, straight alpha
        font = get_font(findfont(self.prop))
        font.set_size(size, dpi)
        self.advance = font.load_char(ord("0")).horiAdvance / 64.0  # the same for every glyph
        self._glyphs: dict[str, Sprite] = {}

    def box(self, text: str, x: float, baseline_y: float) -> tuple[float, float, float, float]:
        """The pixel box ``text`` takes when pasted at (x, baseline_y): the font's ascent and descent."""
        size = self.prop.get_size_in_points() * self.dpi / 72.0
        return x, baseline_y - 0.76 * size, x + len(text.rstrip()) * self.advance, baseline_y + 0.24 * size

    def _glyph(self, ch: str) -> Sprite:
        glyph = self._glyphs.get(ch)
        if glyph is None:
            glyph = self._glyphs[ch] = _cropped(*_rasterise(ch, self.prop, self.color, self.dpi), "left", "baseline")
        return glyph

    def paste(self, frame: np.ndarray, text: str, x: float, baseline_y: float) -> None:
        """Draw ``text`` with its first pen position at pixel (x, baseline_y), rows from the top.

        The glyphs' coverage is gathered into one mask and the line composited once: a glyph at a time
        cost a frame 2-3 ms for a race's four loss lines."""
        placed = [(int(round(x + i * self.advance - g.ax)), int(round(baseline_y - g.ay)), g)
                  for i, ch in enumerate(text) if ch != " " for g in (self._glyph(ch),)]
        if not placed:
            return
        h, w = frame.shape[:2]
        left = max(min(p[0] for p in placed), 0)
        top = max(min(p[1] for p in placed), 0)
        right = min(max(p[0] + p[2].width for p in placed), w)
        bottom = min(max(p[1] + p[2].height for p in placed), h)
        if left >= right or top >= bottom:
            return
        mask = np.zeros((bottom - top, right - left, 1), np.float32)
        for gx, gy, g in placed:
            fx0, fy0, fx1, fy1 = max(gx, left), max(gy, top), min(gx + g.width, right), min(gy + g.height, bottom)
            if fx0 < fx1 and fy0 < fy1:
                region = mask[fy0 - top:fy1 - top, fx0 - left:fx1 - left]
                np.maximum(region, g.alpha[fy0 - gy:fy1 - gy, fx0 - gx:fx1 - gx], out=region)
        below = frame[top:bottom, left:right, :3]
        below[...] = (self._rgb * mask + below * (1.0 - mask) + 0.5).astype(np.uint8)
