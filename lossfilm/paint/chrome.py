"""The text around the picture, the same in every view: the text that never changes (title, subtitle,
legend, colour bar: one static layer rasterised once), the loss inset, whose lines grow with the paths,
and the per-frame lines (HUD, a race's loss lines) as overlays. ``Chrome`` holds them for a painter.
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.cm import ScalarMappable
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FixedFormatter, FixedLocator, MaxNLocator, NullLocator

from ..landscape import Landscape
from ..plan import FramePlan
from .layout import POINTS, layout, overlaps, small_layout
from ..scene.view import Style
from ..settings import Look
from .sprites import Sprite


def wrapped_subtitle(text: str | None, look: Look, labels: list[str], race: bool) -> str | None:
    """The subtitle broken at spaces into lines that fit the frame, and beside the legend where the legend
    reaches down to it (a race has none): a long one on a square or tall frame ran off its right edge.
    Widths are measured in the subtitle's font."""
    if not text:
        return text
    lay = layout(look.width, look.height, look.dpi, runs=len(labels), race=race, subtitle=1, colorbar=False,
                 inset=False)
    legend_bottom = lay.legend[1] + (len(labels) * 1.75 + 0.8) * POINTS["legend"] * look.dpi / 72.0
    race = race or legend_bottom <= lay.subtitle[1]  # the legend ends above the subtitle: the whole width
    margin = 0.025 * look.width
    room = look.width - 2 * margin
    if not race and labels:  # the legend stands at the top right, beside the title and subtitle
        room -= (max(_text_width(label, POINTS["legend"], look.dpi) for label in labels)
                 + 4.5 * POINTS["legend"] * look.dpi / 72.0)
    return _wrapped(text, room, POINTS["subtitle"], look.dpi)


def fitted_title(title: str, look: Look) -> str:
    """The title broken at spaces into lines that fit the frame (a long one on a blog's GIF ran off its
    right edge): as few lines as fit, each measured in the title's font."""
    return _wrapped(title, look.width * 0.95, POINTS["title"], look.dpi, "bold") if title else title


def _wrapped(text: str, room: float, points: float, dpi: float, weight: str = "normal") -> str:
    """``text`` broken at spaces into lines at most ``room`` pixels wide in its font (a word longer than
    that keeps a line of its own)."""
    lines, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}" if line else word
        if line and _text_width(trial, points, dpi, weight) > room:
            lines.append(line)
            line = word
        else:
            line = trial
    return "\n".join(lines + [line])


def _text_width(text: str, points: float, dpi: float, weight: str = "normal") -> float:
    """A line of text's width in pixels at ``points`` and ``dpi``."""
    from matplotlib.font_manager import FontProperties

    prop = FontProperties(size=points, weight=weight)
    return _measure().get_text_width_height_descent(text, prop, ismath=False)[0] * dpi / 72.0


@functools.cache
def _measure():
    from matplotlib.textpath import TextToPath

    return TextToPath()


