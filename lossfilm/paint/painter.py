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

import numpy as np
from mpl_toolkits.mplot3d import proj3d
from mpl_toolkits.mplot3d.art3d import Line3D

from ..landscape import Landscape
from ..plan import FramePlan
from ..scene.view import Style
from ..settings import Look
from .axes3d import LeanAxes
from .chrome import Chrome
from .colors import LIFT, THEMES
from .framing import Framing
from .layout import POINTS, compacted
from .overlays import set_up
from .paths import Arrows, Minima, Paths
from .sprites import TextSprites
from .story import story_overlays
from .surface import FastLine3D, draw_surface


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

        drawn = draw_surface(ax, landscape, style, look, theme)
        self.zlog, self.own_ranges, self.floor, self.field = drawn.zlog, drawn.own_ranges, drawn.floor, drawn.field
        self.floors, self.surface, self.morph, self._zrange = drawn.floors, drawn.surface, drawn.morph, drawn.zrange
        xd, yd, zlim, zlo, zhi, norm, cmap = drawn.xd, drawn.yd, drawn.zlim, drawn.zlo, drawn.zhi, drawn.norm, drawn.cmap
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
        if slack > 0.03 * look.height and self.chrome.taller_inset(min(0.9 * slack, 0.14 * look.height)):
            # A tall frame's picture is as wide as the frame: the room it leaves goes to the loss inset.
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
        self.overlays = own + self.chrome.overlays + story_overlays(self) + set_up(map(copy.copy, style.overlays),
                                                                                   self)

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
        self.ax.apply_aspect()  # where the draw will put the axes for this frame's zoom (before it draws)
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
                             self.theme, 3 if self.look.small else self.look.ticks, self.sprites,
                             {float(k): v for k, v in landscape.facts.get("beta_ticks", {}).items()},
                             self._zrange, show_names=not self.look.small)

    def text_boxes(self, i: int) -> dict[str, tuple[float, float, float, float]]:
        """Every text's pixel box at frame ``i`` (call after ``paint(i)``)."""
        return self.chrome.text_boxes(self.overlays, i)

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

