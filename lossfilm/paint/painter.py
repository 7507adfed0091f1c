"""Landscape + FramePlan -> RGBA frames, with one matplotlib Agg figure built once and reused.

mplot3d has no z-buffer: it sorts whole artists, so a path lying on a surface is usually drawn under
it. We fix the draw order ourselves (``computed_zorder=False``: floor < shadow < surface < ghost < path
< marker), snap the path to the *rendered* (decimated, faceted) surface and lift it slightly, and test
every frame which stretches of the path a hill really hides from the camera: those are drawn as a faint
dashed "ghost" rather than painted over the hill. The floor map with each path's shadow is unambiguous
from every angle.
"""
from __future__ import annotations

import dataclasses

import matplotlib
import matplotlib.colors
import numpy as np
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LightSource, Normalize
from matplotlib.figure import Figure
from matplotlib.cm import ScalarMappable
from matplotlib.lines import Line2D
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.mplot3d import proj3d
from mpl_toolkits.mplot3d.art3d import Line3D

from .valleys import (drawn_heights, light_weights, valley_snapped)
from ..landscape import Landscape
from .layout import POINTS, compacted, free_band, layout
from ..plan import FramePlan, loss_text
from ..scene.view import Style
from ..settings import Look
from .sprites import MonoLine, TextSprites
from .colors import LIFT, THEMES, bilinear, contrasting, log_heights, z_extent
from .geometry import BOX_ASPECT, HeightField, LIGHT_REACH, LIGHT_SPAN, OCCLUSION_SAMPLES, SNAP_DEPTH, _decimate, _nearest, facets, smoothed
from .surface import FastLine3D, FastSurface, _surface, fast_floor
from .axes3d import LeanAxes
from .chrome import LossCurve, StaticLayer, wrapped_subtitle


BASE_ZOOM = 0.94  # the box's diagonal and its labels stay inside the frame at every azimuth
MAX_PATH_VERTICES = 1500  # beyond this many steps the path is subsampled for drawing


