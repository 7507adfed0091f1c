"""Landscape + FramePlan -> RGBA frames, with one matplotlib Agg figure built once and reused.

mplot3d has no z-buffer: it sorts whole artists, so a path lying on a surface is usually drawn under
it. We fix the draw order ourselves (``computed_zorder=False``: floor < shadow < surface < ghost < path
< marker), snap the path to the *rendered* (decimated, faceted) surface and lift it slightly, and test
every frame which stretches of the path a hill really hides from the camera: those are drawn as a faint
dashed "ghost" rather than painted over the hill. The floor map with each path's shadow is unambiguous
from every angle.
"""
from __future__ import annotations

from dataclasses import dataclass

import matplotlib

matplotlib.use("Agg")  # before anything imports pyplot; we never use pyplot state
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LightSource, Normalize, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator

from .compute import Landscape
from .plan import FramePlan
from .scene import Style

THEMES = {
    "dark": dict(bg="#0d1117", fg="#e6edf3", dim="#8b949e", marker_edge="#ffffff"),
    "light": dict(bg="#ffffff", fg="#1f2328", dim="#57606a", marker_edge="#000000"),
}
BOX_ASPECT = np.array([1.0, 1.0, 0.62])
LIFT = 0.025  # path height above the rendered surface, as a share of the z range
MAX_PATH_VERTICES = 700
_RAY_SAMPLES = np.geomspace(0.004, 2.2, 72)  # distances along the ray to the camera, in box units


@dataclass(frozen=True)
class Look:
    """How frames are made at a given quality: pixel size and the work per frame."""

    width: int
    height: int
    surface_quads: int = 60
    ticks: int = 4

    @property
    def dpi(self) -> float:
        # Text and lines keep their proportions at every resolution: 480 lines are 100 dpi.
        return 100.0 * self.height / 480.0


def robust_range(z: np.ndarray) -> tuple[float, float]:
    """The z range to show: the full range unless a few extreme values (a divergent corner) would
    squash everything else, in which case the top is clipped near the 98th percentile."""
    finite = z[np.isfinite(z)]
    if finite.size == 0:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    q = float(np.percentile(finite, 98))
    if hi - lo > 3 * (q - lo) > 0:
        hi = q + 0.25 * (q - lo)
    if hi <= lo:
        hi = lo + 1.0
    return lo, hi


def _decimate(n: int, count: int) -> np.ndarray:
    """Every k-th index (and the last) so at most about ``count`` quads remain, all the same width:
    uneven facets shade unevenly and read as stripes."""
    stride = max(1, int(np.ceil((n - 1) / max(count, 1))))
    idx = np.arange(0, n, stride)
    return idx if idx[-1] == n - 1 else np.append(idx, n - 1)


