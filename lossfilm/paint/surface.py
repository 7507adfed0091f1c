"""mplot3d's artists on fast paths: the surface's quads projected into paths made once and painted
by the raster kernel, 3-D lines projected with plain arrays, the floor map, an evolving film's morph.
"""
from __future__ import annotations


import numpy as np
from matplotlib import artist as martist
from matplotlib.lines import Line2D
from matplotlib.path import Path
from mpl_toolkits.mplot3d.art3d import Line3D, Poly3DCollection

from . import raster
from .valleys import (TRIANGLES, TRIANGLES_1_3, corner_ids, splits_along_1_3)
from .colors import blend
from .geometry import BOX_ASPECT


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
