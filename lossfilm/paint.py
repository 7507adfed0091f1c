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
from matplotlib import artist as martist
from matplotlib import patheffects
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import LightSource, Normalize
from matplotlib.figure import Figure
from matplotlib.cm import ScalarMappable
from matplotlib.lines import Line2D
from matplotlib.text import Text
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator
from matplotlib.path import Path
from mpl_toolkits.mplot3d import proj3d
from mpl_toolkits.mplot3d.art3d import Line3D, Poly3DCollection

from . import raster
from .valleys import (TRIANGLES, TRIANGLES_1_3, corner_ids, drawn_heights, light_weights, splits_along_1_3,
                      valley_snapped)
from .landscape import Landscape
from .layout import POINTS, compacted, free_band, layout, overlaps
from .plan import FramePlan, loss_text
from .scene import Style
from .settings import Look
from .sprites import MonoLine, Sprite, TextSprites

THEMES = {
    "dark": dict(bg="#0d1117", fg="#e6edf3", dim="#8b949e", marker_edge="#ffffff"),
    "light": dict(bg="#ffffff", fg="#1f2328", dim="#57606a", marker_edge="#000000"),
}
BOX_ASPECT = np.array([1.0, 1.0, 0.62])
BASE_ZOOM = 0.94  # the box's diagonal and its labels stay inside the frame at every azimuth
LIFT = 0.025  # path height above the rendered surface, as a share of the z range
MAX_PATH_VERTICES = 1500  # beyond this many steps the path is subsampled for drawing
OCCLUSION_SAMPLES = 240
RAY_START, RAY_END = 0.004, 2.2  # the stretch of a ray to the camera that is marched, in box units
OCCLUSION_TOLERANCE = 0.0005  # a ray this far under the surface (of the z range) is hidden by it


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


MIN_CONTRAST = 1.8  # against the background, for either end of the colour map (WCAG's contrast ratio)


def _luminance(rgb) -> float:
    c = np.asarray(matplotlib.colors.to_rgb(rgb), dtype=float)
    c = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return float(c @ [0.2126, 0.7152, 0.0722])


def contrast(a, b) -> float:
    """WCAG's contrast ratio of two colours: 1 (the same) to 21 (black on white)."""
    la, lb = sorted((_luminance(a), _luminance(b)))
    return (lb + 0.05) / (la + 0.05)


def contrasting(cmap, background: str):
    """``cmap`` with either end trimmed until it stands out from ``background``: magma's black minimum
    on the dark theme made the basin (the very thing to see) vanish into the frame."""
    lo, hi = 0.0, 1.0
    while lo < 0.4 and contrast(cmap(lo), background) < MIN_CONTRAST:
        lo += 0.02
    while hi > 0.6 and contrast(cmap(hi), background) < MIN_CONTRAST:
        hi -= 0.02
    if lo == 0.0 and hi == 1.0:
        return cmap
    return matplotlib.colors.ListedColormap(cmap(np.linspace(lo, hi, 256)), name=f"{cmap.name}_trimmed")


def log_heights(z: np.ndarray) -> np.ndarray:
    """log10 of a loss surface for a log z axis. A loss of 0 (or below, from rounding) has no logarithm:
    it is drawn at the bottom of the range, where it belongs, not left undefined (which would put it at
    the top); NaN and inf stay undefined."""
    z = np.asarray(z, dtype=np.float64)
    positive = np.isfinite(z) & (z > 0)
    out = np.full(z.shape, np.nan)
    out[positive] = np.log10(z[positive])
    if positive.any():
        low = out[positive].min()
        out[np.isfinite(z) & (z <= 0)] = low - max(1.0, 0.05 * (out[positive].max() - low))
    return out