class LossCurve:
    """An inset of loss against step, one line per run, growing on the paths' clock. Its frame, ticks and
    title never change and go to the static layer; only the lines move."""

    MAX_POINTS = 400

    def __init__(self, fig: Figure, static_fig: Figure, rect, landscape: Landscape, style: Style, theme: dict,
                 colors: list[str], loss_label: str):
        # The y range comes from the runs that did not diverge (a diverged run's last losses are astronomic
        # and would flatten every healthy line); a diverged run's line is clipped at the top.
        healthy = [t for t in landscape.traces if t.diverged_at < 0] or landscape.traces
        losses = [t.loss[np.isfinite(t.loss)] for t in healthy]
        values = np.concatenate([v for v in losses if v.size]) if any(v.size for v in losses) else np.ones(1)
        # A log z axis means the loss spans decades: the inset follows it.
        log = (style.loss_curve_log or style.zscale == "log") and (values > 0).all()
        lo, hi = float(values.min()), float(values.max())
        if hi <= lo:
            hi = lo + 1.0
        steps = max(t.step_at(t.steps) for t in landscape.traces) or 1
        sharp = [t for t in landscape.traces if t.sharpness is not None and len(t.sharpness)]
        if sharp:  # room on the right for the curvature's own axis, inside the inset's place
            right = 4.2 * POINTS["inset"] * fig.dpi / 72.0 / fig.bbox.width
            rect = (rect[0], rect[1], max(rect[2] - right, 0.5 * rect[2]), rect[3])
        axes = []
        for f in (fig, static_fig):
            ax = f.add_axes(rect, facecolor=(0, 0, 0, 0))
            ax.set_xlim(0, steps)
            if log:
                ax.set_yscale("log")
                ax.set_ylim(lo / 1.05, hi * 1.05)
            else:
                pad = 0.06 * (hi - lo)
                ax.set_ylim(lo - pad, hi + pad)
            axes.append(ax)
        live, still = axes
        self.live = live
        live.set_axis_off()
        for side in ("top", "right"):
            still.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            still.spines[side].set_color(theme["dim"])
        still.tick_params(colors=theme["dim"], labelsize=POINTS["inset"], length=2, pad=1)
        still.xaxis.set_major_locator(MaxNLocator(3))
        if log:  # decades (or 1-2-5 steps in a range narrower than two), read as 10⁻¹⁰, never 3.88e-11
            ticks = log_ticks(*still.get_ylim())
            still.yaxis.set_major_locator(FixedLocator(ticks))
            still.yaxis.set_major_formatter(FixedFormatter(power_labels(ticks)))
            still.yaxis.set_minor_locator(NullLocator())
        else:
            still.yaxis.set_major_locator(MaxNLocator(3))
        self.still = still
        still.set_title(f"{loss_label} / step" + (" · λ₁ dashed" if sharp else ""), color=theme["dim"],
                        fontsize=POINTS["inset"], loc="left", pad=3)
        self.lines = []
        for t, color in zip(landscape.traces, colors):
            line, = live.plot([], [], color=color, lw=1.2)
            dot, = live.plot([], [], "o", color=color, ms=3.5, clip_on=False)  # whole at the first and last step
            self.lines.append((t, line, dot))
        self.sharp_lines, self.still_sharp = [], None
        if sharp:
            self._sharpness(live, still, landscape, theme, colors)

    def _sharpness(self, live, still, landscape: Landscape, theme: dict, colors: list[str]) -> None:
        """The top eigenvalue against step on the inset's right axis (dashed, growing with the paths), and
        2/lr for each run of plain SGD, the edge of stability (dotted), where it is in range."""
        values = np.concatenate([t.sharpness[:, 1] for t in landscape.traces if t.sharpness is not None])
        values = values[np.isfinite(values)]
        top = float(values.max()) if values.size else 1.0
        edges = list(landscape.facts.get("sharpness", {}).get("edges", []))
        shown_edges = [e for e in edges if e is not None and e <= 3 * max(top, 1e-12)]
        lo = min(0.0, float(values.min()) if values.size else 0.0)
        hi = max([top] + shown_edges) * 1.1 or 1.0
        live_twin, still_twin = live.twinx(), still.twinx()
        for ax in (live_twin, still_twin):
            ax.set_ylim(lo, hi)
            ax.patch.set_visible(False)
        live_twin.set_axis_off()
        for side in ("top", "left", "bottom"):
            still_twin.spines[side].set_visible(False)
        still_twin.spines["right"].set_color(theme["dim"])
        still_twin.tick_params(colors=theme["dim"], labelsize=POINTS["inset"], length=2, pad=1)
        still_twin.yaxis.set_major_locator(MaxNLocator(3))
        for edge, color in zip(edges, colors):
            if edge is not None and edge in shown_edges:
                still_twin.axhline(edge, color=color, lw=0.9, ls=":", alpha=0.8)
        self.still_sharp = still_twin
        self._sharp_runs = []  # (run index, the trace index and step of each moment, λ₁ at each)
        for k, (t, color) in enumerate(zip(landscape.traces, colors)):
            if t.sharpness is not None:
                line, = live_twin.plot([], [], color=color, lw=1.0, ls=(0, (3, 2)), alpha=0.9)
                self.sharp_lines.append((t, line))
                self._sharp_runs.append((k, t.sharpness[:, 0], t.sharpness_by_step()[:, 0], t.sharpness[:, 1]))

    def update(self, steps: np.ndarray, shown: np.ndarray | None = None) -> None:
        if self.sharp_lines:
            self._update_sharpness(steps, shown)
        for k, ((trace, line, dot), s) in enumerate(zip(self.lines, steps)):
            if shown is not None:  # a storyboard's beat that hides a run hides its line too
                line.set_visible(bool(shown[k]))
                dot.set_visible(bool(shown[k]))
            s = int(s)
            idx = np.unique(np.round(np.linspace(0, s, min(s + 1, self.MAX_POINTS))).astype(int))
            x = trace.step_numbers[idx] if trace.step_numbers is not None else idx  # the run's own step count
            line.set_data(x, trace.loss[idx])
            dot.set_data([trace.step_at(s)], [trace.loss[s]])

    def _update_sharpness(self, steps: np.ndarray, shown: np.ndarray | None) -> None:
        for (_, line), (k, index, step, value) in zip(self.sharp_lines, self._sharp_runs):
            reached = index <= int(steps[k])
            line.set_data(step[reached], value[reached])
            if shown is not None:
                line.set_visible(bool(shown[k]))