class Painter:
    """One figure, built once; ``paint(i)`` updates camera, paths and text and returns RGBA bytes."""

    def _frame(self, landscape: Landscape, frame_plan: FramePlan, style: Style, look: Look) -> None:
        """What every painter starts from, whatever it draws: the figure, its canvas and the text's layout."""
        self.landscape, self.plan, self.style, self.look = landscape, frame_plan, style, look
        self.theme = THEMES[style.theme]
        self.fig = Figure(figsize=(look.width / look.dpi, look.height / look.dpi), dpi=look.dpi,
                          facecolor=self.theme["bg"])
        self.canvas = FigureCanvasAgg(self.fig)
        race = len(landscape.traces) > 1 and style.hud  # the HUD switch covers the runs' loss lines too
        self.race = race
        longest = max([max(10, len(label)) + len(frame_plan.loss_label) + 11 for label in frame_plan.labels] if race
                      else [], default=0)
        longest = max(longest, max(map(len, frame_plan.text), default=0) if style.hud else 0)
        self._subtitle = wrapped_subtitle(style.subtitle, look, frame_plan.labels, race)
        self.layout = layout(look.width, look.height, look.dpi, runs=len(landscape.traces), race=race,
                             subtitle=self._subtitle.count("\n") + 1 if self._subtitle else 0,
                             colorbar=style.colorbar, inset=style.loss_curve, line_chars=longest)

    def __init__(self, landscape: Landscape, frame_plan: FramePlan, style: Style, look: Look):
        self._frame(landscape, frame_plan, style, look)
        theme = self.theme
        rect = self.layout.axes
        ax = self.fig.add_axes(rect, projection="3d", computed_zorder=False, facecolor=theme["bg"])
        ax.patch.set_visible(False)  # the figure's own background, the same colour, is already there (0.6 ms)
        self._rect = rect
        self.ax = ax
        self.base_zoom = BASE_ZOOM  # until _fit measures the picture against the text
        self._focus_centre = (0.5, 0.5)  # until _fit finds the picture's part of the frame
        self._rows = None  # the rows the picture may take, once the header and footer close in
        ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * float(frame_plan.zoom[0]))
        self._zoom = float(frame_plan.zoom[0])

        xs, ys = landscape.alphas, landscape.betas
        self.zlog = style.zscale == "log"  # heights, colours, ticks and the path all live in log10 units
        zlo, zhi = z_extent(landscape, style)
        # One surface, or an evolving film's K surfaces (the last is the landscape's loss), on one range.
        grids = landscape.surfaces if landscape.surfaces is not None else landscape.loss[None]
        heights = log_heights(grids) if self.zlog else np.asarray(grids, np.float64)
        self.own_ranges = None
        if style.z_follows and len(grids) > 1:
            # Each surface on its own range, drawn into the film's box: (lo_k, hi_k) maps to (zlo, zhi).
            self.own_ranges = np.array([z_extent(dataclasses.replace(landscape, surfaces=None, loss=g), style)
                                        for g in grids])
            lo_k, hi_k = self.own_ranges[:, 0, None, None], self.own_ranges[:, 1, None, None]
            heights = zlo + (np.where(np.isfinite(heights), heights, hi_k) - lo_k) / (hi_k - lo_k) * (zhi - zlo)
        zcs = np.clip(np.where(np.isfinite(heights), heights, zhi), zlo, zhi)
        zc = zcs[-1]
        lowest = np.unravel_index(np.argmin(zc), zc.shape)
        # Smooth shading would draw as well with fewer facets, but the occlusion test and the silhouette
        # need them: at 0.8 of the preset's, the ray march disagreed with the drawn surface on 17 % of a
        # frame's path points (test_occlusion_agrees_...).
        quads = facets(zc, look.surface_quads)
        ri = _decimate(len(ys), quads, lowest[0])
        ci = _decimate(len(xs), quads, lowest[1])
        xd, yd = xs[ci], ys[ri]
        zds = np.stack([smoothed(g, len(ys) / len(ri), len(xs) / len(ci))[np.ix_(ri, ci)] for g in zcs])
        zd = zds[-1]
        floor = zlo - 0.32 * (zhi - zlo)
        self.floor = floor
        zlim = (floor, zhi + 2 * LIFT * (zhi - zlo))
        # An evolving film is measured (fitted to the frame, its axis ticks placed) on the highest of its
        # surfaces; each frame then shows its own.
        self.field = HeightField(xd, yd, zds.max(0), zlim)
        X, Y = np.meshgrid(xd, yd)
        MX, MY, moved = X, Y, None  # the drawn grid points
        if len(zds) == 1:  # a still surface: grid points onto the floors of valleys narrower than a facet
            # Found in the heights before they are clipped to the z range, whose floor can cut a valley
            # flat. Drawn no deeper than the lattice's own lowest point: a minimum of (nearly) 0 in log z
            # stays the bowl the lattice draws, not a needle to the axis's floor that hides the runs that
            # reach it.
            below = np.where(np.isfinite(heights[-1]), heights[-1], zhi)
            lowest_drawn = max(zlo, float(zd.min()))
            MX, MY, zd, moved = valley_snapped(xs, ys, below, ri, ci, zd, SNAP_DEPTH * (zhi - zlo), self.zlog)
            zd = np.clip(zd, lowest_drawn, zhi)
            if moved.any():  # the paths and the occlusion test read the surface as drawn, on the full grid
                self.field = HeightField(xs, ys, drawn_heights(MX, MY, zd, moved, xd, yd, xs, ys), zlim)
                self.field.mesh = (MX, MY, zd)

        cmap = contrasting(matplotlib.colormaps[style.cmap], theme["bg"])
        norm = Normalize(zlo, zhi)
        self.floors = []
        if style.floor:
            for g in zds:
                self.floors.append(fast_floor(ax.contourf(X, Y, g, zdir="z", offset=floor, levels=14, cmap=cmap,
                                                          norm=norm, alpha=0.85, zorder=0)))
        light = LightSource(azdeg=315, altdeg=50)
        # Hill-shading in the box's own proportions, so the light falls as the viewer sees the shape.
        exaggeration = BOX_ASPECT[2] / self.field.span[2]
        colors = cmap(norm(np.concatenate([zds[:-1], zd[None]])))
        if moved is not None and moved.any():
            # With valleys snapped, the light is the full grid's averaged over a facet: the lattice's
            # own normals, each from neighbours at uneven distances from the valley's floor, would
            # light its walls in stripes.
            shade = light.hillshade(zc, exaggeration, BOX_ASPECT[0] / (len(xs) - 1), BOX_ASPECT[1] / (len(ys) - 1))
            per_row, per_col = len(ys) / len(ri), len(xs) / len(ci)
            lit = smoothed(shade, per_row, per_col)[_nearest(ys, MY), _nearest(xs, MX)]
            if self.zlog:
                # Log z stretches a floor near zero into a trench narrower than a facet, whose walls'
                # points sit unevenly far from it and light its facets in teeth: within two facets of a
                # floor the light blends into its average over eight (light_weights). In linear z the
                # floors snapped are broad valleys', and blending there smudges the article's saddle.
                broad = bilinear(xs, ys, smoothed(shade, LIGHT_SPAN * per_row, LIGHT_SPAN * per_col), MX, MY)
                keep = light_weights(MX, MY, moved, np.median(np.diff(xd)), np.median(np.diff(yd)), LIGHT_REACH)
                lit = broad + keep * (lit - broad)
            colors[-1, ..., :3] = light.blend_soft_light(colors[-1, ..., :3], lit[..., None])
        else:
            for g, rgba in zip(zds, colors):
                rgba[..., :3] = light.shade_rgb(rgba[..., :3], g, blend_mode="soft", vert_exag=exaggeration,
                                                dx=BOX_ASPECT[0] / (len(xd) - 1), dy=BOX_ASPECT[1] / (len(yd) - 1))
        self.surface = FastSurface.adopt(_surface(ax, MX, MY, zd, colors[-1]))
        if style.shading == "smooth":
            self.surface.smooth(xd, yd, colors[-1], moved)
        self.morph = None
        self._zrange = None  # the z axis's extent and ticks: the surface's own, unless set below
        if len(zds) > 1:
            self.morph = self.surface.morphing(xd, yd, zds, colors)
            self._zrange = (float(zds.min()), float(zds.max()))
            if self.own_ranges is not None:  # ticks are placed by value over the box's whole range
                self._zrange = (zlo, zhi)
        if style.z_range is not None:  # a shared range (Compare): every panel's z axis has the same ticks
            self._zrange = (zlo, zhi)

        ax.set_xlim(xd[0], xd[-1])
        ax.set_ylim(yd[0], yd[-1])
        ax.set_zlim(*zlim)
        self._style_axes(landscape)

        # Per run: shadow, ghost (hidden stretches), path, start and current markers.
        self.norm, self.cmap = norm, cmap
        self.runs = []
        self._starts = []
        self._lift = LIFT * (zhi - zlo)
        for trace, color in zip(landscape.traces, frame_plan.colors):
            x, y = trace.alpha, trace.beta
            zs = self.field.height(x, y) + LIFT * (zhi - zlo)
            shadow, = ax.plot([], [], [], color=color, alpha=0.75, lw=1.2, zorder=1)
            ghost, = ax.plot([], [], [], color=color, alpha=0.45, lw=1.3, ls=(0, (2, 2)), zorder=3)
            # A dark edge keeps the path readable on any part of the colour map (a pink path on magma's
            # magenta middle, once its black end is trimmed for contrast with the background).
            line, = ax.plot([], [], [], color=color, lw=2.4, zorder=4, solid_capstyle="round",
                            path_effects=[patheffects.Stroke(linewidth=3.8, foreground=theme["bg"], alpha=0.7),
                                          patheffects.Normal()])
            start, = ax.plot([x[0]], [y[0]], [zs[0]], marker="o", ms=4.5, color=color, mec=theme["marker_edge"],
                             mew=0.6, zorder=5, ls="")
            self._starts.append(start)
            head, = ax.plot([], [], [], marker="o", ms=8, color=color, mec=theme["marker_edge"], mew=1.4,
                            zorder=6, ls="")
            self.runs.append((trace, np.stack([x, y, zs], 1), shadow, ghost, line, head))

        self._minima(landscape, zhi - zlo)
        self.arrows = self._arrow_artists(style)
        # Zoomed or focused, the picture may reach past the axes' box: the frame's edge is the limit.
        for artist in ax.get_children():
            artist.set_clip_on(False)
            if type(artist) is Line3D:
                FastLine3D.adopt(artist)
        self._overlay(landscape, style)
        self._fit()
        slack = self._slack()
        if self.layout.shape != "wide" and slack > 0.03 * look.height:
            # A square or tall frame whose picture is narrower than its band: header and footer close in,
            # and the picture stays between them.
            self._rows = (self._free[1] + slack / 2 - 2 * POINTS["tick"] * look.dpi / 72.0,
                          self._free[3] - slack / 2 + 2 * POINTS["tick"] * look.dpi / 72.0)
            self.layout = compacted(self.layout, slack / 2, slack / 2)
            if self.curve:
                self.fig.delaxes(self.curve.live)
            self._overlay(landscape, style)
            self._fit()

    _marks: list = []  # (point, name) of each named star

    def _paste_marks(self, frame: np.ndarray) -> None:
        """Each named star's name just above it, at its projected position (after the frame is drawn)."""
        if not self._marks:
            return
        xyz = np.array([p for p, _ in self._marks], dtype=float)
        px, py, _ = proj3d.proj_transform(xyz[:, 0], xyz[:, 1], xyz[:, 2], self.ax.M)
        screen = self.ax.transData.transform(np.column_stack([px, py]))
        lift = POINTS["legend"] * self.look.dpi / 72.0
        clip = self.axes.clip
        for (x, y), (_, name) in zip(screen, self._marks):
            if clip is not None and not (clip[0] <= x <= clip[2] and clip[1] <= frame.shape[0] - y <= clip[3]):
                continue  # its star is beyond the picture's frame (a zoom)
            sprite = self.sprites.get(name, "#ffd166", POINTS["legend"], weight="bold", va="bottom")
            sprite.paste(frame, x, frame.shape[0] - y - 0.6 * lift)

    def _minima(self, landscape: Landscape, zspan: float) -> None:
        """The surface's known minima as small stars, on the surface and on the floor map."""
        m = landscape.minima
        if not len(m):
            return
        inside = self.field.covers(np.column_stack([m, np.zeros(len(m))]))
        m = m[inside]
        zs = self.field.height(m[:, 0], m[:, 1]) + LIFT * zspan
        star = dict(marker="*", ms=11, color="#ffd166", mec=self.theme["bg"], mew=0.8, ls="")
        self.ax.plot(m[:, 0], m[:, 1], zs, zorder=4.5, **star)
        self.ax.plot(m[:, 0], m[:, 1], np.full(len(m), self.floor), zorder=1.5, alpha=0.9, **star)
        # A ModelsPlane's stars are its models a, b, c: each is named beside its star (pasted per frame).
        names = [name for name, keep in zip(landscape.facts.get("models", {}), inside) if keep]
        self._marks = [((x, y, z), name) for (x, y), z, name in zip(m, zs, names)]

    ARROW = 0.16  # an arrow's length, as a share of the map's larger side

    def _arrow_artists(self, style: Style) -> list:
        """Per run: (run index, kind, artist) for the gradient and velocity arrows the style asks for."""
        out = []
        for k, (trace, color) in enumerate(zip(self.landscape.traces, self.plan.colors)):
            kinds = [k for k, on in (("gradient", style.gradient_arrows and trace.grad is not None),
                                     ("velocity", style.velocity_arrows)) if on]
            for kind in kinds:
                line, = self.ax.plot([], [], [], color=self.theme["fg"] if kind == "gradient" else color, lw=2.4,
                                     ls="-" if kind == "gradient" else (0, (1, 1)), zorder=6.5, solid_capstyle="round")
                out.append((k, kind, line))
        return out

    def _arrow(self, start: np.ndarray, direction: np.ndarray, length: float) -> np.ndarray:
        """Points of an arrow on the surface: shaft and two barbs, NaN-separated, in data units."""
        d = direction / (np.hypot(*direction) or 1.0)
        tip = start[:2] + length * d
        barbs = [tip - 0.35 * length * (np.array([[c, -s_], [s_, c]]) @ d)
                 for c, s_ in ((np.cos(0.45), np.sin(0.45)), (np.cos(-0.45), np.sin(-0.45)))]
        xy = np.array([start[:2], tip, [np.nan, np.nan], barbs[0], tip, [np.nan, np.nan], barbs[1], tip])
        z = self.field.height(np.nan_to_num(xy[:, 0]), np.nan_to_num(xy[:, 1])) + self._lift
        z[np.isnan(xy[:, 0])] = np.nan
        return np.column_stack([xy, z])

    def _update_arrows(self, i: int) -> None:
        span = max(self.field.span[0], self.field.span[1]) * self.ARROW
        for k, kind, line in self.arrows:
            trace = self.landscape.traces[k]
            s = int(self.plan.steps[i, k])
            here = np.array([trace.alpha[s], trace.beta[s]])
            if kind == "gradient":
                direction, length = -trace.grad[s], span
            else:  # the step just taken, its length relative to the run's longest step
                prev = max(s - 1, 0)
                direction = here - np.array([trace.alpha[prev], trace.beta[prev]])
                steps = np.hypot(np.diff(trace.alpha), np.diff(trace.beta))
                longest = float(np.nanmax(steps)) if steps.size else 0.0
                length = span * (np.hypot(*direction) / longest if longest > 0 else 0.0)
            if not np.isfinite(direction).all() or np.hypot(*direction) == 0 or not self.field.covers(
                    np.array([[*here, 0.0]]))[0]:
                line.set_data_3d([], [], [])
                continue
            pts = self._arrow(here, direction, max(length, 0.25 * span) if kind == "velocity" else length)
            line.set_data_3d(pts[:, 0], pts[:, 1], pts[:, 2])

    def _style_axes(self, landscape: Landscape) -> None:
        self.ax.set_axis_off()
        self.sprites = TextSprites(self.look.dpi)
        zname = self.style.z_label or self.plan.loss_label
        zname = f"log10 {zname}" if self.zlog else zname
        self.axes = LeanAxes(self.ax, self.field, self.floor, (*landscape.axis_labels, zname),
                             self.theme, self.look.ticks, self.sprites,
                             {float(k): v for k, v in landscape.facts.get("beta_ticks", {}).items()},
                             self._zrange)

    def _overlay(self, landscape: Landscape, style: Style) -> None:
        fg, dim = self.theme["fg"], self.theme["dim"]
        # Text that never changes is rasterised once and pasted onto each frame: drawing a line of text
        # costs about 2 ms a frame at 1080p, as much as a quarter of the surface.
        static = StaticLayer(self.look)
        fig = static.fig
        lay = self.layout
        measured = {}
        title = "Loss landscape" if style.title is None else style.title  # "" shows no title
        if title:
            measured["title"] = fig.text(*lay.fraction(*lay.title), title, color=fg, fontsize=POINTS["title"],
                                         weight="bold", va="top")
        if style.subtitle:
            wrapped = {"linespacing": 1.35} if "\n" in self._subtitle else {}
            measured["subtitle"] = fig.text(*lay.fraction(*lay.subtitle), self._subtitle, color=dim,
                                            fontsize=POINTS["subtitle"], va="top", **wrapped)
        if not self.race:  # in a race each run's loss line, in its colour, is the legend
            handles = [Line2D([], [], color=color, lw=2.4, marker="o", ms=5, label=label)
                       for label, color in zip(self.plan.labels, self.plan.colors)]
            legend = fig.legend(handles=handles, loc="upper right", frameon=False, fontsize=POINTS["legend"],
                                bbox_to_anchor=lay.fraction(*lay.legend), borderaxespad=0.0)
            for text in legend.get_texts():
                text.set_color(fg)
            measured["legend"] = legend
        if style.colorbar and lay.colorbar:
            cax = fig.add_axes(lay.colorbar)
            bar = fig.colorbar(ScalarMappable(self.norm, self.cmap), cax=cax, orientation="horizontal")
            bar.outline.set_edgecolor(dim)
            bar.locator = MaxNLocator(4)
            bar.update_ticks()
            cax.tick_params(colors=dim, labelsize=POINTS["tick"], length=2, pad=1)
            cax.set_title(f"log10 {self.plan.loss_label}" if self.zlog else self.plan.loss_label, color=dim,
                          fontsize=POINTS["tick"], loc="left", pad=3)
            measured["colorbar"] = cax
        self.curve = None
        if style.loss_curve and lay.inset:
            self.curve = LossCurve(self.fig, fig, lay.inset, landscape, style, self.theme, self.plan.colors,
                                   self.plan.loss_label)
            measured["inset"] = self.curve.still
        self.static = static.bake(measure=list(measured.values()))
        self.boxes = dict(zip(measured, self.static.boxes))  # measured pixel boxes of the fixed text
        self.text_px = self.static.text_px
        self.hud = MonoLine(self.look.dpi, fg, POINTS["hud"]) if style.hud else None
        self._run_lines = [MonoLine(self.look.dpi, c, POINTS["hud"]) for c in self.plan.colors] if self.race else []
        self._run_texts = [""] * len(self._run_lines)

    FIT_VIEWS = 36

    def _picture_extent(self, azimuth: float, elevation: float) -> np.ndarray:
        """The pixel box (left, top, right, bottom) of the surface, its floor and its axis labels' anchor
        points at one view."""
        grid = self.field.vertices()
        self.axes.update(azimuth, elevation)
        labels = np.array([p for p, _ in self.axes.labels], dtype=float).reshape(-1, 3)
        # Label anchors count, their ink does not: the free band keeps a text line's margin for that. The
        # z axis's name (the last label) is the exception: a long name would reach past that margin.
        half = np.zeros((len(labels), 2))
        if len(labels):
            name = self.axes.labels[-1][1]
            half[-1] = (name.width / 2, name.height / 2)
        pts = np.concatenate([grid, np.column_stack([grid[:, :2], np.full(len(grid), self.floor)]), labels])
        px_, py_, _ = proj3d.proj_transform(pts[:, 0], pts[:, 1], pts[:, 2], self.ax.get_proj())
        screen = self.ax.transData.transform(np.column_stack([px_, py_]))
        screen[:, 1] = self.look.height - screen[:, 1]
        pad = np.concatenate([np.zeros((2 * len(grid), 2)), half])
        return np.array([(screen[:, 0] - pad[:, 0]).min(), (screen[:, 1] - pad[:, 1]).min(),
                         (screen[:, 0] + pad[:, 0]).max(), (screen[:, 1] + pad[:, 1]).max()])

    def picture_box(self) -> tuple[float, float, float, float]:
        """The pixel box of the surface, its floor and its axis labels over the whole camera move (the
        focus slide aside), at the painter's current zoom and position. Every view is measured at the
        move's widest zoom: a move that zooms in goes past the frame's edge on purpose (measuring it
        there shrank the whole film to fit its closest view)."""
        plan, boxes = self.plan, []
        widest = float(np.min(plan.zoom))
        for i in np.unique(np.linspace(0, len(plan) - 1, self.FIT_VIEWS).round().astype(int)):
            self.ax.view_init(elev=float(plan.elevation[i]), azim=float(plan.azimuth[i]))
            self.ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * widest)
            self.ax.apply_aspect()
            boxes.append(self._picture_extent(float(plan.azimuth[i]), float(plan.elevation[i])))
        self.ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * self._zoom)
        b = np.array(boxes)
        return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())

    def _fit(self) -> None:
        """Scale and slide the 3-D picture so that, at every view of the camera move, it fills the
        largest part of the frame the text leaves free, and touches no text."""
        font = POINTS["tick"] * self.look.dpi / 72.0
        text = list(self.boxes.values()) + self._fixed_lines()
        self.axes.obstacles = text  # the z axis's name keeps clear of every text
        free = free_band(self.look.width, self.look.height, text, margin=0.012 * self.look.width, rows=self._rows)
        plan = self.plan
        # Focusing brings a point to the middle of the picture's part of the frame, not of the frame.
        self._focus_centre = ((free[0] + free[2]) / 2 / self.look.width, 1 - (free[1] + free[3]) / 2 / self.look.height)
        if np.ptp(plan.zoom) > 0 or plan.focus.max() > 0:
            # A move that zooms in or slides the picture aside goes past the frame it was fitted to: it is
            # seen through that frame (the text stays clear of it), not drawn under the text.
            self._clip(free)
        # The labels are pasted centred on their anchors: keep half a label clear all round.
        free = (free[0] + 2.5 * font, free[1] + font, free[2] - 2.5 * font, free[3] - font)
        for _ in range(3):  # the projection is not exactly linear in the zoom: measure again
            left, top, right, bottom = self.picture_box()
            scale = min((free[2] - free[0]) / (right - left), (free[3] - free[1]) / (bottom - top))
            cx, cy = self._axes_centre()
            # Zooming scales the picture about the axes' centre; sliding the axes moves it whole.
            new = np.array([cx + scale * (left - cx), cy + scale * (top - cy), cx + scale * (right - cx),
                            cy + scale * (bottom - cy)])
            dx = (free[0] + free[2]) / 2 - (new[0] + new[2]) / 2
            dy = (free[1] + free[3]) / 2 - (new[1] + new[3]) / 2
            self.base_zoom *= scale
            x, y, w, h = self._rect
            self._rect = (x + dx / self.look.width, y - dy / self.look.height, w, h)
            self.ax.set_position(self._rect)
            if abs(scale - 1) < 0.01 and abs(dx) < 1 and abs(dy) < 1:
                break
        self.ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * self._zoom)
        self._free = free

    def _slack(self) -> float:
        """How much taller the band the text leaves free is than the fitted picture, in pixels."""
        left, top, right, bottom = self.picture_box()
        return max(0.0, (self._free[3] - self._free[1]) - (bottom - top))

    def _clip(self, band) -> None:
        """Draw the 3-D picture only inside ``band`` (pixel left, top, right, bottom), labels included."""
        from matplotlib.transforms import Bbox

        left, top, right, bottom = band
        box = Bbox.from_extents(left, self.look.height - bottom, right, self.look.height - top)
        for artist in self.ax.get_children():
            artist.set_clip_box(box)
            artist.set_clip_on(True)
        self.axes.clip = band

    def _axes_centre(self) -> tuple[float, float]:
        self.ax.apply_aspect()
        b = self.ax.get_position()
        return (b.x0 + b.x1) / 2 * self.look.width, (1 - (b.y0 + b.y1) / 2) * self.look.height

    def _fixed_lines(self) -> list:
        """Where the HUD and loss lines go, at their longest."""
        boxes = []
        if self.hud:
            longest = max(self.plan.text, key=len, default="")
            boxes.append(self.hud.box(longest, *self.layout.hud))
        width = max(10, *(len(label) for label in self.plan.labels)) + len(self.plan.loss_label) + 11 if self.plan.labels else 0
        boxes += [line.box("0" * width, *at) for line, at in zip(self._run_lines, self.layout.run_lines)]
        return boxes

    def text_boxes(self, i: int) -> dict[str, tuple[float, float, float, float]]:
        """Every text's pixel box at frame ``i``: the fixed text as measured, the HUD and loss lines as
        they are pasted (call after ``paint(i)``)."""
        boxes = dict(self.boxes)
        if self.hud:
            boxes["hud"] = self.hud.box(self.plan.text[i], *self.layout.hud)
        for k, (line, text, at) in enumerate(zip(self._run_lines, self._run_texts, self.layout.run_lines)):
            boxes[f"run {k}"] = line.box(text, *at)
        return boxes

    def surface_box(self) -> tuple[float, float, float, float]:
        """The pixel box of the surface and its floor as last drawn (call after ``paint``)."""
        grid = self.field.vertices()
        pts = np.concatenate([grid, np.column_stack([grid[:, :2], np.full(len(grid), self.floor)])])
        px_, py_, _ = proj3d.proj_transform(pts[:, 0], pts[:, 1], pts[:, 2], self.ax.M)
        screen = self.ax.transData.transform(np.column_stack([px_, py_]))
        height = self.look.height
        return (float(screen[:, 0].min()), float(height - screen[:, 1].max()),
                float(screen[:, 0].max()), float(height - screen[:, 1].min()))

    def _focus(self, amount: float, point: np.ndarray | None = None) -> None:
        """Slide the 3-D axes so that the first run's end point (or ``point``, (alpha, beta) on the
        surface; a NaN beta is the map's middle line) moves ``amount`` of the way to the centre of the
        frame. mplot3d always centres the box; moving the axes moves the whole picture, and the
        projection (so the labels and the occlusion test) stays as it is."""
        x, y, w, h = self._rect
        self.ax.set_position(self._rect)
        if amount <= 0:
            return
        self.ax.apply_aspect()  # the 3-D box keeps its aspect: the active position is a centred part
        if point is not None and np.isfinite(point[0]):
            f = self.field
            a = float(np.clip(point[0], f.xs[0], f.xs[-1]))
            b = float((f.ys[0] + f.ys[-1]) / 2 if not np.isfinite(point[1]) else np.clip(point[1], f.ys[0], f.ys[-1]))
            end = np.array([a, b, float(f.height(np.array([a]), np.array([b]))[0]) + self._lift])
        else:
            pts = self.runs[0][1]
            on_map = np.nonzero(self.field.covers(pts) & np.isfinite(pts).all(1))[0]
            if not len(on_map):  # the run never was on the map: nothing to centre on
                return
            end = pts[on_map[-1]]  # where it was last on the map (a run that diverged flies off it)
        px, py, _ = proj3d.proj_transform(end[:1], end[1:2], end[2:3], self.ax.get_proj())
        fx, fy = self.fig.transFigure.inverted().transform(self.ax.transData.transform((px[0], py[0])))
        cx, cy = self._focus_centre
        self.ax.set_position((x + amount * (cx - fx), y + amount * (cy - fy), w, h))

    def _hidden(self, p: np.ndarray, azimuth: float, elevation: float) -> np.ndarray:
        """Occlusion for every vertex, ray-marched at no more than OCCLUSION_SAMPLES of them: whether a
        hill hides the path changes slowly along it, and the march costs more than drawing the line."""
        eye = self._eye  # this view's camera (see paint)
        if len(p) <= OCCLUSION_SAMPLES:
            return self.field.hidden(p, azimuth, elevation, eye)
        probe = np.round(np.linspace(0, len(p) - 1, OCCLUSION_SAMPLES)).astype(int)
        flags = self.field.hidden(p[probe], azimuth, elevation, eye)
        nearest = np.clip(np.searchsorted(probe, np.arange(len(p)) - (probe[1] - probe[0]) / 2), 0, len(probe) - 1)
        return flags[nearest]

    def _visible_vertices(self, s: int) -> np.ndarray:
        if s + 1 <= MAX_PATH_VERTICES:
            return np.arange(s + 1)
        return np.unique(np.round(np.linspace(0, s, MAX_PATH_VERTICES)).astype(int))

    def _show_surface(self, at: float) -> None:
        """An evolving film's frame at ``at`` = k + u: the surface, the height field the paths and the
        occlusion test read, the z axis (when its range follows), the floor map, the paths' coordinates
        (when the planes were refitted) and the start markers."""
        self.morph.show(at)
        self.field.z = self.morph.grid(at)
        k, u = self.morph.blend(at)
        if self.own_ranges is not None:  # the z axis tells this moment's range
            lo, hi = (1 - u) * self.own_ranges[k] + u * self.own_ranges[k + 1]
            self.axes.retick(lo, hi)
        # The floor map cross-fades: the earlier moment's map, the next one's over it as u grows.
        for j, floor in enumerate(self.floors):
            floor.set_visible(j == k or (j == k + 1 and u > 0.02))
            if j == k + 1:
                floor.set_alpha(0.85 * u)
            elif j == k:
                floor.set_alpha(0.85)
        for start, (trace, pts, *_) in zip(self._starts, self.runs):
            if trace.moment_alpha is not None:  # refitted planes: the path between its two projections
                pts[:, 0] = (1 - u) * trace.moment_alpha[k] + u * trace.moment_alpha[k + 1]
                pts[:, 1] = (1 - u) * trace.moment_beta[k] + u * trace.moment_beta[k + 1]
            start.set_data_3d(pts[:1, 0], pts[:1, 1], self.field.height(pts[:1, 0], pts[:1, 1]) + self._lift)

    def paint(self, i: int) -> memoryview:
        plan, ax = self.plan, self.ax
        azimuth, elevation = float(plan.azimuth[i]), float(plan.elevation[i])
        ax.view_init(elev=elevation, azim=azimuth)
        self.axes.update(azimuth, elevation)
        if plan.zoom[i] != self._zoom:
            self._zoom = float(plan.zoom[i])
            ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * self._zoom)
        self._focus(float(plan.focus[i]), None if plan.focus_point is None else plan.focus_point[i])
        if self.morph is not None:
            self._show_surface(float(plan.surface_at[i]))
        # The camera for every run's occlusion test, once: the frame is not drawn yet (ax.M is the last
        # frame's), so from this view's own projection.
        self._eye = self.field.eye(ax.get_proj()) if self.runs else None
        for k, (trace, pts, shadow, ghost, line, head) in enumerate(self.runs):
            s = int(plan.steps[i, k])
            p = pts[self._visible_vertices(s)].copy()
            if self.morph is not None:  # the path lies on the surface of this moment
                p[:, 2] = self.field.height(p[:, 0], p[:, 1]) + self._lift
            p[~self.field.covers(p)] = np.nan  # off the map: not drawn
            hidden = self._hidden(p, azimuth, elevation)
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
            ghost.set_visible(bool(gho_v.any()))  # an empty line still costs a draw
            ghost.set_data_3d(ghosted[:, 0], ghosted[:, 1], ghosted[:, 2])
            shadow.set_data_3d(p[:, 0], p[:, 1], np.full(len(p), self.floor))
            drawn = np.nonzero(np.isfinite(p[:, 0]))[0]
            last = drawn[-1:] if len(drawn) else drawn  # where the path was last on the map
            head.set_data_3d(p[last, 0], p[last, 1], p[last, 2])
            # A run that diverged ends in a cross; one that left the map in a hollow square at the edge.
            diverged = trace.diverged_at >= 0 and s >= trace.steps
            left = bool(len(last) and last[0] < len(p) - 1)
            head.set_marker("X" if diverged else "s" if left else "o")
            # Behind a hill the marker is a ring in the run's own colour, like its dashed ghost: a faded
            # disc reads as grey, as another object.
            behind = bool(len(last) and hidden[last[0]])
            color = head.get_color()
            head.set_markerfacecolor("none" if behind else self.theme["bg"] if left and not diverged else color)
            head.set_markeredgecolor(color if behind else self.theme["marker_edge"])
            head.set_markeredgewidth(2.2 if behind else 1.4)
            if self._run_lines:
                width = max(10, max(map(len, self.plan.labels)))  # the losses line up in one column
                self._run_texts[k] = f"{self.plan.labels[k]:<{width}} {self.plan.loss_label} {loss_text(trace, s)}"
        if self.arrows:
            self._update_arrows(i)
        if self.curve:
            self.curve.update(plan.steps[i])
        self.canvas.draw()
        frame = self.canvas.buffer_rgba()
        pixels = np.asarray(frame)
        self.static.paste(pixels)
        self.axes.paste(pixels)
        self._paste_marks(pixels)
        if self.hud:
            self.hud.paste(pixels, plan.text[i], *self.layout.hud)
        for line, text, at in zip(self._run_lines, self._run_texts, self.layout.run_lines):
            line.paste(pixels, text, *at)
        return frame

    def close(self) -> None:
        self.fig.clear()