def z_extent(landscape: Landscape, style: Style) -> tuple[float, float]:
    """The heights a film spans, log10 on a log axis: the style's ``z_range``, else the surface's robust
    range (over all the surfaces of an evolving film, so its z range holds still)."""
    log = style.zscale == "log"
    if style.z_range is not None:
        lo, hi = style.z_range
        return (float(np.log10(lo)), float(np.log10(hi))) if log else (float(lo), float(hi))
    grids = landscape.surfaces if landscape.surfaces is not None else landscape.loss[None]
    lo, hi = robust_range(log_heights(grids) if log else np.asarray(grids, np.float64))
    if log:  # a minimum of exactly 0 is a needle to -inf in log z: show LOG_DECADES below the top
        lo = max(lo, hi - LOG_DECADES)
    return lo, hi


def _decimate(n: int, count: int, keep: int = 0) -> np.ndarray:
    """Every k-th index so at most about ``count`` quads remain, all the same width (uneven facets
    shade unevenly and read as stripes), on the lattice through ``keep`` (the minimum, so a narrow
    trough keeps its floor), plus both ends."""
    stride = max(1, int(np.ceil((n - 1) / max(count, 1))))
    idx = np.arange(keep % stride, n, stride)
    return np.unique(np.concatenate([[0], idx, [n - 1]]))


LOG_DECADES = 6.0  # the depth a log z axis shows
# A valley floor this far (of the z range, under a pixel at 720p) below a facet's corner pulls the corner onto
# it: a floor snapped here and left there along one valley would draw teeth of its own where they show.
SNAP_DEPTH = 0.002
LIGHT_REACH, LIGHT_SPAN = 2.0, 8.0  # facets: the light near a log-z valley's floor (see Painter)
MAX_FACET_SCALE = 2.5  # a rippled surface may take this many times the preset's facets


