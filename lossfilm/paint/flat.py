"""The flat view (``Style(view="2d")``): the loss as a map seen from above, with contour lines, every
path growing across it, the minima starred; an Interpolation as a plain plot of the loss along t, both
splits, a and b marked and the barrier shaded. The text around it (title, legend, HUD, loss lines, inset)
is the 3-D film's chrome, in the same layout, and so are its overlays' protocol and order.

The map never changes (in an evolving film it changes only as a whole image): it is drawn once, with the
static text, into a background that every frame starts from, and only the overlays' animated artists
(paths, heads, the inset's lines) are drawn on it (matplotlib's blitting).
"""
from __future__ import annotations

import copy

import matplotlib
import numpy as np
from matplotlib import patheffects
from matplotlib.colors import Normalize
from matplotlib.ticker import MaxNLocator

from ..landscape import Landscape
from ..plan import FramePlan
from ..scene.view import Style
from ..settings import Look
from .chrome import Chrome
from .colors import THEMES, blend, contrasting, log_heights, z_extent
from .layout import POINTS, free_band
from .overlays import Overlay, set_up
from .paths import STAR, visible_vertices
from .sprites import TextSprites
from .story import story_overlays


class FlatPainter:
    """``paint(i)`` -> RGBA of frame i, in the 3-D painter's layout, seen from above."""

    def __init__(self, landscape: Landscape, frame_plan: FramePlan, style: Style, look: Look):
        self.landscape, self.plan, self.style, self.look = landscape, frame_plan, style, look
        theme = self.theme = THEMES[style.theme]
        self.chrome = Chrome(landscape, frame_plan, style, look, theme)
        self.fig, self.canvas = self.chrome.fig, self.chrome.canvas
        self.line = "barrier" in landscape.facts  # an Interpolation: the loss along t
        self.zlog = style.zscale == "log"
        zlo, zhi = z_extent(landscape, style)
        self.norm = Normalize(zlo, zhi)
        self.cmap = contrasting(matplotlib.colormaps[style.cmap], theme["bg"])
        self.sprites = TextSprites(look.dpi)
        self.ax = self.fig.add_axes((0.3, 0.2, 0.5, 0.6), facecolor=theme["bg"])
        self.chrome.build(self, self.norm, self.cmap, self.zlog)
        self._place_axes()
        self.morph = None
        if self.line:
            self._line_view(landscape)
        else:
            self._map_view(landscape, zlo, zhi)
        self._style_axes()
        self.paths = FlatPaths()
        # The style's own overlays are set up before the background is taken: what they draw once is
        # part of it, what they animate is drawn every frame.
        own = [FlatMinima(), self.paths] if not self.line else [self.paths]  # a line's plot stars its a and b
        self.overlays = (set_up(own, self) + self.chrome.overlays + story_overlays(self)
                         + set_up(map(copy.copy, style.overlays), self))
        for overlay in self.overlays:
            for artist in overlay.animated:
                artist.set_animated(True)
        self.canvas.draw()
        self._background = self._with_text(self.canvas.copy_from_bbox(self.fig.bbox))

    layout = property(lambda self: self.chrome.layout)
    boxes = property(lambda self: self.chrome.boxes)
    text_px = property(lambda self: self.chrome.text_px)
    curve = property(lambda self: self.chrome.curve)
    runs = property(lambda self: self.paths.runs)

    def to_pixels(self, alpha, beta) -> np.ndarray:
        """Where points (alpha, beta) are drawn: (N, 2) pixels, x from the left and y from the top (on an
        Interpolation's plot, alpha is t and beta the loss as plotted)."""
        xy = np.column_stack([np.atleast_1d(np.asarray(alpha, float)), np.atleast_1d(np.asarray(beta, float))])
        screen = self.ax.transData.transform(xy)
        screen[:, 1] = self.look.height - screen[:, 1]
        return screen

    def text_boxes(self, i: int) -> dict[str, tuple[float, float, float, float]]:
        """Every text's pixel box at frame ``i`` (call after ``paint(i)``)."""
        return self.chrome.text_boxes(self.overlays, i)

    # -- what never changes ----------------------------------------------------------------------------

    def _place_axes(self) -> None:
        """The plot fills the part of the frame the text leaves free, with room for its tick labels and
        axis names on the left and below."""
        text = self.chrome.obstacles()
        w, h = self.look.width, self.look.height
        left, top, right, bottom = free_band(w, h, text, margin=0.012 * w)
        font = POINTS["tick"] * self.look.dpi / 72.0
        left, bottom = left + 6.5 * font, bottom - 4.2 * font
        top, right = top + 1.0 * font, right - 1.5 * font
        self.ax.set_position((left / w, 1 - bottom / h, (right - left) / w, (bottom - top) / h))

    def _heights(self, loss: np.ndarray) -> np.ndarray:
        return log_heights(loss) if self.zlog else np.asarray(loss, np.float64)

    def _map_view(self, landscape: Landscape, zlo: float, zhi: float) -> None:
        xs, ys = landscape.alphas, landscape.betas
        grids = landscape.surfaces if landscape.surfaces is not None else landscape.loss[None]
        zcs = np.clip(np.nan_to_num(self._heights(grids), nan=zhi, posinf=zhi, neginf=zlo), zlo, zhi)
        extent = (xs[0], xs[-1], ys[0], ys[-1])
        self.image = self.ax.imshow(zcs[-1], extent=extent, origin="lower", cmap=self.cmap, norm=self.norm,
                                    interpolation="bilinear", aspect="auto", zorder=0)
        levels = np.linspace(zlo, zhi, 15)[1:-1]
        self.contours = [self.ax.contour(xs, ys, g, levels=levels, colors=self.theme["bg"], linewidths=0.6,
                                         alpha=0.45, zorder=1) for g in zcs]
        if len(zcs) > 1:  # an evolving film: the image is the blend of two moments, redrawn each frame
            self.morph_grids = zcs
            self.morph = True
            self.image.set_animated(True)
            for c in self.contours:
                c.set_animated(True)
        self.ax.set_xlim(xs[0], xs[-1])
        self.ax.set_ylim(ys[0], ys[-1])
        names = landscape.axis_labels
        self.ax.set_xlabel(names[0])
        self.ax.set_ylabel(names[1])

    def _line_view(self, landscape: Landscape) -> None:
        ts, facts = landscape.alphas, landscape.facts
        z = self._heights(landscape.loss)
        splits = [facts.get("beta_ticks", {}).get(k, k) for k in ("0", "1")]
        fg, dim = self.theme["fg"], self.theme["dim"]
        self.ax.axvspan(0.0, 1.0, color=dim, alpha=0.12, lw=0, zorder=0)  # the segment from a to b
        self.ax.plot(ts, z[0], color=fg, lw=2.0, zorder=2, label=splits[0])
        self.ax.plot(ts, z[1], color=dim, lw=1.6, ls=(0, (4, 3)), zorder=2, label=splits[1])
        key = self.ax.legend(loc="upper center", frameon=False, fontsize=POINTS["legend"], ncols=2, handlelength=2.6)
        for text in key.get_texts():
            text.set_color(fg)
        ends = [int(np.argmin(np.abs(ts))), int(np.argmin(np.abs(ts - 1)))]
        self.ax.plot(ts[ends], z[0, ends], ls="", marker="*", ms=14, color=STAR, mec=self.theme["bg"], mew=0.8,
                     zorder=4)
        for i, name in zip(ends, facts.get("models", {})):
            self.ax.annotate(name, (ts[i], z[0, i]), xytext=(0, -16), textcoords="offset points", ha="center",
                             color=STAR, fontsize=POINTS["legend"], weight="bold", zorder=4)
        # The barrier: from the higher end up to the highest point between a and b.
        at = facts["barrier_at"]
        peak = int(np.argmin(np.abs(ts - at)))
        top, base = z[0, peak], max(z[0, ends])
        self.ax.annotate("", (at, top), (at, base), arrowprops=dict(arrowstyle="<->", color=STAR, lw=1.2),
                         zorder=3)
        self.ax.axhline(base, color=STAR, lw=0.8, ls=":", alpha=0.7, zorder=1)
        finite = z[np.isfinite(z)]
        lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        pad = 0.08 * ((hi - lo) or 1.0)
        self.ax.set_xlim(ts[0], ts[-1])
        self.ax.set_ylim(lo - pad, hi + pad)
        self.ax.set_xlabel(landscape.axis_labels[0])
        self.ax.set_ylabel(f"log10 {self.plan.loss_label}" if self.zlog else self.plan.loss_label)

    def _style_axes(self) -> None:
        ax, fg, dim = self.ax, self.theme["fg"], self.theme["dim"]
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
        for side in ("left", "bottom"):
            ax.spines[side].set_color(dim)
        ax.tick_params(colors=dim, labelsize=POINTS["tick"], length=3)
        ax.xaxis.set_major_locator(MaxNLocator(self.look.ticks + 1))
        ax.yaxis.set_major_locator(MaxNLocator(self.look.ticks + 1))
        for label in (ax.xaxis.label, ax.yaxis.label):
            label.set_color(fg)
            label.set_fontsize(POINTS["axis_name"])
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.3g}".replace("-", "\u2212")))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:.3g}".replace("-", "\u2212")))

    def _xy(self, trace) -> tuple[np.ndarray, np.ndarray]:
        """Where a path is drawn: (alpha, beta) on the map; (t, its loss) on an Interpolation's plot."""
        if not self.line:
            return trace.alpha, trace.beta
        return trace.alpha, self._heights(trace.loss)

    def _with_text(self, background):
        """The background with the text that never changes pasted on it, so no frame pastes it again."""
        self.canvas.restore_region(background)
        pixels = np.asarray(self.canvas.buffer_rgba())
        self.chrome.static.paste(pixels)
        return self.canvas.copy_from_bbox(self.fig.bbox)

    # -- every frame ---------------------------------------------------------------------------------

    def paint(self, i: int) -> memoryview:
        plan = self.plan
        self.canvas.restore_region(self._background)
        if self.morph:
            k, u = blend(plan.surface_at[i], len(self.morph_grids))
            self.image.set_data((1 - u) * self.morph_grids[k] + u * self.morph_grids[k + 1])
            self.ax.draw_artist(self.image)
            self.ax.draw_artist(self.contours[int(round(plan.surface_at[i]))])
        for overlay in self.overlays:
            overlay.update(i)
            for artist in overlay.animated:
                artist.axes.draw_artist(artist)
        frame = self.canvas.buffer_rgba()
        pixels = np.asarray(frame)
        for overlay in self.overlays:
            overlay.paste(pixels, i)
        return frame

    def close(self) -> None:
        self.fig.clear()


