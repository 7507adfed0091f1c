"""Where everything goes on the frame, for every aspect ratio: the 3-D box, title, legend, colour bar,
loss inset, the runs' loss lines and the HUD, placed from measured text sizes so nothing overlaps.

Sizes are in points at the look's dpi, which grows with the frame (854 x 480 is 100 dpi), so a layout
keeps its proportions at every resolution. Boxes are pixels: (left, top, right, bottom), rows from the top.

* wide (16:9): a text column on the left (title, colour bar, inset, loss lines, HUD from top to bottom),
  the box right of centre;
* square: a header band (title, subtitle, legend, colour bar), the box, and a bottom band holding the
  loss lines and HUD on the left and the inset on the right;
* tall (9:16): the same header, the box, then the inset across the frame above the loss lines.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

POINTS = dict(title=12, subtitle=9, legend=9, hud=9, axis_name=9, tick=7, inset=7)
# 7 pt is 14.6 px at 720p: no text on the frame is drawn smaller.
MIN_POINTS = min(POINTS.values())
LINE = 1.9  # a text line's pitch, in font sizes
MONO_ADVANCE = 0.602  # DejaVu Sans Mono's advance, in font sizes


def px(points: float, dpi: float) -> float:
    return points * dpi / 72.0


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    shape: str  # "wide", "square" or "tall"
    axes: tuple[float, float, float, float]  # the 3-D axes, figure fractions (left, bottom, width, height)
    title: tuple[float, float]  # pixel (left, top)
    subtitle: tuple[float, float]
    legend: tuple[float, float]  # pixel (right, top); a race has no legend: its loss lines name the runs
    colorbar: tuple[float, float, float, float] | None  # figure fractions
    inset: tuple[float, float, float, float] | None  # figure fractions of the inset's plotting area
    hud: tuple[float, float]  # pixel (left, baseline)
    run_lines: tuple[tuple[float, float], ...]  # pixel (left, baseline) of each run's loss line
    legend_loc: str = "upper right"  # which corner of the legend ``legend`` places
    legend_cols: int = 1

    def fraction(self, x: float, top: float) -> tuple[float, float]:
        """A pixel position as figure fractions (matplotlib's y grows upwards)."""
        return x / self.width, 1.0 - top / self.height


def shape_of(width: int, height: int) -> str:
    ratio = width / height
    return "wide" if ratio > 1.3 else "square" if ratio > 0.77 else "tall"


def layout(width: int, height: int, dpi: float, *, runs: int, race: bool, subtitle: bool | int, colorbar: bool,
           inset: bool, line_chars: int = 0, title_lines: int = 1, inset_extra: float = 0.0) -> Layout:
    """The layout of a ``width`` x ``height`` frame. ``race``: one loss line per run above the HUD;
    ``line_chars``: the longest such line, for deciding whether it fits beside the inset."""
    w, h = float(width), float(height)
    shape = shape_of(width, height)
    font = px(POINTS["hud"], dpi)
    pitch = LINE * font
    margin = 0.025 * w
    lines = runs if race else 0
    hud_baseline = h - 1.6 * font if shape != "wide" else 0.955 * h
    title_top = 0.06 * h if shape == "wide" else 1.4 * font
    subtitle_top = title_top + (1.55 + 1.2 * (title_lines - 1)) * px(POINTS["title"], dpi)
    subtitle_lines = int(subtitle)  # a long subtitle wraps: each line below the first lowers the header's bottom
    header_bottom = ((subtitle_top + (1.5 + 1.35 * (subtitle_lines - 1)) * font) if subtitle_lines
                     else (title_top + (1.6 + 1.2 * (title_lines - 1)) * px(POINTS["title"], dpi)))
    legend_top = 0.03 * h if shape == "wide" else title_top - 0.4 * font
    legend_bottom = legend_top + (0 if race else runs * 1.75 + 0.8) * px(POINTS["legend"], dpi)
    tick = px(POINTS["inset"], dpi)
    colorbar_rect = None

    if shape == "wide":
        if colorbar:
            colorbar_rect = (0.035, 0.74, 0.17, 0.018)
            upper = 0.26 * h + 3.2 * tick  # under the colour bar's tick labels
        else:
            upper = header_bottom + 2.0 * tick
        runs_at = tuple((margin, hud_baseline - pitch * (lines - k)) for k in range(lines))
        text_top = hud_baseline - pitch * lines - 0.8 * font
        bottom = text_top - 2.9 * tick  # room for the inset's step labels
        top = max(upper + 1.8 * tick, bottom - 0.34 * h)  # room for its title
        left = margin + 3.6 * tick  # room for its loss labels
        inset_rect = _rect(left, top, left + 0.15 * w, bottom, w, h) if inset and bottom - top > 0.1 * h else None
        return Layout(width, height, shape, (0.16, 0.0, 0.84, 1.0), (margin, title_top), (margin, subtitle_top),
                      (0.985 * w, legend_top), colorbar_rect, inset_rect, (margin, hud_baseline), runs_at)

    header = max(header_bottom, legend_bottom)
    if colorbar:
        bar_top = header + 2.0 * tick  # the bar's title sits above it
        colorbar_rect = _rect(0.06 * w, bar_top, 0.46 * w, bar_top + 0.014 * h, w, h)
        header = bar_top + 0.014 * h + 2.0 * tick
    line_width = line_chars * MONO_ADVANCE * font
    beside = shape == "square" and inset and margin + line_width < 0.5 * w
    inset_height = (0.2 if shape == "square" else 0.16) * h
    two = margin + line_width < 0.5 * w - font  # two columns only where a line fits in half the frame
    if beside or not inset or not two:  # one column of loss lines above the HUD
        runs_at = tuple((margin, hud_baseline - pitch * (lines - k)) for k in range(lines))
        text_rows = lines + 1
    else:  # two columns, with the inset across the frame above them
        rows = (lines + 1) // 2
        runs_at = tuple((margin + 0.5 * (k % 2) * w, hud_baseline - pitch * (rows - k // 2)) for k in range(lines))
        text_rows = rows + 1
    text_top = hud_baseline - pitch * (text_rows - 1) - 0.8 * font
    inset_rect = None
    if inset and beside:
        bottom = hud_baseline - 2.4 * tick + 0.3 * font
        top = min(text_top, bottom - inset_height)
        inset_rect = _rect(0.58 * w, top, 0.96 * w, bottom, w, h)
        band_top = top - 1.8 * tick
    elif inset:  # across the frame; ``inset_extra`` pixels taller where the picture leaves them free
        bottom = text_top - 2.9 * tick
        top = bottom - inset_height - inset_extra
        inset_rect = _rect(0.1 * w, top, 0.94 * w, bottom, w, h)
        band_top = top - 1.8 * tick
    else:
        band_top = text_top
    gap = 0.5 * font
    axes = (0.02, 1.0 - (band_top - gap) / h, 0.96, (band_top - gap - header - gap) / h)
    return Layout(width, height, shape, axes, (margin, title_top), (margin, subtitle_top),
                  (w - margin, legend_top), colorbar_rect, inset_rect, (margin, hud_baseline), runs_at)


def small_layout(width: int, height: int, dpi: float, *, hud_chars: int, title_width: float,
                 legend_widths: list[float], title_lines: int = 1) -> Layout:
    """A small frame's layout (a blog's GIF, a narrow panel), every shape alike: the title at the top left
    with the one HUD line at the top right (under the title where both do not fit), the legend along the
    bottom in as many columns as fit, and the picture in the whole band between them."""
    w, h = float(width), float(height)
    margin = 0.025 * w
    font = px(POINTS["hud"], dpi)
    title = px(POINTS["title"], dpi)
    top = 0.5 * title
    hud_width = 1.04 * hud_chars * MONO_ADVANCE * font  # hinting makes a glyph a little wider than the font says
    if title_lines == 1 and margin + title_width + 1.5 * font + hud_width <= w - margin:
        hud = (w - margin - hud_width, top + 0.85 * title)  # beside the title, on its baseline
    else:
        hud = (margin, top + (1.35 + 1.2 * (title_lines - 1)) * title + 1.0 * font)  # under it
    legend = px(POINTS["legend"], dpi)
    entries = [lw + 3.2 * legend for lw in legend_widths]  # handle, its pad and the column's spacing
    cols = max(1, len(entries))
    while cols > 1 and sum(sorted(entries, reverse=True)[:cols]) > w - 2 * margin:
        cols -= 1
    return Layout(width, height, shape_of(width, height), (0.0, 0.0, 1.0, 1.0), (margin, top), (margin, top), (margin, h - 0.4 * legend),
                  None, None, hud, (), "lower left", cols)


def compacted(lay: Layout, header: float, footer: float) -> Layout:
    """The same layout with the header (title, subtitle, legend, colour bar) moved ``header`` pixels down
    and the footer (inset, loss lines, HUD) ``footer`` pixels up: on a square or tall frame a wide
    picture leaves the band between them partly empty, and the film reads better as one block."""
    def down(at):
        return at[0], at[1] + header

    def up(at):
        return at[0], at[1] - footer

    if lay.legend_loc == "lower left":  # a small frame's: title and HUD at the top, the legend at the bottom
        return dataclasses.replace(lay, title=down(lay.title), subtitle=down(lay.subtitle), hud=down(lay.hud),
                                   legend=up(lay.legend))
    bar = lay.colorbar
    inset = lay.inset
    return dataclasses.replace(
        lay, title=down(lay.title), subtitle=down(lay.subtitle), legend=down(lay.legend),
        colorbar=None if bar is None else (bar[0], bar[1] - header / lay.height, bar[2], bar[3]),
        inset=None if inset is None else (inset[0], inset[1] + footer / lay.height, inset[2], inset[3]),
        hud=up(lay.hud), run_lines=tuple(up(at) for at in lay.run_lines))


def _rect(left: float, top: float, right: float, bottom: float, w: float, h: float) -> tuple[float, float, float, float]:
    """Pixel box -> matplotlib figure rect (left, bottom, width, height)."""
    return left / w, 1.0 - bottom / h, (right - left) / w, (bottom - top) / h


def overlaps(a, b, gap: float = 0.0) -> bool:
    """Whether two pixel boxes (left, top, right, bottom) come closer than ``gap``."""
    return a[0] - gap < b[2] and b[0] - gap < a[2] and a[1] - gap < b[3] and b[1] - gap < a[3]


def free_band(width: int, height: int, boxes, margin: float = 0.0, rows=None,
              aspect: float | None = None) -> tuple[float, float, float, float]:
    """The largest box (found greedily) inside the frame's margins (and between ``rows``, (top, bottom)
    pixels, when given) that meets none of ``boxes``: for each box in the way, the band's edge moves past
    it on whichever side loses the least area, or, given the ``aspect`` (width / height) of what goes
    in it, on whichever side leaves that picture the largest."""
    def score(c):
        w, h = c[2] - c[0], c[3] - c[1]
        return (min(w, aspect * h), w * h) if aspect else w * h

    band = [margin, margin, width - margin, height - margin]
    if rows is not None:
        band[1], band[3] = max(band[1], rows[0]), min(band[3], rows[1])
    gap = margin
    for b in sorted(boxes, key=lambda b: -(b[2] - b[0]) * (b[3] - b[1])):
        if not overlaps(band, b, gap):
            continue
        cuts = [[b[2] + gap, band[1], band[2], band[3]], [band[0], b[3] + gap, band[2], band[3]],
                [band[0], band[1], b[0] - gap, band[3]], [band[0], band[1], band[2], b[1] - gap]]
        cuts = [c for c in cuts if c[2] > c[0] and c[3] > c[1]]
        if cuts and aspect:  # the largest picture; of pictures nearly as large, the band with most room
            best = max(score(c)[0] for c in cuts)
            band = max((c for c in cuts if score(c)[0] >= 0.8 * best), key=lambda c: score(c)[1])
        elif cuts:
            band = max(cuts, key=score)
    return tuple(band)