class StaticLayer:
    """Artists drawn once on a transparent figure of the frame's size, then pasted where they have ink."""

    def __init__(self, look: Look):
        self.fig = Figure(figsize=(look.width / look.dpi, look.height / look.dpi), dpi=look.dpi, facecolor=(0, 0, 0, 0))
        self.canvas = FigureCanvasAgg(self.fig)
        self.patches: list[tuple[int, int, Sprite]] = []

    def bake(self, measure=()) -> "StaticLayer":
        """Rasterise the layer; ``self.boxes`` are the pixel boxes (left, top, right, bottom) of the
        ``measure`` artists, for other text to keep clear of."""
        self.canvas.draw()
        renderer = self.canvas.get_renderer()
        height = self.canvas.get_width_height()[1]
        self.boxes = []
        for artist in measure:  # an axes' tight box holds its tick labels and title
            b = artist.get_tightbbox(renderer)
            self.boxes.append((b.x0, height - b.y1, b.x1, height - b.y0))
        self.text_px = [t.get_fontsize() * self.fig.dpi / 72.0 for t in self.fig.findobj(Text)
                        if t.get_text() and t.get_visible()]
        rgba = np.asarray(self.canvas.buffer_rgba())
        ink = rgba[..., 3] > 0
        rows = np.nonzero(ink.any(1))[0]
        # One patch per horizontal band of ink keeps the pasted area (and its cost) small.
        for band in np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1) if rows.size else []:
            r0, r1 = band[0], band[-1] + 1
            cols = np.nonzero(ink[r0:r1].any(0))[0]
            c0, c1 = cols[0], cols[-1] + 1
            self.patches.append((c0, r0, Sprite(rgba[r0:r1, c0:c1].copy(), 0.0, 0.0)))
        self.fig.clear()
        return self

    def paste(self, frame: np.ndarray) -> None:
        for x, y, sprite in self.patches:
            sprite.paste(frame, x, y)


