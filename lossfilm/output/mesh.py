"""The surface as a mesh for ParaView and Blender: a PLY file (written by meshio) with the grid's
rows x cols vertices in the film's colours, its quads as faces, and every path as a polyline of
two-vertex segments in its run's colour.

z is the loss, or log10 of it when the scene's style has a log z axis, as in the film. Made on the
client from the computed numbers, never painted.
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..landscape import Landscape
from ..plan import FramePlan
from ..scene.view import Style


def _rgb(colors) -> np.ndarray:
    return np.clip(np.round(np.asarray(colors, np.float64)[..., :3] * 255), 0, 255).astype(np.uint8)


def surface_mesh(landscape: Landscape, style: Style) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points (rows*cols, 3), quads (faces, 4) as vertex indices, colours (rows*cols, 3) uint8).

    Vertex k is grid point (i, j) = divmod(k, cols): (alphas[j], betas[i], loss[i, j]). A quad whose
    corners are not all finite is left out (a diverged region of the grid is a hole, not a spike)."""
    import matplotlib
    from matplotlib.colors import Normalize

    from ..paint.colors import THEMES, contrasting, log_heights, robust_range

    rows, cols = landscape.loss.shape
    z = log_heights(landscape.loss) if style.zscale == "log" else np.asarray(landscape.loss, np.float64)
    X, Y = np.meshgrid(landscape.alphas, landscape.betas)
    points = np.stack([X.ravel(), Y.ravel(), z.ravel()], 1)
    lo, hi = robust_range(z)
    cmap = contrasting(matplotlib.colormaps[style.cmap], THEMES[style.theme]["bg"])
    colors = _rgb(cmap(Normalize(lo, hi, clip=True)(np.where(np.isfinite(z), z, hi)).ravel()))
    k = np.arange(rows * cols).reshape(rows, cols)
    quads = np.stack([k[:-1, :-1].ravel(), k[:-1, 1:].ravel(), k[1:, 1:].ravel(), k[1:, :-1].ravel()], 1)
    finite = np.isfinite(points).all(1)
    quads = quads[finite[quads].all(1)]
    points[~finite, 2] = 0.0  # a vertex no face uses; PLY has no NaN convention for readers
    return points, quads, colors


def path_lines(landscape: Landscape, plan: FramePlan, style: Style) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(points, segments (n, 2) as indices into points, colours) of every run's path, its finite part."""
    from matplotlib.colors import to_rgb

    from ..paint.colors import log_heights

    log = style.zscale == "log"
    # On a log axis a loss of 0 (a minimum reached exactly) sits at the surface's bottom, as in the film.
    bottom = np.nanmin(log_heights(landscape.loss)) if log else 0.0
    points, segments, colors = [], [], []
    base = 0
    for trace, color in zip(landscape.traces, plan.colors):
        loss = np.asarray(trace.loss, np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(loss > 0, np.log10(np.where(loss > 0, loss, 1.0)), np.where(np.isfinite(loss), bottom, np.nan)) \
                if log else loss
        p = np.stack([trace.alpha, trace.beta, z], 1).astype(np.float64)
        finite = np.isfinite(p).all(1)
        if not finite.all():  # a diverged run: its path up to the last finite point
            p = p[:int(np.argmin(finite))]
        n = len(p)
        points.append(p)
        colors.append(np.repeat(_rgb([to_rgb(color)]), n, axis=0))
        if n > 1:
            segments.append(base + np.stack([np.arange(n - 1), np.arange(1, n)], 1))
        base += n
    if not points:
        return np.zeros((0, 3)), np.zeros((0, 2), np.int32), np.zeros((0, 3), np.uint8)
    return (np.concatenate(points), np.concatenate(segments) if segments else np.zeros((0, 2), np.int64),
            np.concatenate(colors))


def write_ply(views, path: Path) -> Path:
    """The surface and the paths in one binary PLY at ``path`` (written under a temporary name first).
    ``views``: a list of (landscape, plan, style); a comparison's panels stand side by side along x, a
    tenth of a panel's width apart."""
    import meshio

    points, colors, quads, lines = [], [], [], []
    base, shift = 0, 0.0
    for landscape, plan, style in views:
        sp, q, sc = surface_mesh(landscape, style)
        pp, segments, pc = path_lines(landscape, plan, style)
        offset = shift - float(landscape.alphas[0])
        sp, pp = sp.copy(), pp.copy()
        if len(views) > 1:
            sp[:, 0] += offset
            pp[:, 0] += offset
        points += [sp, pp]
        colors += [sc, pc]
        quads.append(q + base)
        lines.append(segments + base + len(sp))
        base += len(sp) + len(pp)
        width = float(landscape.alphas[-1] - landscape.alphas[0])
        shift += 1.1 * width
    points = np.concatenate(points).astype(np.float32)
    colors = np.concatenate(colors)
    cells = [("quad", np.concatenate(quads).astype(np.int32))]
    segments = np.concatenate(lines)
    if len(segments):
        cells.append(("line", segments.astype(np.int32)))
    mesh = meshio.Mesh(points, cells, point_data={"red": colors[:, 0], "green": colors[:, 1], "blue": colors[:, 2]})
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.ply")
    try:
        meshio.write(tmp, mesh, file_format="ply", binary=True)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
