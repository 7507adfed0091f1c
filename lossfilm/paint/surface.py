"""The surface as the 3-D picture draws it (``draw_surface``: decimated, smoothed, snapped onto narrow
valleys, lit and coloured, with its floor map), and mplot3d's artists on fast paths: the surface's quads
projected into paths made once and painted by the raster kernel, 3-D lines projected with plain arrays,
the floor map, an evolving film's morph.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import matplotlib
from matplotlib.colors import LightSource, Normalize


import numpy as np
from matplotlib import artist as martist
from matplotlib.lines import Line2D
from matplotlib.path import Path
from mpl_toolkits.mplot3d.art3d import Line3D, Poly3DCollection

from . import raster
from .valleys import (TRIANGLES, TRIANGLES_1_3, corner_ids, drawn_heights, light_weights, splits_along_1_3,
                      valley_snapped)
from ..landscape import Landscape
from ..scene.view import Style
from ..settings import Look
from .colors import LIFT, bilinear, blend, contrasting, log_heights, z_extent
from .geometry import (BOX_ASPECT, LIGHT_REACH, LIGHT_SPAN, SNAP_DEPTH, HeightField, _decimate, _nearest, facets,
                       smoothed)


class FastSurface(Poly3DCollection):
    """plot_surface's quads, depth-sorted each frame into Path objects made once.

    Poly3DCollection builds a new Path for every quad in every frame, a third of a 54 x 54 surface's
    cost. Here each Path is a view into one (N, 5, 2) buffer that the projection overwrites in place,
    in the order a height field is seen in (``_back_to_front``); the colours are matplotlib's own.
    """

    @classmethod
    def adopt(cls, surface: Poly3DCollection) -> "FastSurface":
        """Turn plot_surface's collection into this class in place (its artist, colours and place in
        the axes stay): only the per-frame projection changes."""
        faces = np.asarray(surface._faces, float)  # (N, 4, 3): every quad of a surface has four corners
        surface.__class__ = cls
        n = len(faces)
        surface._corners = np.concatenate([faces.reshape(-1, 3).T, np.ones((1, 4 * n))])
        surface._colors3d = np.asarray(surface._facecolor3d)
        surface._xy = np.zeros((n, 5, 2))
        codes = np.array([Path.MOVETO, Path.LINETO, Path.LINETO, Path.LINETO, Path.CLOSEPOLY], Path.code_type)
        surface._fixed_paths = [Path(surface._xy[k], codes) for k in range(n)]
        return surface

    def smooth(self, xd, yd, colors: np.ndarray, floor: np.ndarray | None = None) -> None:
        """Gouraud shading: each quad drawn as two triangles whose colours blend between its corners'
        (``colors``: (rows, cols, 4) at the grid points), so the light varies within a facet instead
        of stepping from one facet to the next. ``floor``: the grid points on valley floors, whose
        diagonals the split follows (``splits_along_1_3``)."""
        self._iy, self._ix = corner_ids(len(yd), len(xd))  # the grid point at each quad's corner
        self._corner_colors = np.asarray(colors, float)[self._iy, self._ix]  # (4 n, 4)
        on_floor = None if floor is None else np.asarray(floor, bool)[self._iy, self._ix].reshape(-1, 4)
        along_1_3 = splits_along_1_3(self._corners[2].reshape(-1, 4), on_floor)
        self._splits = np.where(along_1_3[:, None, None], TRIANGLES_1_3, TRIANGLES)  # (n, 2, 3)
        # The mesh's triangles by their grid points, and which triangle lies across each edge: the
        # raster kernel smooths only the edges of the outline on screen.
        ids = (self._iy * len(xd) + self._ix).reshape(-1, 4)
        self._tri_corners = np.take_along_axis(ids[:, None, :], self._splits, axis=2).reshape(-1, 3)
        self._across = raster.neighbours(self._tri_corners)

    def draw(self, renderer):
        corners = getattr(self, "_corner_colors", None)
        if corners is None or not self.get_visible():
            return super().draw(renderer)
        n = len(self._order)
        xy = self._xy[:, :4]  # projected and depth-sorted by do_3d_projection
        splits = self._splits[self._order]  # (n, 2, 3) corner indices of each drawn quad's triangles
        quad = np.arange(n)[:, None, None]
        triangles = xy[quad, splits].reshape(2 * n, 3, 2)
        colors = corners.reshape(n, 4, 4)[self._order][quad, splits].reshape(2 * n, 3, 4)
        renderer.open_group("surface", gid=self.get_gid())
        gc = renderer.new_gc()
        self._set_gc_clip(gc)
        if not self._raster(renderer, gc, triangles, colors):
            renderer.draw_gouraud_triangles(gc, triangles, colors, self.axes.transData.frozen())
        gc.restore()
        renderer.close_group("surface")
        self.stale = False

    def _raster(self, renderer, gc, triangles: np.ndarray, colors: np.ndarray) -> bool:
        """The triangles painted by the raster kernel into the Agg buffer (4x faster than
        draw_gouraud_triangles at 720p): False where it cannot, and nothing is painted."""
        if gc.get_clip_path()[0] is not None:
            return False
        image = raster.pixels(renderer)
        if image is None or raster.load() is None:
            return False
        screen = self.axes.transData.frozen().transform(triangles.reshape(-1, 2)).reshape(triangles.shape)
        drawn = (2 * self._order[:, None] + np.arange(2)).ravel()  # each drawn triangle's place in the mesh
        mesh = np.empty_like(screen)
        mesh[drawn] = screen
        smooth = raster.outline_edges(self._across, self._tri_corners, mesh)[drawn]
        return raster.gouraud(image, screen, colors, smooth, gc.get_clip_rectangle())

    def morphing(self, xd, yd, heights: np.ndarray, colors: np.ndarray) -> Morph:
        """Bind an evolving film's decimated surfaces (K, rows, cols) and their colours (K, rows, cols, 4)."""
        return Morph(self, xd, yd, heights, colors)

    def _back_to_front(self) -> np.ndarray:
        """The quads in the order they are painted, farthest first: by the distance of their centres
        from the eye, measured across the ground. A height field's quads are seen in that order along any
        ray from the eye; mplot3d's order by mean depth puts a steep wall's quads (whose corners span a
        long depth) in front of flatter neighbours they stand behind, and a narrow valley's walls show
        through each other in teeth."""
        M = self.axes.M
        if getattr(self, "_centres", None) is None:  # (2, n): heights may change, (x, y) do not
            self._centres = self._corners[:2].reshape(2, -1, 4).mean(2)
        centres = self._centres
        (x0, x1), (y0, y1) = self.axes.get_xlim(), self.axes.get_ylim()
        scale = np.array([BOX_ASPECT[0] / (x1 - x0), BOX_ASPECT[1] / (y1 - y0)])[:, None]
        rows = M[[0, 1, 3]]
        try:  # under perspective, the eye is the one point that projects to x = y = w = 0
            eye = np.linalg.solve(rows[:, :3], -rows[:, 3])
        except np.linalg.LinAlgError:
            eye = None
        if eye is not None and np.isfinite(eye).all():
            return np.argsort(-(((centres - eye[:2, None]) * scale) ** 2).sum(0), kind="stable")
        # Orthographic: by the depth of the centres on one level plane.
        w = M @ np.vstack([centres, np.full(centres.shape[1], np.mean(self.axes.get_zlim())), np.ones(centres.shape[1])])
        return np.argsort(-(w[2] / w[3]), kind="stable")

    def do_3d_projection(self):
        v = self.axes.M @ self._corners
        xyz = (v[:3] / v[3]).T.reshape(-1, 4, 3)
        depth = xyz[..., 2]
        order = self._back_to_front()
        self._order = order
        self._xy[:, :4] = xyz[order, :, :2]
        self._xy[:, 4] = self._xy[:, 0]
        self._paths = self._fixed_paths
        self._facecolors2d = self._colors3d[order] if len(self._colors3d) == len(order) else self._colors3d
        self._edgecolors2d = self._facecolors2d
        return float(depth.min())