def facets(z: np.ndarray, preset: int) -> int:
    """Quads per axis for the drawn surface: the preset's, or more for a rippled surface (Rastrigin's
    egg box), so that each bump keeps about six facets across instead of turning into spikes."""
    def bumps(v: np.ndarray) -> int:  # local extrema along a line
        d = np.diff(v)
        return int(np.count_nonzero(np.diff(np.sign(d[d != 0])) != 0))

    rows, cols = z.shape
    most = max(max(bumps(z[i]) for i in (rows // 4, rows // 2, 3 * rows // 4)),
               max(bumps(z[:, j]) for j in (cols // 4, cols // 2, 3 * cols // 4)))
    return int(np.clip(6 * most, preset, MAX_FACET_SCALE * preset))


def smoothed(z: np.ndarray, rows_per_facet: float, cols_per_facet: float) -> np.ndarray:
    """``z`` averaged over one facet's width around each point before the facets sample it: a trench
    narrower than a facet (Rosenbrock's valley in log z) then reads as a channel, not as a row of teeth.
    Smooth parts of a surface are unchanged (an average of a plane is the plane)."""
    def box(a: np.ndarray, width: int, axis: int) -> np.ndarray:
        if width < 2:
            return a
        half = width // 2
        pad = [(0, 0)] * a.ndim
        pad[axis] = (half, width - 1 - half)
        c = np.cumsum(np.pad(a, pad, mode="edge"), axis=axis)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
        n = a.shape[axis]
        return (np.take(c, np.arange(width, width + n), axis=axis) - np.take(c, np.arange(n), axis=axis)) / width

    return box(box(z, int(round(rows_per_facet)), 0), int(round(cols_per_facet)), 1)


def _nearest(axis: np.ndarray, v: np.ndarray) -> np.ndarray:
    """The index of the grid point of ``axis`` nearest each of ``v``."""
    i = np.clip(np.searchsorted(axis, v), 1, len(axis) - 1)
    return np.where(np.abs(v - axis[i - 1]) <= np.abs(axis[i] - v), i - 1, i)


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
        self.mesh = None  # the drawn grid points (X, Y, Z), where they are not the field's own
        self._kept = None  # see _lines

    def vertices(self) -> np.ndarray:
        """The drawn surface's grid points, (N, 3): what its extent on screen is measured by."""
        if self.mesh is not None:
            return np.column_stack([a.ravel() for a in self.mesh])
        X, Y = np.meshgrid(self.xs, self.ys)
        return np.column_stack([X.ravel(), Y.ravel(), self.z.ravel()])

    def covers(self, pts: np.ndarray) -> np.ndarray:
        """True for points whose (x, y) lie on the surface's footprint."""
        x, y = pts[:, 0], pts[:, 1]
        with np.errstate(invalid="ignore"):
            return ((x >= self.xs[0]) & (x <= self.xs[-1]) & (y >= self.ys[0]) & (y <= self.ys[-1]))

    def height(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return bilinear(self.xs, self.ys, self.z, x, y)

    def to_box(self, pts: np.ndarray) -> np.ndarray:
        return (pts - self.lo) / self.span * BOX_ASPECT

    def eye(self, M: np.ndarray) -> np.ndarray | None:
        """The camera's position in box units for the projection matrix ``M`` (mplot3d's ``ax.M``), or
        None for an orthographic view. Under perspective the eye is the one point that projects to
        x = y = w = 0."""
        rows = M[[0, 1, 3]]
        try:
            centre = np.linalg.solve(rows[:, :3], -rows[:, 3])
        except np.linalg.LinAlgError:
            return None
        return self.to_box(centre[None])[0]

    def hidden(self, pts: np.ndarray, azimuth: float, elevation: float, eye: np.ndarray | None = None) -> np.ndarray:
        """For points (N, 3) in data units: True where the surface lies between the point and the camera.

        March from each point towards the camera and look for a sample under the surface while inside
        the surface's footprint. With ``eye`` (box units, from ``eye(ax.M)``) each ray goes to the eye,
        as mplot3d's perspective draws it; without, all rays are parallel to the view direction, which
        misjudges points near a silhouette.
        """
        box = self.to_box(pts)
        if eye is None:
            a, e = np.radians(azimuth), np.radians(elevation)
            towards = np.array([np.cos(e) * np.cos(a), np.cos(e) * np.sin(a), np.sin(e)])[None, :]
        else:
            towards = eye[None, :] - box
            with np.errstate(invalid="ignore", divide="ignore"):
                towards = towards / np.linalg.norm(towards, axis=1, keepdims=True)
        towards = np.broadcast_to(towards, box.shape)
        tol = OCCLUSION_TOLERANCE * self.span[2]
        lines_x, lines_y, roof = self._lines()
        marched = raster.hidden(box, towards, RAY_START, RAY_END, roof, BOX_ASPECT, self.lo, self.span, self.xs,
                                self.ys, lines_x, lines_y, self.z, tol)
        if marched is not None:  # the C march: 3 ms of a four-run frame in numpy
            return marched
        return self._marched(box, towards, roof, lines_x, lines_y, tol)

    def _lines(self) -> tuple[np.ndarray, np.ndarray, float]:
        """The grid's lines in box units and the surface's top (a ray that rises above it meets nothing
        more), kept while ``z`` is the same array (an evolving film sets a new one each frame)."""
        if self._kept is None or self._kept[0] is not self.z:
            finite = self.z[np.isfinite(self.z)]
            roof = (float(finite.max()) - self.lo[2]) / self.span[2] * BOX_ASPECT[2] if finite.size else -np.inf
            self._kept = (self.z, (self.xs - self.lo[0]) / self.span[0] * BOX_ASPECT[0],
                          (self.ys - self.lo[1]) / self.span[1] * BOX_ASPECT[1], roof)
        return self._kept[1:]

    def _marched(self, box: np.ndarray, towards: np.ndarray, roof: float, lines_x: np.ndarray, lines_y: np.ndarray,
                 tol: float) -> np.ndarray:
        """The march in numpy (raster.c's ``hidden`` gives the same answers): along each ray's stretch
        over the surface's footprint and under the box's top, the field is sampled wherever the ray
        crosses a grid line (where the bilinear field is linear, exact between the grid's points) and at
        both ends of the stretch. So no hill is stepped over however narrow, and a ray leaving the map
        is tested right at its edge, where a steep rim hides what lies behind it."""
        with np.errstate(invalid="ignore", divide="ignore"):
            lo, hi = _stretch(box, towards, roof)
            t = np.concatenate([(lines_x[None, :] - box[:, :1]) / towards[:, :1],
                                (lines_y[None, :] - box[:, 1:2]) / towards[:, 1:2], lo[:, None], hi[:, None]], axis=1)
            t = np.where((t >= lo[:, None]) & (t <= hi[:, None]), t, np.inf)
            valid = np.isfinite(t)
            samples = box[:, None, :] + np.where(valid, t, 0.0)[..., None] * towards[:, None, :]
            data = samples / BOX_ASPECT * self.span + self.lo
            surface = self.height(data[..., 0], data[..., 1])
            below = valid & (data[..., 2] < surface - tol)
        return below.any(axis=1)


def _stretch(box: np.ndarray, towards: np.ndarray, roof: float) -> tuple[np.ndarray, np.ndarray]:
    """The distances (lo, hi), each (N,), between which rays from ``box`` along ``towards`` run over the
    box's footprint and under its top (a rising ray: under ``roof``, the surface's highest point), from
    RAY_START to RAY_END at most; lo > hi where never."""
    lo = np.full(len(box), RAY_START)
    hi = np.full(len(box), RAY_END)
    for axis in range(2):
        a, b = (0.0 - box[:, axis]) / towards[:, axis], (BOX_ASPECT[axis] - box[:, axis]) / towards[:, axis]
        inside = (box[:, axis] >= 0) & (box[:, axis] <= BOX_ASPECT[axis])
        flat = towards[:, axis] == 0
        lo = np.where(flat, np.where(inside, lo, np.inf), np.maximum(lo, np.minimum(a, b)))
        hi = np.where(flat, hi, np.minimum(hi, np.maximum(a, b)))
    up = (min(BOX_ASPECT[2], roof) - box[:, 2]) / towards[:, 2]
    hi = np.where(towards[:, 2] > 0, np.minimum(hi, up), np.where(box[:, 2] <= BOX_ASPECT[2], hi, -np.inf))
    return lo, hi


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


def blend(at: float, count: int) -> tuple[int, float]:
    """An evolving film's ``at`` = k + u as (k, u): u of the way from surface k to k + 1 of ``count``."""
    k = int(np.clip(np.floor(at), 0, count - 2))
    return k, float(np.clip(at - k, 0.0, 1.0))


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
    from matplotlib.font_manager import FontProperties
    from matplotlib.textpath import TextToPath

    measure = TextToPath()
    scale = look.dpi / 72.0

    def width(s: str, points: float) -> float:
        return measure.get_text_width_height_descent(s, FontProperties(size=points), ismath=False)[0] * scale

    margin = 0.025 * look.width
    room = look.width - 2 * margin
    if not race and labels:  # the legend stands at the top right, beside the title and subtitle
        room -= max(width(label, POINTS["legend"]) for label in labels) + 4.5 * POINTS["legend"] * scale
    lines, line = [], ""
    for word in text.split(" "):
        trial = f"{line} {word}" if line else word
        if line and width(trial, POINTS["subtitle"]) > room:
            lines.append(line)
            line = word
        else:
            line = trial
    return "\n".join(lines + [line])


def _tick_label(value: float) -> str:
    return f"{value:.3g}".replace("-", "\u2212")


class LeanAxes:
    """Axis lines, a few tick labels and the axis names, kept on the box edges that face the camera.

    mplot3d's own axes (panes, grid, ticks, their layout) cost about 40 % of a frame. Here the lines
    are two artists that move, and every label is a sprite pasted at its projected position.
    """

    def __init__(self, ax, field: HeightField, floor: float, names: tuple[str, str, str], theme: dict,
                 ticks: int, sprites: TextSprites, beta_ticks: dict | None = None,
                 zrange: tuple[float, float] | None = None):
        self.ax = ax
        (x0, y0, _), span = field.lo, field.span
        x1, y1, z1 = x0 + span[0], y0 + span[1], field.lo[2] + span[2]
        self.box = (x0, x1, y0, y1, floor, z1)
        self.pad = 0.07 * span
        self.zrange = zrange or (float(field.z.min()), float(field.z.max()))
        dim, fg = theme["dim"], theme["fg"]

        def ticks_in(lo, hi):
            return [v for v in MaxNLocator(ticks).tick_values(lo, hi) if lo <= v <= hi]

        def label(v):
            return sprites.get(_tick_label(v), dim, POINTS["tick"])

        self.xticks = [(v, label(v)) for v in ticks_in(x0, x1)]
        # Named ticks where beta is not a number (an Interpolation's two splits), else numbers. A name is
        # set a tenth in from its edge, clear of the other axis's tick at the corner.
        self.yticks = ([(y0 + (0.1 + 0.8 * (float(v) - y0) / (y1 - y0)) * (y1 - y0), sprites.get(text, dim, POINTS["tick"]))
                        for v, text in beta_ticks.items()] if beta_ticks else [(v, label(v)) for v in ticks_in(y0, y1)])
        self.zticks = [(v, label(v)) for v in ticks_in(*self.zrange)]
        self._label, self._ticks_in = label, ticks_in
        self.names = [sprites.get(n, fg, POINTS["axis_name"]) for n in names]
        ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], [floor] * 5, color=dim, lw=0.6, zorder=0.5)
        self.zline, = ax.plot([x0, x0], [y0, y0], list(self.zrange), color=dim, lw=0.8, zorder=7)
        self.labels: list[tuple[tuple[float, float, float], Sprite]] = []
        self.clip = None  # the picture's frame (pixel box) when a camera move zooms in or slides
        self.obstacles: list = []  # pixel boxes (the text) the z axis name keeps clear of
        rgb = np.round(np.asarray(matplotlib.colors.to_rgb(theme["bg"])) * 255).astype(np.uint8)
        self._bg24 = np.array([*rgb, 0], np.uint8).view(np.uint32)[0]  # the background's RGB bits as a pixel

    def retick(self, lo: float, hi: float) -> None:
        """Label the z axis for values lo..hi drawn over its whole extent (an evolving film whose z range
        follows its surfaces): each tick value at the height it is drawn at."""
        z0, z1 = self.zrange
        values = self._ticks_in(lo, hi)
        self.zticks = [(z0 + (v - lo) / (hi - lo) * (z1 - z0), self._label(v)) for v in values]
        self.tick_texts = [_tick_label(v) for v in values]

    def update(self, azimuth: float, elevation: float) -> None:
        """Choose the edges for this view and place every label (drawn later by ``paste``)."""
        x0, x1, y0, y1, floor, ztop = self.box
        a = np.radians(azimuth)
        # The camera sits along (cos a, sin a): label the edges on its side, pushed outwards.
        near_y, out_y = (y1, 1) if np.sin(a) > 0 else (y0, -1)
        near_x, out_x = (x1, 1) if np.cos(a) > 0 else (x0, -1)
        far_x, far_y = x0 + x1 - near_x, y0 + y1 - near_y
        ty, tx = near_y + out_y * self.pad[1], near_x + out_x * self.pad[0]
        labels = [((v, ty, floor), s) for v, s in self.xticks] + [((tx, v, floor), s) for v, s in self.yticks]
        self.ticks = len(labels)
        # The axis names, and the points of their edges they are pushed away from (see paste).
        labels.append((((x0 + x1) / 2, near_y + out_y * 2.4 * self.pad[1], floor), self.names[0]))
        labels.append(((near_x + out_x * 2.4 * self.pad[0], (y0 + y1) / 2, floor), self.names[1]))
        self.name_bases = [((x0 + x1) / 2, near_y, floor), (near_x, (y0 + y1) / 2, floor)]
        # The loss axis stands on whichever side corner appears further right, clear of the text column.
        corners = ((near_x, far_y), (far_x, near_y))
        right = np.array([-np.sin(a), np.cos(a)])  # screen-right in the xy plane for this azimuth
        scale = np.array([1 / (x1 - x0), 1 / (y1 - y0)])
        cx, cy = max(corners, key=lambda c: float(np.dot(np.asarray(c) * scale, right)))
        ox = self.pad[0] * 0.8 * (1 if cx == x1 else -1)
        oy = self.pad[1] * 0.8 * (1 if cy == y1 else -1)
        self.zline.set_data_3d([cx, cx], [cy, cy], list(self.zrange))
        labels += [((cx + ox, cy + oy, v), s) for v, s in self.zticks]
        labels.append(((cx + ox, cy + oy, self.zrange[1] + 0.12 * (ztop - floor)), self.names[2]))
        self.labels = labels

    def paste(self, frame: np.ndarray) -> None:
        """Paste the labels at their projected positions; call after the frame is drawn (it sets ax.M)."""
        if not self.labels:
            return
        xyz = np.array([p for p, _ in self.labels] + self.name_bases, dtype=float)
        px, py, _ = proj3d.proj_transform(xyz[:, 0], xyz[:, 1], xyz[:, 2], self.ax.M)
        screen = self.ax.transData.transform(np.column_stack([px, py]))
        screen[:, 1] = frame.shape[0] - screen[:, 1]  # rows from the top
        bases, screen = screen[len(self.labels):], screen[:len(self.labels)]
        sprites = [s for _, s in self.labels]
        taken = [s.box(x, y) for (x, y), s in zip(screen[:self.ticks], sprites[:self.ticks])]
        def inside(k):  # a long name stays inside the frame
            left, _, right, _ = sprites[k].box(*screen[k])
            screen[k, 0] += max(0.0, 2.0 - left) - max(0.0, right - (frame.shape[1] - 2.0))

        for k, base in zip((self.ticks, self.ticks + 1), bases):
            inside(k)
            screen[k] = _clear_of(sprites[k], screen[k], base, taken)
            inside(k)
            taken.append(sprites[k].box(*screen[k]))
        self.boxes = taken  # where the floor's labels went: ticks, then the two axis names
        # The z axis's ticks, bottom up, each kept only clear of those kept and of the floor's labels: seen
        # from high above, the axis shortens until its labels would print over one another.
        shown = set(range(len(sprites)))
        self.z_boxes = []
        for k in range(self.ticks + 2, len(sprites) - 1):
            box = sprites[k].box(*screen[k])
            if any(overlaps(box, t, 2) for t in self.z_boxes + taken):
                shown.discard(k)
            else:
                self.z_boxes.append(box)
        if self.obstacles:  # the z axis's name (the last label) moves left, clear of the text
            screen[-1] = _clear_of(sprites[-1], screen[-1], screen[-1] + (1.0, 0.0), self.obstacles, tries=200)
        left, _, right, _ = sprites[-1].box(*screen[-1])  # a long name stays inside the frame
        screen[-1, 0] += max(0.0, 2.0 - left) - max(0.0, right - (frame.shape[1] - 2.0))
        screen[-1] = self._clear_of_picture(frame, sprites[-1], screen[-1], taken + self.z_boxes)
        self.z_name_box = sprites[-1].box(*screen[-1])
        for k, ((x, y), sprite) in enumerate(zip(screen, sprites)):
            if k not in shown:
                continue
            if self.clip is not None and not (self.clip[0] <= x <= self.clip[2] and self.clip[1] <= y <= self.clip[3]):
                continue  # a zoomed-in label beyond the picture's frame
            sprite.paste(frame, x, y)

    def _clear_of_picture(self, frame: np.ndarray, sprite, at: np.ndarray, taken: list, gap: int = 3) -> np.ndarray:
        """``at`` moved the least distance (up, or sideways, leftwards counting double) so that the z
        axis's name covers none of the drawn picture and no text: seen from the side, the surface's high
        corner beside the axis rises into the name's place. The frame holds the drawn surface and the
        static layer here, so its own pixels are the test; every offset within a quarter of the frame is
        tried at once through a summed-area table. Where none is free, the name stays where it was."""
        h, w = frame.shape[:2]
        left, top, right, bottom = sprite.box(*at)
        bw, bh = int(np.ceil(right - left)) + 2, int(np.ceil(bottom - top)) + 2
        bx, by = int(np.floor(left)) - 1, int(np.floor(top)) - 1  # the box's top-left pixel now
        top_limit = 2 if self.clip is None else max(2, int(np.ceil(self.clip[1])))
        x0, x1 = max(bx - w // 8, 2), min(bx + bw + w // 4, w - 2)
        y0, y1 = max(by - h // 4, top_limit), min(by + bh, h)
        if x1 - x0 < bw or y1 - y0 < bh:
            return at
        texts = list(self.obstacles) + list(taken)
        box = (left, top, right, bottom)
        if x0 <= bx and bx + bw <= x1 and y0 <= by and by + bh <= y1 and not any(
                overlaps(box, t, gap) for t in texts) and self._ink(frame[by:by + bh, bx:bx + bw]).sum() < 3:
            return at  # the usual case: already clear
        ink = self._ink(frame[y0:y1, x0:x1])
        for l, t, r, b in texts:  # noqa: E741
            ink[max(int(t) - gap - y0, 0):max(int(np.ceil(b)) + gap - y0, 0),
                max(int(l) - gap - x0, 0):max(int(np.ceil(r)) + gap - x0, 0)] = True
        table = np.zeros((ink.shape[0] + 1, ink.shape[1] + 1), np.int32)
        table[1:, 1:] = ink.cumsum(0).cumsum(1)
        count = table[bh:, bw:] - table[:-bh, bw:] - table[bh:, :-bw] + table[:-bh, :-bw]
        ys, xs = np.nonzero(count < 3)  # top-left corners, in the region, of boxes free of ink
        dx, dy = xs + x0 - bx, ys + y0 - by
        ok = dy <= 0  # never down, into the z axis's own ticks
        if not ok.any():
            return at
        cost = np.hypot(np.where(dx < 0, 2.0 * dx, dx), dy)[ok]
        k = int(np.argmin(cost))
        return at + (float(dx[ok][k]), float(dy[ok][k]))

    def _ink(self, pixels: np.ndarray) -> np.ndarray:
        """Where ``pixels`` (rows, columns, RGBA) are not the background: anything drawn, to its
        faintest anti-aliased fringe (one comparison of whole pixels: a channel-wise tolerance cost
        3 ms for the search's region)."""
        return (pixels.view(np.uint32)[..., 0] & np.uint32(0xFFFFFF)) != self._bg24

def _clear_of(sprite, at: np.ndarray, base: np.ndarray, taken: list, step: float = 3.0, tries: int = 60,
              gap: float = 3.0) -> np.ndarray:
    """``at`` moved away from ``base`` (its axis edge) until the sprite's ink is ``gap`` pixels clear of
    every box in ``taken``: a long axis name seen at a steep angle would otherwise cover tick labels."""
    direction = at - base
    norm = float(np.hypot(*direction))
    direction = direction / norm if norm > 1e-9 else np.array([0.0, 1.0])
    for _ in range(tries):
        box = sprite.box(*at)
        if not any(overlaps(box, t, gap) for t in taken):
            break
        at = at + step * direction
    return at


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
        if log:  # label three values spread evenly in log space: a narrow range holds no decade
            still.yaxis.set_major_locator(FixedLocator(np.geomspace(lo, hi, 3)))
            still.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.3g}"))
            still.yaxis.set_minor_locator(NullLocator())
        else:
            still.yaxis.set_major_locator(MaxNLocator(3))
        self.still = still
        still.set_title(f"{loss_label} / step", color=theme["dim"], fontsize=POINTS["inset"], loc="left", pad=3)
        self.lines = []
        for t, color in zip(landscape.traces, colors):
            line, = live.plot([], [], color=color, lw=1.2)
            dot, = live.plot([], [], "o", color=color, ms=3.5, clip_on=False)  # whole at the first and last step
            self.lines.append((t, line, dot))

    def update(self, steps: np.ndarray) -> None:
        for (trace, line, dot), s in zip(self.lines, steps):
            s = int(s)
            idx = np.unique(np.round(np.linspace(0, s, min(s + 1, self.MAX_POINTS))).astype(int))
            x = trace.step_numbers[idx] if trace.step_numbers is not None else idx  # the run's own step count
            line.set_data(x, trace.loss[idx])
            dot.set_data([trace.step_at(s)], [trace.loss[s]])


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