class Chrome:
    """The text around the picture, the same in the 3-D and the flat view: the figure and its canvas,
    the layout of the frame's text, a static layer (title, subtitle, legend, colour bar, the inset's
    frame) rasterised once, and the overlays that change per frame (the loss inset's lines, the HUD,
    a race's loss lines). A painter owns one; ``build`` makes (or, once the layout closes in, remakes)
    the text."""

    def __init__(self, landscape: Landscape, frame_plan: FramePlan, style: Style, look: Look, theme: dict):
        if look.small:  # a small frame: title, legend and one HUD line, large enough to read
            style = dataclasses.replace(style, subtitle=None, colorbar=False, loss_curve=False)
        self.landscape, self.plan, self.style, self.look, self.theme = landscape, frame_plan, style, look, theme
        self.fig = Figure(figsize=(look.width / look.dpi, look.height / look.dpi), dpi=look.dpi, facecolor=theme["bg"])
        self.canvas = FigureCanvasAgg(self.fig)
        # The HUD switch covers the runs' loss lines too; a small frame names the runs in a legend.
        race = len(landscape.traces) > 1 and style.hud and not look.small
        self.race = race
        longest = max([max(10, len(label)) + len(frame_plan.loss_label) + 11 for label in frame_plan.labels] if race
                      else [], default=0)
        from .overlays import hud_text

        self.hud_lines = hud_text(look, landscape, frame_plan) if style.hud else []  # the HUD overlay's
        longest = max(longest, max(map(len, self.hud_lines), default=0))
        self.subtitle = wrapped_subtitle(style.subtitle, look, frame_plan.labels, race)
        self.title = fitted_title("Loss landscape" if style.title is None else style.title, look)
        lines = self.title.count("\n") + 1
        if look.small:
            self.layout = small_layout(look.width, look.height, look.dpi, hud_chars=longest if style.hud else 0,
                                       title_width=max((_text_width(t, POINTS["title"], look.dpi, "bold")
                                                        for t in self.title.split("\n")), default=0.0),
                                       legend_widths=[_text_width(label, POINTS["legend"], look.dpi)
                                                      for label in frame_plan.labels], title_lines=lines)
        else:
            self._layout_args = dict(runs=len(landscape.traces), race=race,
                                     subtitle=self.subtitle.count("\n") + 1 if self.subtitle else 0,
                                     colorbar=style.colorbar, inset=style.loss_curve, line_chars=longest,
                                     title_lines=lines)
            self.layout = layout(look.width, look.height, look.dpi, **self._layout_args)
        self.curve = None
        self.overlays: list = []

    def build(self, painter, norm, cmap, zlog: bool) -> None:
        """The static layer and the per-frame text for the current layout; ``painter`` sets the overlays up."""
        from .overlays import HUD, LossInset, RunLines, set_up

        theme, look, lay, style, plan = self.theme, self.look, self.layout, self.style, self.plan
        fg, dim = theme["fg"], theme["dim"]
        if self.curve:  # the layout closed in: the inset is made again at its new place
            self.fig.delaxes(self.curve.live)
        # Text that never changes is rasterised once and pasted onto each frame: drawing a line of text
        # costs about 2 ms a frame at 1080p, as much as a quarter of the surface.
        static = StaticLayer(look)
        fig = static.fig
        measured = {}
        title = self.title  # "" shows no title
        if title:
            measured["title"] = fig.text(*lay.fraction(*lay.title), title, color=fg, fontsize=POINTS["title"],
                                         weight="bold", va="top", linespacing=1.2)
        if style.subtitle:
            wrapped = {"linespacing": 1.35} if "\n" in self.subtitle else {}
            measured["subtitle"] = fig.text(*lay.fraction(*lay.subtitle), self.subtitle, color=dim,
                                            fontsize=POINTS["subtitle"], va="top", **wrapped)
        if not self.race:  # in a race each run's loss line, in its colour, is the legend
            handles = [Line2D([], [], color=color, lw=2.4, marker="o", ms=5, label=label)
                       for label, color in zip(plan.labels, plan.colors)]
            legend = fig.legend(handles=handles, loc=lay.legend_loc, frameon=False, fontsize=POINTS["legend"],
                                bbox_to_anchor=lay.fraction(*lay.legend), borderaxespad=0.0, ncols=lay.legend_cols,
                                **({"columnspacing": 1.2, "handlelength": 1.6} if look.small else {}))
            for text in legend.get_texts():
                text.set_color(fg)
            measured["legend"] = legend
        if style.colorbar and lay.colorbar:
            cax = fig.add_axes(lay.colorbar)
            bar = fig.colorbar(ScalarMappable(norm, cmap), cax=cax, orientation="horizontal")
            bar.outline.set_edgecolor(dim)
            bar.locator = MaxNLocator(4)
            bar.update_ticks()
            cax.tick_params(colors=dim, labelsize=POINTS["tick"], length=2, pad=1)
            cax.set_title(f"log10 {plan.loss_label}" if zlog else plan.loss_label, color=dim,
                          fontsize=POINTS["tick"], loc="left", pad=3)
            measured["colorbar"] = cax
        self.curve = None
        if style.loss_curve and lay.inset:
            self.curve = LossCurve(self.fig, fig, lay.inset, self.landscape, style, theme, plan.colors,
                                   plan.loss_label)
            measured["inset"] = self.curve.still
            if self.curve.still_sharp is not None:
                measured["inset sharpness"] = self.curve.still_sharp
        self.static = static.bake(measure=list(measured.values()))
        self.boxes = dict(zip(measured, self.static.boxes))  # measured pixel boxes of the fixed text
        heads = [self.boxes[k] for k in ("title", "subtitle") if k in self.boxes]
        if "legend" in self.boxes and any(overlaps(self.boxes["legend"], b, 2) for b in heads):
            # A title too long to share its rows with the legend (a narrow panel): the legend goes under it.
            below = max(b[3] for b in heads) + 0.3 * POINTS["legend"] * look.dpi / 72.0
            self.layout = dataclasses.replace(lay, legend=(lay.title[0], below), legend_loc="upper left")
            if self.curve:
                self.fig.delaxes(self.curve.live)
                self.curve = None
            return self.build(painter, norm, cmap, zlog)
        self.text_px = self.static.text_px
        overlays = [LossInset(self.curve)] if self.curve else []
        overlays += [HUD()] if style.hud else []
        overlays += [RunLines()] if self.race else []
        self.overlays = set_up(overlays, painter)

    def taller_inset(self, extra: float) -> bool:
        """Lay the text out again with the inset ``extra`` pixels taller, where the layout has an inset across
        the frame (a tall frame's): the room a width-bound picture leaves free goes to the curve, not to
        bands of empty frame. Returns whether it did."""
        if self.look.small or self.layout.inset is None or self.layout.shape != "tall":
            return False
        self.layout = layout(self.look.width, self.look.height, self.look.dpi, inset_extra=extra, **self._layout_args)
        return True

    def text_boxes(self, overlays, i: int) -> dict:
        """Every text's pixel box at frame ``i``: the fixed text as measured, each of ``overlays``' as it
        was pasted (call after the frame is painted)."""
        boxes = dict(self.boxes)
        for overlay in overlays:
            boxes.update(overlay.boxes(i))
        return boxes

    def obstacles(self) -> list:
        """The text's pixel boxes that the picture keeps clear of: the static text as measured, the
        per-frame lines at their longest."""
        return list(self.boxes.values()) + [box for o in self.overlays for box in o.reserved()]


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def log_ticks(lo: float, hi: float, most: int = 4) -> list[float]:
    """Ticks for a log axis from ``lo`` to ``hi``: powers of ten, every k-th decade (counted from 10⁰) so that
    at most ``most`` show; where fewer than two decades fall inside, the 1-2-5 steps that do, or the single
    digits (0.2, 0.3) in a range narrower still."""
    first, last = int(np.ceil(np.log10(lo) - 1e-9)), int(np.floor(np.log10(hi) + 1e-9))
    decades = list(range(first, last + 1))
    if len(decades) >= 2:
        every = int(np.ceil(len(decades) / most))
        return [10.0 ** d for d in decades if d % every == 0] if every > 1 else [10.0 ** d for d in decades]
    lo_, hi_ = lo * (1 - 1e-9), hi * (1 + 1e-9)
    for mantissas in ((1, 2, 5), range(1, 10)):
        inside = [m * 10.0 ** d for d in range(first - 1, last + 2) for m in mantissas if lo_ <= m * 10.0 ** d <= hi_]
        if len(inside) >= 2:
            return inside[::int(np.ceil(len(inside) / most))] if len(inside) > most else inside
    # A band narrower than one digit's step: round values across it, as on a linear axis.
    return [float(v) for v in MaxNLocator(3, steps=[1, 2, 5, 10]).tick_values(lo, hi) if lo_ <= v <= hi_]


def power_labels(values) -> list[str]:
    """A log axis's tick labels, in one style: plain where every tick lies from 0.01 to 10⁴ (0.02, 1, 500),
    else powers of ten (10⁻¹⁰, 2×10⁻³)."""
    values = list(values)
    if all(0.01 - 1e-12 <= v <= 1e4 + 1e-6 for v in values):
        return [f"{v:.4g}" for v in values]
    out = []
    for v in values:
        exponent = int(np.floor(np.log10(v) + 1e-9))
        mantissa = v / 10.0 ** exponent
        power = "10" + str(exponent).translate(_SUPERSCRIPT)
        if abs(mantissa - round(mantissa)) > 1e-6:  # a narrow band's round values: 1.55×10⁻⁵
            out.append(f"{mantissa:.3g}×{power}")
        else:
            out.append(power if round(mantissa) == 1 else f"{round(mantissa)}×{power}")
    return out
