"""A true z-buffer of the painted surface, for tests of what the painter shows and hides: every
triangle the surface is drawn with, rasterized with its depth under mplot3d's own projection."""
import numpy as np


def zbuffer(ax, surface, shape, depths=False):
    """Which quad a true z-buffer shows at each pixel: every triangle of the surface rasterized with
    its depth (mplot3d's projected z, farther when larger, affine across the screen), the nearest kept.
    With ``depths``: (quads, depth) per pixel."""
    h, w = shape
    v = ax.M @ surface._corners
    ndc = (v[:3] / v[3]).T.reshape(-1, 4, 3)
    screen = ax.transData.transform(ndc[..., :2].reshape(-1, 2)).reshape(-1, 4, 2)
    screen[..., 1] = h - screen[..., 1]
    depth = np.full(shape, np.inf)
    quad = np.full(shape, -1)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    for k in range(len(ndc)):
        for t in surface._splits[k]:
            p, d = screen[k, t], ndc[k, t, 2]
            x0, y0 = np.floor(p.min(0)).astype(int).clip(0, [w, h])
            x1, y1 = np.ceil(p.max(0)).astype(int).clip(0, [w, h])
            if x1 <= x0 or y1 <= y0:
                continue
            px, py = xx[y0:y1, x0:x1], yy[y0:y1, x0:x1]
            den = (p[1, 1] - p[2, 1]) * (p[0, 0] - p[2, 0]) + (p[2, 0] - p[1, 0]) * (p[0, 1] - p[2, 1])
            if den == 0:
                continue
            a = ((p[1, 1] - p[2, 1]) * (px - p[2, 0]) + (p[2, 0] - p[1, 0]) * (py - p[2, 1])) / den
            b = ((p[2, 1] - p[0, 1]) * (px - p[2, 0]) + (p[0, 0] - p[2, 0]) * (py - p[2, 1])) / den
            c = 1 - a - b
            inside = (a >= 0) & (b >= 0) & (c >= 0)
            z = a * d[0] + b * d[1] + c * d[2]
            nearer = inside & (z < depth[y0:y1, x0:x1])
            depth[y0:y1, x0:x1][nearer] = z[nearer]
            quad[y0:y1, x0:x1][nearer] = k
    return (quad, depth) if depths else quad


def painted_depth(painter):
    """The z-buffer's nearest depth (mplot3d's projected z) at every pixel of the painter's current frame."""
    from lossfilm.paint.surface import FastSurface

    surface = next(c for c in painter.ax.collections if isinstance(c, FastSurface))
    shape = np.asarray(painter.canvas.buffer_rgba()).shape[:2]
    return zbuffer(painter.ax, surface, shape, depths=True)[1]


def hidden_by_surface(painter, pts, depth, tolerance=1e-4):
    """Which of ``pts`` (data units) the painted surface hides: the z-buffer's nearest ``depth``
    (``painted_depth``) at the pixel under each point lies nearer the camera than the point by more
    than ``tolerance``."""
    from mpl_toolkits.mplot3d import proj3d

    ax = painter.ax
    h, w = depth.shape
    px, py, pz = proj3d.proj_transform(pts[:, 0], pts[:, 1], pts[:, 2], ax.M)
    screen = ax.transData.transform(np.column_stack([px, py]))
    r = np.clip(np.round(h - screen[:, 1] - 0.5).astype(int), 0, h - 1)
    c = np.clip(np.round(screen[:, 0] - 0.5).astype(int), 0, w - 1)
    return depth[r, c] < pz - tolerance
