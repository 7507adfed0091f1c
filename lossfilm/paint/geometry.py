"""The surface as drawn: facets, smoothing, and the height field that paths are snapped to and
occlusion is marched through.
"""
from __future__ import annotations


import numpy as np

from . import raster
from .colors import bilinear


BOX_ASPECT = np.array([1.0, 1.0, 0.62])
OCCLUSION_SAMPLES = 240
RAY_START, RAY_END = 0.004, 2.2  # the stretch of a ray to the camera that is marched, in box units
OCCLUSION_TOLERANCE = 0.0005  # a ray this far under the surface (of the z range) is hidden by it


def _decimate(n: int, count: int, keep: int = 0) -> np.ndarray:
    """Every k-th index so at most about ``count`` quads remain, all the same width (uneven facets
    shade unevenly and read as stripes), on the lattice through ``keep`` (the minimum, so a narrow
    trough keeps its floor), plus both ends."""
    stride = max(1, int(np.ceil((n - 1) / max(count, 1))))
    idx = np.arange(keep % stride, n, stride)
    return np.unique(np.concatenate([[0], idx, [n - 1]]))
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
