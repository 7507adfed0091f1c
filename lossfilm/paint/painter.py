"""The 3-D view: Landscape + FramePlan -> RGBA frames, with one matplotlib Agg figure built once and reused.

The painter is made of layers it owns, each in its own module: the chrome (the text around the picture:
``chrome``), the surface and its floor map (built here, on ``geometry`` and ``surface``), the lean 3-D
axes (``axes3d``), the framing (``framing``) and the overlays (``overlays``): the runs' paths, the
minima and the arrows (``paths``), then the chrome's (inset, HUD, loss lines) and the style's own.

mplot3d has no z-buffer: it sorts whole artists, so a path lying on a surface is usually drawn under
it. We fix the draw order ourselves (``computed_zorder=False``: floor < shadow < surface < ghost < path
< marker), snap the path to the *rendered* (decimated, faceted) surface and lift it slightly, and test
every frame which stretches of the path a hill really hides from the camera (``paths``).
"""
from __future__ import annotations

import copy
import dataclasses

import matplotlib
import numpy as np
from matplotlib.colors import LightSource, Normalize
from mpl_toolkits.mplot3d import proj3d
from mpl_toolkits.mplot3d.art3d import Line3D

from ..landscape import Landscape
from ..plan import FramePlan
from ..scene.view import Style
from ..settings import Look
from .axes3d import LeanAxes
from .chrome import Chrome
from .colors import LIFT, THEMES, bilinear, contrasting, log_heights, z_extent
from .framing import Framing
from .geometry import (BOX_ASPECT, LIGHT_REACH, LIGHT_SPAN, SNAP_DEPTH, HeightField, _decimate, _nearest, facets,
                       smoothed)
from .layout import POINTS, compacted
from .overlays import set_up
from .paths import Arrows, Minima, Paths
from .sprites import TextSprites
from .surface import FastLine3D, FastSurface, _surface, fast_floor
from .valleys import drawn_heights, light_weights, valley_snapped