def bilinear(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z[i, j] sampled at (xs[j], ys[i]), interpolated at points (x, y); points are clamped to the grid."""
    j = np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2)
    i = np.clip(np.searchsorted(ys, y) - 1, 0, len(ys) - 2)
    tx = np.clip((x - xs[j]) / (xs[j + 1] - xs[j]), 0, 1)
    ty = np.clip((y - ys[i]) / (ys[i + 1] - ys[i]), 0, 1)
    return ((1 - ty) * ((1 - tx) * z[i, j] + tx * z[i, j + 1])
            + ty * ((1 - tx) * z[i + 1, j] + tx * z[i + 1, j + 1]))


class HeightField:
    """The surface as drawn, in data units and in the axes' box units, for snapping and occlusion.

    ``zlim`` are the axes' z limits: the box maps (x, y, z) limits onto BOX_ASPECT.
    """

    def __init__(self, xs: np.ndarray, ys: np.ndarray, z: np.ndarray, zlim: tuple[float, float]):
        self.xs, self.ys, self.z = xs, ys, z
        self.lo = np.array([xs[0], ys[0], zlim[0]])
        self.span = np.array([xs[-1] - xs[0], ys[-1] - ys[0], zlim[1] - zlim[0]])

    def height(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return bilinear(self.xs, self.ys, self.z, x, y)

    def to_box(self, pts: np.ndarray) -> np.ndarray:
        return (pts - self.lo) / self.span * BOX_ASPECT

    def hidden(self, pts: np.ndarray, azimuth: float, elevation: float) -> np.ndarray:
        """For points (N, 3) in data units: True where the surface lies between the point and the camera.

        March from each point towards the eye (mplot3d's eye sits along this direction in box units)
        and look for a sample under the surface while inside the surface's footprint.
        """
        a, e = np.radians(azimuth), np.radians(elevation)
        eye = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])
        box = self.to_box(pts)
        samples = box[:, None, :] + _RAY_SAMPLES[None, :, None] * eye  # (N, S, 3)
        inside = ((samples[..., 0] >= 0) & (samples[..., 0] <= BOX_ASPECT[0])
                  & (samples[..., 1] >= 0) & (samples[..., 1] <= BOX_ASPECT[1])
                  & (samples[..., 2] <= BOX_ASPECT[2]))
        data = samples / BOX_ASPECT * self.span + self.lo
        surface = self.height(data[..., 0], data[..., 1])
        below = data[..., 2] < surface - 0.004 * self.span[2]
        return (inside & below).any(axis=1)


class Painter:
    """One figure, built once; ``paint(i)`` updates camera, paths and text and returns RGBA bytes."""

    def __init__(self, landscape: Landscape, frame_plan: FramePlan, style: Style, look: Look):
        self.landscape, self.plan, self.style, self.look = landscape, frame_plan, style, look
        theme = THEMES[style.theme]
        self.theme = theme
        self.fig = Figure(figsize=(look.width / look.dpi, look.height / look.dpi), dpi=look.dpi,
                          facecolor=theme["bg"])
        self.canvas = FigureCanvasAgg(self.fig)
        aspect = look.width / look.height
        # A wide frame leaves room left for the text; the 3-D box takes the right of centre.
        left = 0.16 if aspect > 1.3 else 0.0
        ax = self.fig.add_axes((left, -0.06, 1.0 - left, 1.04), projection="3d", computed_zorder=False,
                               facecolor=theme["bg"])
        self.ax = ax
        ax.set_box_aspect(tuple(BOX_ASPECT), zoom=float(frame_plan.zoom[0]))
        self._zoom = float(frame_plan.zoom[0])

        xs, ys, z = landscape.alphas, landscape.betas, landscape.loss
        zlo, zhi = robust_range(z)
        zc = np.clip(np.where(np.isfinite(z), z, zhi), zlo, zhi)
        ri, ci = _decimate(len(ys), look.surface_quads), _decimate(len(xs), look.surface_quads)
        xd, yd, zd = xs[ci], ys[ri], zc[np.ix_(ri, ci)]
        floor = zlo - 0.32 * (zhi - zlo)
        self.floor = floor
        zlim = (floor, zhi + 2 * LIFT * (zhi - zlo))
        self.field = HeightField(xd, yd, zd, zlim)
        X, Y = np.meshgrid(xd, yd)

        cmap = matplotlib.colormaps[style.cmap]
        norm = Normalize(zlo, zhi)
        if style.floor:
            ax.contourf(X, Y, zd, zdir="z", offset=floor, levels=14, cmap=cmap, norm=norm, alpha=0.85, zorder=0)
        light = LightSource(azdeg=315, altdeg=50)
        # Hill-shading in the box's own proportions, so the light falls as the viewer sees the shape.
        colors = light.shade(zd, cmap=cmap, norm=norm, blend_mode="soft",
                             vert_exag=BOX_ASPECT[2] / self.field.span[2],
                             dx=BOX_ASPECT[0] / (len(xd) - 1), dy=BOX_ASPECT[1] / (len(yd) - 1))
        ax.plot_surface(X, Y, zd, facecolors=colors, rstride=1, cstride=1, linewidth=0,
                        antialiased=False, shade=False, zorder=2)

        ax.set_xlim(xd[0], xd[-1])
        ax.set_ylim(yd[0], yd[-1])
        ax.set_zlim(*zlim)
        self._style_axes(landscape)

        # Per run: shadow, ghost (hidden stretches), path, start and current markers.
        self.runs = []
        for trace in landscape.traces:
            x, y = trace.alpha, trace.beta
            zs = self.field.height(x, y) + LIFT * (zhi - zlo)
            color = trace.color
            shadow, = ax.plot([], [], [], color=color, alpha=0.75, lw=1.2, zorder=1)
            ghost, = ax.plot([], [], [], color=color, alpha=0.45, lw=1.3, ls=(0, (2, 2)), zorder=3)
            line, = ax.plot([], [], [], color=color, lw=2.4, zorder=4, solid_capstyle="round")
            ax.plot([x[0]], [y[0]], [zs[0]], marker="o", ms=4.5, color=color, mec=theme["marker_edge"],
                    mew=0.6, zorder=5, ls="")
            head, = ax.plot([], [], [], marker="o", ms=8, color=color, mec=theme["marker_edge"], mew=1.4,
                            zorder=6, ls="")
            self.runs.append((trace, np.stack([x, y, zs], 1), shadow, ghost, line, head))

        self._overlay(landscape, style)

    def _style_axes(self, landscape: Landscape) -> None:
        ax, theme, fg, dim = self.ax, self.theme, self.theme["fg"], self.theme["dim"]
        # Lean decorations: no grid, few ticks. Tick labels cost as much per frame as the surface.
        ax.grid(False)
        for axis, label in zip((ax.xaxis, ax.yaxis, ax.zaxis), (*landscape.axis_labels, landscape.loss_name)):
            axis.set_pane_color((0, 0, 0, 0))
            axis.line.set_color(dim)
            axis.set_major_locator(MaxNLocator(self.look.ticks))
            axis.set_tick_params(colors=dim, labelsize=7, pad=0)
            axis.label.set_color(fg)
            axis.set_label_text(label, fontsize=9)
            axis.labelpad = -2

    def _overlay(self, landscape: Landscape, style: Style) -> None:
        fg, dim = self.theme["fg"], self.theme["dim"]
        title = style.title or "Loss landscape"
        self.fig.text(0.025, 0.94, title, color=fg, fontsize=12, weight="bold", va="top")
        if style.subtitle:
            self.fig.text(0.025, 0.885, style.subtitle, color=dim, fontsize=9, va="top")
        self.hud = self.fig.text(0.025, 0.04, "", color=fg, fontsize=9, family="monospace", va="bottom")
        handles = [Line2D([], [], color=t.color, lw=2.4, marker="o", ms=5, label=t.label) for t in landscape.traces]
        legend = self.fig.legend(handles=handles, loc="upper right", frameon=False, fontsize=9,
                                 bbox_to_anchor=(0.985, 0.97))
        for text in legend.get_texts():
            text.set_color(fg)
        self._run_texts = []
        if len(landscape.traces) > 1:
            for k, t in enumerate(landscape.traces):
                self._run_texts.append(self.fig.text(0.025, 0.09 + 0.045 * (len(landscape.traces) - 1 - k), "",
                                                     color=t.color, fontsize=9, family="monospace", va="bottom"))

    def _visible_vertices(self, s: int) -> np.ndarray:
        if s + 1 <= MAX_PATH_VERTICES:
            return np.arange(s + 1)
        return np.unique(np.round(np.linspace(0, s, MAX_PATH_VERTICES)).astype(int))

    def paint(self, i: int) -> memoryview:
        plan, ax = self.plan, self.ax
        azimuth, elevation = float(plan.azimuth[i]), float(plan.elevation[i])
        ax.view_init(elev=elevation, azim=azimuth)
        if plan.zoom[i] != self._zoom:
            self._zoom = float(plan.zoom[i])
            ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self._zoom)
        for k, (trace, pts, shadow, ghost, line, head) in enumerate(self.runs):
            s = int(plan.steps[i, k])
            p = pts[self._visible_vertices(s)]
            hidden = self.field.hidden(p, azimuth, elevation)
            seg_hidden = hidden[:-1] | hidden[1:] if len(p) > 1 else hidden
            # NaN breaks a line: the solid path keeps visible segments, the ghost the hidden ones.
            shown = p.copy()
            ghosted = p.copy()
            vis_v = np.zeros(len(p), bool)
            gho_v = np.zeros(len(p), bool)
            if len(p) > 1:
                vis_v[:-1] |= ~seg_hidden
                vis_v[1:] |= ~seg_hidden
                gho_v[:-1] |= seg_hidden
                gho_v[1:] |= seg_hidden
            shown[~vis_v] = np.nan
            ghosted[~gho_v] = np.nan
            line.set_data_3d(shown[:, 0], shown[:, 1], shown[:, 2])
            ghost.set_data_3d(ghosted[:, 0], ghosted[:, 1], ghosted[:, 2])
            shadow.set_data_3d(p[:, 0], p[:, 1], np.full(len(p), self.floor))
            head.set_data_3d(p[-1:, 0], p[-1:, 1], p[-1:, 2])
            head.set_alpha(0.45 if hidden[-1] else 1.0)
            if self._run_texts:
                loss = trace.loss[s]
                value = f"{loss:.4g}" if np.isfinite(loss) else "diverged"
                self._run_texts[k].set_text(f"{trace.label:<10} {self.landscape.loss_name} {value}")
        self.hud.set_text(plan.text[i])
        self.canvas.draw()
        return self.canvas.buffer_rgba()

    def close(self) -> None:
        self.fig.clear()