def _surface(ax, X, Y, Z, colors: np.ndarray) -> Poly3DCollection:
    """plot_surface's quads (every grid cell, coloured by its first corner as plot_surface colours
    them), built on its vectorised path: given facecolors, plot_surface makes each quad and converts
    each colour in a Python loop (50 ms of a worker's start for a 60 x 60 surface)."""
    surface = ax.plot_surface(X, Y, Z, color=tuple(colors[0, 0]), rstride=1, cstride=1, linewidth=0,
                              antialiased=False, shade=False, zorder=2)
    per_quad = np.ascontiguousarray(colors[:-1, :-1].reshape(-1, colors.shape[-1]), float)
    surface.set_facecolor(per_quad)
    surface.set_edgecolor(per_quad)
    return surface


class FastLine3D(Line3D):
    """A 3-D line projected with plain arrays: Line3D's masked arrays cost more than drawing the line
    (a third of a 720p race frame's time went to projecting and re-caching its 20 lines). Points that
    the perspective clips are dropped as mplot3d drops them; axis scales are linear here."""

    @classmethod
    def adopt(cls, line: Line3D) -> "FastLine3D":
        line.__class__ = cls
        return line

    @martist.allow_rasterization
    def draw(self, renderer):
        xs, ys, zs = (np.asarray(v, float).ravel() for v in self._verts3d)
        v = self.axes.M @ np.vstack([xs, ys, zs, np.ones_like(xs)])
        with np.errstate(invalid="ignore", divide="ignore"):
            tx, ty, tz = v[:3] / v[3]
            if not np.isinf(self.axes._focal_length):
                out = ~((-1 <= tx) & (tx <= 1) & (-1 <= ty) & (ty <= 1) & (tz <= 0))
                if out.any():
                    tx, ty = np.where(out, np.nan, tx), np.where(out, np.nan, ty)
        self.set_data(tx, ty)
        Line2D.draw(self, renderer)
        self.stale = False


