"""The drawn surface's grid points moved onto the floors of valleys narrower than a facet.

A regular lattice of facets samples a trench narrower than one facet (Rosenbrock's valley in log z,
0.02 wide against facets 0.075 apart) at its floor in one place and on its wall in the next, so the
drawn floor rises and falls along the valley and its silhouette, seen along the valley, is a saw. Any
regular lattice does it, only finer (the full 160-point grid too); smoothing the surface first shrinks
the teeth by filling the valley. Here, wherever a valley crosses a row or a column of the lattice, the
point of that line nearest the crossing moves along the line onto the valley's floor: the facets keep
their count and their topology, and the valley is drawn along a chain of points at its floor's height.

The moved grid is no longer a product of two axes: the height field the paths and the occlusion test
read is the drawn triangles sampled on a regular grid (``drawn_heights``).
"""
from __future__ import annotations

import numpy as np

# Each quad's two triangles, by its corners (plot_surface's order: (r, c), (r, c+1), (r+1, c+1), (r+1, c)):
# split along the diagonal 0-2, or along 1-3.
TRIANGLES = np.array([[0, 1, 2], [0, 2, 3]])
TRIANGLES_1_3 = np.array([[0, 1, 3], [1, 2, 3]])


def corner_ids(rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of each corner of every quad of a rows x cols grid, as plot_surface orders them:
    quads row by row, each one's corners (r, c), (r, c+1), (r+1, c+1), (r+1, c). Both (4 n,)."""
    quad = np.arange((rows - 1) * (cols - 1))
    r, c = quad // (cols - 1), quad % (cols - 1)
    return np.stack([r, r, r + 1, r + 1], 1).ravel(), np.stack([c, c + 1, c + 1, c], 1).ravel()


def splits_along_1_3(z: np.ndarray, floor: np.ndarray | None = None) -> np.ndarray:
    """For quads' corner heights (n, 4): True where a quad is split along its diagonal 1-3.

    Each quad is split along the diagonal whose ends are closest in height, so that a valley or ridge
    running diagonally across the grid is followed by the triangles' edges instead of being cut across
    by them into a row of teeth; on a tie (a trench crossing a quad corner to corner, its walls alike),
    along the lower pair: the valley's floor. ``floor`` (n, 4), the corners moved onto a valley's floor
    (``valley_snapped``): a diagonal with both ends on a floor and the other without is the valley's
    own, whatever the heights say (its floor rises along it, while the walls' points across it may
    happen to match: the split then cut the floor, a notch in its silhouette)."""
    finite = z[np.isfinite(z)]
    span = float(np.ptp(finite)) if finite.size else 1.0
    z = np.nan_to_num(z, posinf=0.0, neginf=0.0)  # a quad with a hole is not drawn: either split
    d02, d13 = np.abs(z[:, 0] - z[:, 2]), np.abs(z[:, 1] - z[:, 3])
    tie = np.abs(d13 - d02) <= 1e-9 * span
    split = np.where(tie, z[:, 1] + z[:, 3] < z[:, 0] + z[:, 2], d13 < d02)
    if floor is not None:
        on02, on13 = floor[:, 0] & floor[:, 2], floor[:, 1] & floor[:, 3]
        split = np.where(on02 & ~on13, False, np.where(on13 & ~on02, True, split))
    return split


def _owners(t: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """The lattice point (index into ``idx``) whose cell holds full-grid index ``t``, or -1. An inner
    point's cell reaches half-way to its neighbours; an end point's is its own line only, so that it
    moves along the domain's edge and never off it."""
    mid = (idx[:-1] + idx[1:] + 1) // 2
    k = np.searchsorted(mid, t, side="right")
    end = (k == 0) | (k == len(idx) - 1)
    return np.where(end & (t != idx[np.clip(k, 0, len(idx) - 1)]), -1, k)


def _crossings(z: np.ndarray, lines: np.ndarray, cells: np.ndarray, axis: int):
    """Where valleys cross the lattice's lines: on each full-grid line ``lines`` (rows for axis 1,
    columns for axis 0), the points lower than both neighbours along the line. Returns (line number,
    owning lattice point across, full-grid row, full-grid column) of each, the owner found in ``cells``
    (the lattice's indices along the line); -1 where no lattice point's cell holds it."""
    sub = z[lines, :] if axis == 1 else z[:, lines].T  # (lines, along)
    inner = (sub[:, 1:-1] < sub[:, :-2]) & (sub[:, 1:-1] < sub[:, 2:])
    k, t = np.nonzero(inner)
    t = t + 1
    owner = _owners(t, cells)
    r, c = (lines[k], t) if axis == 1 else (t, lines[k])
    return k, owner, r, c


def _floor(v: np.ndarray, r: np.ndarray, c: np.ndarray, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """(offset in grid steps, value) of the lowest point of the parabola through the three values of ``v``
    around the minima (r, c) along ``axis``."""
    k = c if axis == 1 else r
    f0 = v[r, c]
    fa, fb = (v[r, k - 1], v[r, k + 1]) if axis == 1 else (v[k - 1, c], v[k + 1, c])
    curve = fa - 2 * f0 + fb  # > 0 at a strict minimum: the offset lies within half a step
    return (fa - fb) / (2 * curve), f0 - (fb - fa) ** 2 / (8 * curve)


def valley_snapped(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, ri: np.ndarray, ci: np.ndarray,
                   zd: np.ndarray, depth: float, log: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The decimated grid (rows ``ri``, columns ``ci`` of the full grid ``z`` on axes ``xs``, ``ys``;
    heights ``zd``) with its points moved onto valley floors: (X, Y, Z, moved), each (rows, cols).

    Where a valley crosses a row of the lattice, the row's point whose cell holds the crossing moves
    along the row onto the valley's floor, if that floor lies at least ``depth`` below the point's own
    height; the same down each column. So a valley is drawn along a chain of points on its floor, one
    wherever it crosses a lattice line, and a point already on a floor stays. A point moves along one
    line only, within its own cell (half-way to its neighbours), so the grid keeps its order and no facet
    folds; a point on the domain's edge moves along the edge. The floor is found between the full
    grid's samples (which do not resolve such a valley either: their lowest lies near the floor here
    and a third of a step off it there), as the lowest point of the parabola through three of them, in
    the loss itself (``log``: z is log10 of the loss), which is quadratic in the distance from a smooth
    valley's floor. Only valleys: in log z, the view that makes trenches narrow, heights near zero are
    stretched into trenches while ridges are compressed."""
    X, Y = np.meshgrid(xs[ci], ys[ri])
    Z = np.array(zd, np.float64)
    moved = np.zeros(Z.shape, bool)
    if min(z.shape) < 3:
        return X, Y, Z, moved
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        loss = np.power(10.0, z) if log else np.asarray(z, np.float64)
        found = []
        for axis, lines, cells in ((1, ri, ci), (0, ci, ri)):
            k, owner, r, c = _crossings(z, lines, cells, axis)
            ok = owner >= 0
            k, owner, r, c = k[ok], owner[ok], r[ok], c[ok]
            t, value = _floor(loss, r, c, axis)
            if log:
                value = np.log10(np.where(value > 0, value, 0.0))  # a floor at 0 in log z: -inf, clipped by the caller
            sound = np.isfinite(t) & ~np.isnan(value)  # else a loss too large for a float: the sample itself
            t, value = np.where(sound, t, 0.0), np.where(sound, np.minimum(value, z[r, c]), z[r, c])
            if axis == 1:
                i, j = k, owner
                step = np.where(t > 0, xs[np.minimum(c + 1, len(xs) - 1)] - xs[c], xs[c] - xs[c - 1])
                x, y = xs[c] + t * step, ys[r]
            else:
                i, j = owner, k
                step = np.where(t > 0, ys[np.minimum(r + 1, len(ys) - 1)] - ys[r], ys[r] - ys[r - 1])
                x, y = xs[c], ys[r] + t * step
            found.append((i, j, x, y, value))
    i, j, x, y, value = (np.concatenate(parts) for parts in zip(*found))
    deep = Z[i, j] - value >= depth
    i, j, x, y, value = i[deep], j[deep], x[deep], y[deep], value[deep]
    if not len(value):
        return X, Y, Z, moved
    point = i * len(ci) + j
    order = np.lexsort((value, point))  # by lattice point, lowest floor first
    first = order[np.r_[True, point[order][1:] != point[order][:-1]]]
    i, j = i[first], j[first]
    X[i, j], Y[i, j], Z[i, j] = x[first], y[first], value[first]
    moved[i, j] = True
    return X, Y, Z, moved


def drawn_heights(X: np.ndarray, Y: np.ndarray, Z: np.ndarray, moved: np.ndarray, xd: np.ndarray, yd: np.ndarray,
                  xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """The drawn surface (the grid X, Y, Z: the product of ``xd`` and ``yd`` with the points ``moved``
    within their cells, each quad split as ``splits_along_1_3`` splits it, ``moved`` its floor) sampled
    at the grid points of axes ``xs`` and ``ys``: (len(ys), len(xs))."""
    rows, cols = Z.shape
    px, py = (a.ravel() for a in np.meshgrid(xs, ys))
    r0 = np.clip(np.searchsorted(yd, py, side="right") - 1, 0, rows - 2)
    c0 = np.clip(np.searchsorted(xd, px, side="right") - 1, 0, cols - 2)
    iy, ix = (a.reshape(-1, 4) for a in corner_ids(rows, cols))
    corners = np.where(splits_along_1_3(Z[iy, ix], moved[iy, ix])[:, None, None], TRIANGLES_1_3, TRIANGLES)  # (n, 2, 3)
    # A point lies in its own quad of the lattice unless a corner moved nearby: then in a neighbour.
    bent = moved[:-1, :-1] | moved[:-1, 1:] | moved[1:, :-1] | moved[1:, 1:]
    near = np.pad(bent, 1)
    near = (near[:-2, :-2] | near[:-2, 1:-1] | near[:-2, 2:] | near[1:-1, :-2] | near[1:-1, 1:-1] | near[1:-1, 2:]
            | near[2:, :-2] | near[2:, 1:-1] | near[2:, 2:])[r0, c0]
    best = np.full(len(px), -np.inf)
    height = np.full(len(px), np.nan)
    for dr, dc in [(0, 0)] + [(a, b) for a in (-1, 0, 1) for b in (-1, 0, 1) if a or b]:
        at = np.arange(len(px)) if dr == dc == 0 else np.nonzero(near)[0]
        r, c = r0[at] + dr, c0[at] + dc
        valid = (r >= 0) & (r <= rows - 2) & (c >= 0) & (c <= cols - 2)
        q = np.clip(r, 0, rows - 2) * (cols - 1) + np.clip(c, 0, cols - 2)
        x, y = px[at], py[at]
        for t in range(2):
            k = corners[q, t]  # (P, 3): the triangle's corners within its quad
            cy, cx = iy[q[:, None], k], ix[q[:, None], k]
            tx, ty, tz = X[cy, cx], Y[cy, cx], Z[cy, cx]
            d = (ty[:, 1] - ty[:, 2]) * (tx[:, 0] - tx[:, 2]) + (tx[:, 2] - tx[:, 1]) * (ty[:, 0] - ty[:, 2])
            with np.errstate(invalid="ignore", divide="ignore"):
                w0 = ((ty[:, 1] - ty[:, 2]) * (x - tx[:, 2]) + (tx[:, 2] - tx[:, 1]) * (y - ty[:, 2])) / d
                w1 = ((ty[:, 2] - ty[:, 0]) * (x - tx[:, 2]) + (tx[:, 0] - tx[:, 2]) * (y - ty[:, 2])) / d
                w = np.stack([w0, w1, 1 - w0 - w1], 1)
                inside = np.where(valid & (d != 0), np.nan_to_num(w.min(1), nan=-np.inf), -np.inf)
                better = inside > best[at]  # the triangle the point lies most inside of (on an edge: either)
                best[at] = np.where(better, inside, best[at])
                height[at] = np.where(better, (w * tz).sum(1), height[at])
    return height.reshape(len(ys), len(xs))


def light_weights(X: np.ndarray, Y: np.ndarray, moved: np.ndarray, dx: float, dy: float, reach: float = 2.0) -> np.ndarray:
    """How much of its own hill-shading each grid point (X, Y) keeps, (rows, cols) in [0, 1], the rest
    taken from a light that varies slowly: none on a valley's floor (the ``moved`` points), rising
    smoothly to all of it ``reach`` lattice steps (``dx``, ``dy``) from the nearest floor point. The
    points beside a floor lie between a half and one and a half steps from it, wherever the valley
    happens to cross the lattice, so light that changes across the valley lights the walls' triangles
    between them unevenly along it, in teeth; colour by height alone draws the walls smoothly, and a
    few steps away the lattice is even again."""
    fx, fy = X[moved] / dx, Y[moved] / dy
    px, py = X.ravel() / dx, Y.ravel() / dy
    d = np.full(px.shape, np.inf)
    for k in range(0, len(fx), 256):  # (points, 256) at a time: a few MB however many floor points
        d = np.minimum(d, np.hypot(px[:, None] - fx[None, k:k + 256], py[:, None] - fy[None, k:k + 256]).min(1))
    t = np.clip(d / reach, 0.0, 1.0)
    return (t * t * (3 - 2 * t)).reshape(X.shape)