class FlatPaths(Overlay):
    """Per run: its path and the head, drawn each frame; its start, drawn once (in the background)."""

    def setup(self, painter) -> None:
        self.painter, self.runs, self.starts = painter, [], []
        theme = painter.theme
        for trace, color in zip(painter.landscape.traces, painter.plan.colors):
            x, y = painter._xy(trace)
            line, = painter.ax.plot([], [], color=color, lw=2.2, zorder=5, solid_capstyle="round",
                                    path_effects=[patheffects.Stroke(linewidth=3.8, foreground=theme["bg"], alpha=0.7),
                                                  patheffects.Normal()])
            start, = painter.ax.plot(x[:1], y[:1], marker="o", ms=4.5, color=color, mec=theme["marker_edge"],
                                     mew=0.6, ls="", zorder=6, animated=painter.plan.shown is not None)
            head, = painter.ax.plot([], [], marker="o", ms=8, color=color, mec=theme["marker_edge"], mew=1.4,
                                    ls="", zorder=7, clip_on=False)
            self.runs.append((trace, x, y, line, head))
            self.starts.append(start)
        self.animated = tuple(a for *_, line, head in self.runs for a in (line, head))
        if painter.plan.shown is not None:  # a storyboard hides runs in some beats: their starts too
            self.animated += tuple(self.starts)

    def update(self, i: int) -> None:
        painter = self.painter
        xlo, xhi = painter.ax.get_xlim()
        ylo, yhi = painter.ax.get_ylim()
        for k, (trace, x, y, line, head) in enumerate(self.runs):
            if painter.plan.shown is not None:
                on = bool(painter.plan.shown[i, k])
                for artist in (line, head, self.starts[k]):
                    artist.set_visible(on)
                if not on:
                    continue
            s = int(painter.plan.steps[i, k])
            idx = visible_vertices(s)
            px, py = x[idx], y[idx]
            line.set_data(px, py)
            with np.errstate(invalid="ignore"):
                inside = (px >= xlo) & (px <= xhi) & (py >= ylo) & (py <= yhi)
            on = np.nonzero(inside & np.isfinite(px) & np.isfinite(py))[0]
            last = on[-1:] if len(on) else on
            head.set_data(px[last], py[last])
            diverged = trace.diverged_at >= 0 and s >= trace.steps
            left = bool(len(last) and last[0] < len(px) - 1)
            head.set_marker("X" if diverged else "s" if left else "o")
            head.set_markerfacecolor(painter.theme["bg"] if left and not diverged else head.get_color())


class FlatMinima(Overlay):
    """The surface's known minima as stars on the map (a ModelsPlane's a, b, c named above theirs): drawn
    once, into the background."""

    def setup(self, painter) -> None:
        m = painter.landscape.minima
        if not len(m):
            return
        painter.ax.plot(m[:, 0], m[:, 1], ls="", marker="*", ms=13, color=STAR, mec=painter.theme["bg"], mew=0.8,
                        zorder=4)
        for (x, y), name in zip(m, painter.landscape.facts.get("models", {})):
            painter.ax.annotate(name, (x, y), xytext=(0, 9), textcoords="offset points", ha="center",
                                color=STAR, fontsize=POINTS["legend"], weight="bold", zorder=4)