def fast_floor(contours):
    """The floor map's filled contours (one path per band, each at the floor's height), projected in
    one product into paths made once, instead of mplot3d's masked arrays per band each frame (1 ms of
    a 720p frame). The bands never overlap, so they need no depth order."""
    verts = [np.asarray(v, float) for v, _ in contours._3dverts_codes]
    ends = np.cumsum([0] + [len(v) for v in verts])
    corners = np.concatenate(verts + [np.zeros((0, 3))])
    homogeneous = np.vstack([corners.T, np.ones(len(corners))])
    xy = np.zeros((len(corners), 2))
    paths = [Path(xy[a:b], codes) for (a, b), (_, codes) in zip(zip(ends[:-1], ends[1:]), contours._3dverts_codes)]

    def project():
        v = contours.axes.M @ homogeneous
        with np.errstate(invalid="ignore", divide="ignore"):
            xy[:] = (v[:2] / v[3]).T
            depth = v[2] / v[3]
        contours._paths = paths
        return float(depth.min()) if len(depth) else 1e9

    contours.do_3d_projection = project
    return contours


class Morph:
    """An evolving film's surfaces, bound to a FastSurface's corners and faces: ``show(at)`` sets the
    corners' heights and the faces' colours to the blend of surfaces k and k + 1 for ``at`` = k + u, in
    place (no new artist, Path or shading per frame: a morph frame costs what a still one does)."""

    def __init__(self, surface: "FastSurface", xd, yd, heights: np.ndarray, colors: np.ndarray):
        self.surface = surface
        iy, ix = corner_ids(len(yd), len(xd))  # the grid point at each quad's corner
        self.heights = heights  # (K, rows, cols): the decimated surfaces
        self.corner_z = heights[:, iy, ix]  # (K, 4 n)
        # plot_surface colours a quad by its first corner's grid point (facecolors[rs][cs]).
        fi, fj = iy.reshape(-1, 4).min(1), ix.reshape(-1, 4).min(1)
        self.face_colors = colors[:, fi, fj]  # (K, n, 4)
        self.corner_colors = colors[:, iy, ix]  # (K, 4 n, 4): for smooth shading
        self.at = None

    def blend(self, at: float) -> tuple[int, float]:
        return blend(at, len(self.heights))

    def grid(self, at: float) -> np.ndarray:
        """The decimated surface at ``at``, as the painter's HeightField holds it."""
        k, u = self.blend(at)
        return (1 - u) * self.heights[k] + u * self.heights[k + 1]

    def show(self, at: float) -> None:
        if at == self.at:
            return
        k, u = self.blend(at)
        self.surface._corners[2] = (1 - u) * self.corner_z[k] + u * self.corner_z[k + 1]
        self.surface._colors3d = (1 - u) * self.face_colors[k] + u * self.face_colors[k + 1]
        if getattr(self.surface, "_corner_colors", None) is not None:
            self.surface._corner_colors = (1 - u) * self.corner_colors[k] + u * self.corner_colors[k + 1]
        self.at = at


@dataclass
class DrawnSurface:
    """The surface as the 3-D picture draws it, made once per painter: its height field (what paths are
    snapped to and occlusion is marched through), the floor's height, the z axis's limits and extent,
    the surface's artist (and an evolving film's morph and floor maps), and its colours' scale."""

    zlog: bool = False  # heights, colours, ticks and the path all live in log10 units
    own_ranges: np.ndarray | None = None  # an evolving film whose z range follows each surface
    floor: float = 0.0
    field: HeightField | None = None
    floors: list | None = None  # an evolving film's floor maps, one per moment
    surface: FastSurface | None = None
    morph: Morph | None = None
    zrange: tuple[float, float] | None = None  # the z axis's extent and ticks: the surface's own, unless set
    zlo: float = 0.0
    zhi: float = 1.0
    zlim: tuple[float, float] = (0.0, 1.0)
    xd: np.ndarray | None = None
    yd: np.ndarray | None = None
    norm: Normalize | None = None
    cmap: object = None