class Painter:
    """One figure, built once; ``paint(i)`` updates camera, surface and overlays and returns RGBA bytes."""

    def __init__(self, landscape: Landscape, frame_plan: FramePlan, style: Style, look: Look):
        self.landscape, self.plan, self.style, self.look = landscape, frame_plan, style, look
        theme = self.theme = THEMES[style.theme]
        self.chrome = Chrome(landscape, frame_plan, style, look, theme)
        self.fig, self.canvas = self.chrome.fig, self.chrome.canvas
        rect = self.layout.axes
        ax = self.fig.add_axes(rect, projection="3d", computed_zorder=False, facecolor=theme["bg"])
        ax.patch.set_visible(False)  # the figure's own background, the same colour, is already there (0.6 ms)
        self.ax = ax
        self.framing = Framing(self, rect, float(frame_plan.zoom[0]))

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

        self.norm, self.cmap = norm, cmap
        self.lift = LIFT * (zhi - zlo)
        self.eye = None  # the camera in box units for this frame's occlusion tests (see paint)
        # The picture's own overlays, made in this order (their artists' order at equal depth is part
        # of the picture): each run's path and markers, the minima's stars, the arrows.
        self.paths = Paths()
        self._arrows = Arrows()
        own = set_up([self.paths, Minima(), self._arrows], self)
        # Zoomed or focused, the picture may reach past the axes' box: the frame's edge is the limit.
        for artist in ax.get_children():
            artist.set_clip_on(False)
            if type(artist) is Line3D:
                FastLine3D.adopt(artist)
        self.chrome.build(self, norm, cmap, self.zlog)
        self.framing.fit(self.chrome.obstacles())
        slack = self.framing.slack()
        if self.layout.shape != "wide" and slack > 0.03 * look.height:
            # A square or tall frame whose picture is narrower than its band: header and footer close in,
            # and the picture stays between them.
            free = self.framing.free
            self.framing.rows = (free[1] + slack / 2 - 2 * POINTS["tick"] * look.dpi / 72.0,
                                 free[3] - slack / 2 + 2 * POINTS["tick"] * look.dpi / 72.0)
            self.chrome.layout = compacted(self.layout, slack / 2, slack / 2)
            self.chrome.build(self, norm, cmap, self.zlog)
            self.framing.fit(self.chrome.obstacles())
        # The style's own overlays come last, once the picture is framed.
        self.overlays = own + self.chrome.overlays + set_up(map(copy.copy, style.overlays), self)

    # What tests and the panels read of the parts, by their old names.
    layout = property(lambda self: self.chrome.layout)
    boxes = property(lambda self: self.chrome.boxes)  # measured pixel boxes of the fixed text
    text_px = property(lambda self: self.chrome.text_px)
    curve = property(lambda self: self.chrome.curve)
    runs = property(lambda self: self.paths.runs)
    arrows = property(lambda self: self._arrows.arrows)

    def to_pixels(self, alpha, beta) -> np.ndarray:
        """Where points (alpha, beta) of the plane are drawn in this frame, on the surface as drawn:
        (N, 2) pixels, x from the left and y from the top (call in an overlay's update or paste)."""
        alpha, beta = np.atleast_1d(np.asarray(alpha, float)), np.atleast_1d(np.asarray(beta, float))
        z = self.field.height(alpha, beta) + self.lift
        px, py, _ = proj3d.proj_transform(alpha, beta, z, self.ax.get_proj())
        screen = self.ax.transData.transform(np.column_stack([px, py]))
        screen[:, 1] = self.look.height - screen[:, 1]
        return screen

    def _style_axes(self, landscape: Landscape) -> None:
        self.ax.set_axis_off()
        self.sprites = TextSprites(self.look.dpi)
        zname = self.style.z_label or self.plan.loss_label
        zname = f"log10 {zname}" if self.zlog else zname
        self.axes = LeanAxes(self.ax, self.field, self.floor, (*landscape.axis_labels, zname),
                             self.theme, self.look.ticks, self.sprites,
                             {float(k): v for k, v in landscape.facts.get("beta_ticks", {}).items()},
                             self._zrange)

    def text_boxes(self, i: int) -> dict[str, tuple[float, float, float, float]]:
        """Every text's pixel box at frame ``i``: the fixed text as measured, every overlay's as pasted
        (call after ``paint(i)``)."""
        boxes = dict(self.boxes)
        for overlay in self.overlays:
            boxes.update(overlay.boxes(i))
        return boxes

    def picture_box(self) -> tuple[float, float, float, float]:
        return self.framing.picture_box()

    def surface_box(self) -> tuple[float, float, float, float]:
        """The pixel box of the surface and its floor as last drawn (call after ``paint``)."""
        grid = self.field.vertices()
        pts = np.concatenate([grid, np.column_stack([grid[:, :2], np.full(len(grid), self.floor)])])
        px_, py_, _ = proj3d.proj_transform(pts[:, 0], pts[:, 1], pts[:, 2], self.ax.M)
        screen = self.ax.transData.transform(np.column_stack([px_, py_]))
        height = self.look.height
        return (float(screen[:, 0].min()), float(height - screen[:, 1].max()),
                float(screen[:, 0].max()), float(height - screen[:, 1].min()))

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
        for start, (trace, pts, *_) in zip(self.paths.starts, self.paths.runs):
            if trace.moment_alpha is not None:  # refitted planes: the path between its two projections
                pts[:, 0] = (1 - u) * trace.moment_alpha[k] + u * trace.moment_alpha[k + 1]
                pts[:, 1] = (1 - u) * trace.moment_beta[k] + u * trace.moment_beta[k + 1]
            start.set_data_3d(pts[:1, 0], pts[:1, 1], self.field.height(pts[:1, 0], pts[:1, 1]) + self.lift)

    def paint(self, i: int) -> memoryview:
        plan, ax = self.plan, self.ax
        azimuth, elevation = float(plan.azimuth[i]), float(plan.elevation[i])
        ax.view_init(elev=elevation, azim=azimuth)
        self.axes.update(azimuth, elevation)
        self.framing.frame(i)
        if self.morph is not None:
            self._show_surface(float(plan.surface_at[i]))
        # The camera for every run's occlusion test, once: the frame is not drawn yet (ax.M is the last
        # frame's), so from this view's own projection.
        self.eye = self.field.eye(ax.get_proj()) if self.paths.runs else None
        for overlay in self.overlays:
            overlay.update(i)
        self.canvas.draw()
        frame = self.canvas.buffer_rgba()
        pixels = np.asarray(frame)
        self.chrome.static.paste(pixels)
        self.axes.paste(pixels)
        for overlay in self.overlays:
            overlay.paste(pixels, i)
        return frame

    def close(self) -> None:
        self.fig.clear()