def draw_surface(ax, landscape: Landscape, style: Style, look: Look, theme: dict) -> DrawnSurface:
    """Decimate, smooth, snap, light and colour the landscape's surface (or an evolving film's K surfaces)
    and draw it with its floor map on ``ax``."""
    s = DrawnSurface()
    xs, ys = landscape.alphas, landscape.betas
    s.zlog = style.zscale == "log"  # heights, colours, ticks and the path all live in log10 units
    zlo, zhi = z_extent(landscape, style)
    # One surface, or an evolving film's K surfaces (the last is the landscape's loss), on one range.
    grids = landscape.surfaces if landscape.surfaces is not None else landscape.loss[None]
    heights = log_heights(grids) if s.zlog else np.asarray(grids, np.float64)
    s.own_ranges = None
    if style.z_follows and len(grids) > 1:
        # Each surface on its own range, drawn into the film's box: (lo_k, hi_k) maps to (zlo, zhi).
        s.own_ranges = np.array([z_extent(dataclasses.replace(landscape, surfaces=None, loss=g), style)
                                    for g in grids])
        lo_k, hi_k = s.own_ranges[:, 0, None, None], s.own_ranges[:, 1, None, None]
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
    s.floor = floor
    zlim = (floor, zhi + 2 * LIFT * (zhi - zlo))
    # An evolving film is measured (fitted to the frame, its axis ticks placed) on the highest of its
    # surfaces; each frame then shows its own.
    s.field = HeightField(xd, yd, zds.max(0), zlim)
    X, Y = np.meshgrid(xd, yd)
    MX, MY, moved = X, Y, None  # the drawn grid points
    if len(zds) == 1:  # a still surface: grid points onto the floors of valleys narrower than a facet
        # Found in the heights before they are clipped to the z range, whose floor can cut a valley
        # flat. Drawn no deeper than the lattice's own lowest point: a minimum of (nearly) 0 in log z
        # stays the bowl the lattice draws, not a needle to the axis's floor that hides the runs that
        # reach it.
        below = np.where(np.isfinite(heights[-1]), heights[-1], zhi)
        lowest_drawn = max(zlo, float(zd.min()))
        MX, MY, zd, moved = valley_snapped(xs, ys, below, ri, ci, zd, SNAP_DEPTH * (zhi - zlo), s.zlog)
        zd = np.clip(zd, lowest_drawn, zhi)
        if moved.any():  # the paths and the occlusion test read the surface as drawn, on the full grid
            s.field = HeightField(xs, ys, drawn_heights(MX, MY, zd, moved, xd, yd, xs, ys), zlim)
            s.field.mesh = (MX, MY, zd)

    cmap = contrasting(matplotlib.colormaps[style.cmap], theme["bg"])
    norm = Normalize(zlo, zhi)
    s.floors = []
    if style.floor:
        for g in zds:
            s.floors.append(fast_floor(ax.contourf(X, Y, g, zdir="z", offset=floor, levels=14, cmap=cmap,
                                                      norm=norm, alpha=0.85, zorder=0)))
    light = LightSource(azdeg=315, altdeg=50)
    # Hill-shading in the box's own proportions, so the light falls as the viewer sees the shape.
    exaggeration = BOX_ASPECT[2] / s.field.span[2]
    colors = cmap(norm(np.concatenate([zds[:-1], zd[None]])))
    if moved is not None and moved.any():
        # With valleys snapped, the light is the full grid's averaged over a facet: the lattice's
        # own normals, each from neighbours at uneven distances from the valley's floor, would
        # light its walls in stripes.
        shade = light.hillshade(zc, exaggeration, BOX_ASPECT[0] / (len(xs) - 1), BOX_ASPECT[1] / (len(ys) - 1))
        per_row, per_col = len(ys) / len(ri), len(xs) / len(ci)
        lit = smoothed(shade, per_row, per_col)[_nearest(ys, MY), _nearest(xs, MX)]
        if s.zlog:
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
    s.surface = FastSurface.adopt(_surface(ax, MX, MY, zd, colors[-1]))
    if style.shading == "smooth":
        s.surface.smooth(xd, yd, colors[-1], moved)
    s.morph = None
    s.zrange = None  # the z axis's extent and ticks: the surface's own, unless set below
    if len(zds) > 1:
        s.morph = s.surface.morphing(xd, yd, zds, colors)
        s.zrange = (float(zds.min()), float(zds.max()))
        if s.own_ranges is not None:  # ticks are placed by value over the box's whole range
            s.zrange = (zlo, zhi)
    if style.z_range is not None:  # a shared range (Compare): every panel's z axis has the same ticks
        s.zrange = (zlo, zhi)

    s.zlo, s.zhi, s.zlim, s.xd, s.yd, s.norm, s.cmap = zlo, zhi, zlim, xd, yd, norm, cmap
    return s
