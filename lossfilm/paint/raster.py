"""The surface's smooth shading painted by raster.c straight into matplotlib's Agg buffer, in the
surface's turn of the draw (the artists after it draw over it as usual); the same file holds the text
sprites' composite, the paths' occlusion march and the frames' conversion to the encoder's yuv420p.
Each answers False or None when it cannot (no compiler, ``LOSSFILM_NATIVE=0``, a renderer without a
pixel buffer): the caller then does the same work with matplotlib, numpy or ffmpeg, the same picture,
slower."""
from __future__ import annotations

import ctypes

import numpy as np

from .._plumbing.cbuild import FLAGS, build

_lib: ctypes.CDLL | None = None
_tried = False
status = "not loaded"


def load() -> ctypes.CDLL | None:
    global _lib, _tried, status
    if not _tried:
        _tried = True
        # No fused multiply-adds: a sprite's composite then rounds exactly as numpy's float32 does.
        lib, status = build(__package__, "raster.c", FLAGS + ["-ffp-contract=off"])
        if lib is not None:
            lib.composite.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_void_p,
                                      ctypes.c_void_p, ctypes.c_long]
            lib.composite.restype = None
            lib.gouraud.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p,
                                    ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_long, ctypes.c_long]
            lib.gouraud.restype = None
            lib.hidden.argtypes = [ctypes.c_long] + [ctypes.c_void_p] * 2 + [ctypes.c_double] * 3 + [ctypes.c_void_p] * 3 \
                + [ctypes.c_long, ctypes.c_void_p, ctypes.c_long] + [ctypes.c_void_p] * 4 + [ctypes.c_double, ctypes.c_void_p]
            lib.hidden.restype = None
            lib.yuv420.argtypes = [ctypes.c_long, ctypes.c_void_p, ctypes.c_long, ctypes.c_long, ctypes.c_void_p]
            lib.yuv420.restype = None
            _lib = lib
    return _lib


def pixels(renderer) -> np.ndarray | None:
    """The renderer's RGBA buffer as a writable (rows, cols, 4) array, or None (not an Agg renderer)."""
    get = getattr(renderer, "buffer_rgba", None)
    if get is None:
        return None
    try:
        image = np.asarray(get())
    except (TypeError, ValueError):
        return None
    if image.ndim != 3 or image.shape[2] != 4 or image.dtype != np.uint8 or not image.flags.writeable:
        return None
    return image


def gouraud(image: np.ndarray, triangles: np.ndarray, colors: np.ndarray, smooth: np.ndarray | None = None,
            clip=None) -> bool:
    """Paint ``triangles`` ((n, 3, 2) display pixels, y up, as matplotlib's transforms give them) in
    order with ``colors`` ((n, 3, 4) RGBA in [0, 1]) into ``image``, within ``clip`` (a display Bbox or
    None). ``smooth`` ((n,) bits; default all): which edges are anti-aliased, bit k for the edge opposite
    corner k (see raster.c). False, with nothing painted, when the kernel is not available."""
    lib = load()
    if lib is None:
        return False
    rows, cols = image.shape[:2]
    xy = np.array(triangles, np.float64, order="C")  # a copy: y is flipped to the buffer's rows
    xy[..., 1] = rows - xy[..., 1]
    rgba = np.ascontiguousarray(colors, np.float32)
    bits = np.full(len(xy), 7, np.uint8) if smooth is None else np.ascontiguousarray(smooth, np.uint8)
    x0, y0, x1, y1 = 0, 0, cols, rows
    if clip is not None:
        x0 = max(0, int(np.floor(clip.x0)))
        x1 = min(cols, int(np.ceil(clip.x1)))
        y0 = max(0, int(np.floor(rows - clip.y1)))
        y1 = min(rows, int(np.ceil(rows - clip.y0)))
    lib.gouraud(image.strides[0], image.ctypes.data, len(xy), xy.ctypes.data, rgba.ctypes.data,
                bits.ctypes.data, x0, y0, x1, y1)
    return True


def composite(frame: np.ndarray, x0: int, y0: int, x1: int, y1: int, ink: np.ndarray, keep: np.ndarray,
              sx: int, sy: int) -> bool:
    """A sprite's premultiplied ``ink`` ((h, w, 3) float32) and ``keep`` ((h, w, 1) float32, 1 - alpha),
    from its pixel (sx, sy) on, composited onto ``frame``'s pixels [x0, x1) x [y0, y1) (rows from the
    top). False, with nothing done, when the kernel is not here or the arrays are not laid out for it."""
    lib = _lib if _tried else load()
    if lib is None or frame.strides[1:] != (4, 1) or not (ink.flags.c_contiguous and keep.flags.c_contiguous):
        return False
    width = ink.shape[1]
    lib.composite(frame.strides[0], frame.ctypes.data + y0 * frame.strides[0] + 4 * x0, y1 - y0, x1 - x0,
                  ink.ctypes.data + 4 * 3 * (sy * width + sx), keep.ctypes.data + 4 * (sy * width + sx), width)
    return True


def hidden(box: np.ndarray, towards: np.ndarray, start: float, end: float, roof: float, aspect: np.ndarray,
           lo: np.ndarray, span: np.ndarray, xs: np.ndarray, ys: np.ndarray, lines_x: np.ndarray,
           lines_y: np.ndarray, z: np.ndarray, tol: float) -> np.ndarray | None:
    """paint.HeightField.hidden's ray march in C (the answers of HeightField._marched): points ``box``
    ((n, 3) box units) marched along ``towards`` ((n, 3) unit vectors) from ``start`` to ``end`` at most
    (a rising ray: until it passes ``roof``, the surface's top in box units), sampled where they cross
    the grid's lines (``lines_x``, ``lines_y``: ``xs``, ``ys`` in box units) and at both ends of their
    stretch over the footprint; True where a sample lies more than ``tol`` under the surface ``z``.
    None when the kernel is not here."""
    lib = _lib if _tried else load()
    if lib is None or len(xs) < 2 or len(ys) < 2:
        return None
    f64 = [np.ascontiguousarray(a, np.float64) for a in (box, towards, aspect, lo, span, xs, ys, lines_x, lines_y, z)]
    box, towards, aspect, lo, span, xs, ys, lines_x, lines_y, z = f64
    if z.shape != (len(ys), len(xs)) or lines_x.shape != xs.shape or lines_y.shape != ys.shape:
        return None
    out = np.zeros(len(box), np.uint8)
    lib.hidden(len(box), box.ctypes.data, towards.ctypes.data, float(start), float(end), float(roof),
               aspect.ctypes.data, lo.ctypes.data, span.ctypes.data, len(xs), xs.ctypes.data, len(ys), ys.ctypes.data,
               lines_x.ctypes.data, lines_y.ctypes.data, z.ctypes.data, float(tol), out.ctypes.data)
    return out.astype(bool)


def yuv420(frame: np.ndarray, out: np.ndarray | None = None) -> np.ndarray | None:
    """An RGBA frame ((h, w, 4) uint8, h and w even) as yuv420p bytes in BT.709's limited range (the Y
    plane, then Cb, then Cr: (h * w * 3 // 2,) uint8), into ``out`` when given. None when the kernel
    is not here or the frame is not laid out for it."""
    lib = _lib if _tried else load()
    h, w = frame.shape[:2]
    if lib is None or h % 2 or w % 2 or frame.shape[2] != 4 or frame.strides[1:] != (4, 1) or frame.dtype != np.uint8:
        return None
    if out is None:
        out = np.empty(h * w * 3 // 2, np.uint8)
    lib.yuv420(frame.strides[0], frame.ctypes.data, h, w, out.ctypes.data)
    return out


def neighbours(corners: np.ndarray) -> np.ndarray:
    """For triangles given by their corners' vertex ids ((t, 3) integers), the triangle across the
    edge opposite each corner ((t, 3)), or -1 where that edge is the mesh's border."""
    v = np.asarray(corners, np.int64)
    a, b = v[:, [1, 2, 0]], v[:, [2, 0, 1]]  # edge k runs between the two corners that are not k
    key = (np.minimum(a, b) << 32 | np.maximum(a, b)).ravel()
    order = np.argsort(key, kind="stable")
    pair = np.nonzero(key[order][1:] == key[order][:-1])[0]
    across = np.full(key.size, -1)
    across[order[pair]] = order[pair + 1] // 3
    across[order[pair + 1]] = order[pair] // 3
    return across.reshape(-1, 3)


def outline_edges(across: np.ndarray, corners: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """The ``smooth`` bits for one view of a mesh: the edges of its outline on screen are smoothed,
    and every edge of a triangle that touches the outline at a corner (else its hard edges, drawn
    half a pixel wide, would poke a pixel past the smoothed outline there). An outline edge is the
    mesh's border, or a fold: the triangle across it faces the other way on screen.

    ``across``: ``neighbours(corners)``; ``triangles``: (t, 3, 2) projected corners, in that order."""
    p = triangles
    area = (p[:, 1, 0] - p[:, 0, 0]) * (p[:, 2, 1] - p[:, 0, 1]) - (p[:, 2, 0] - p[:, 0, 0]) * (p[:, 1, 1] - p[:, 0, 1])
    side = np.sign(np.nan_to_num(area))
    other = np.where(across >= 0, side[np.maximum(across, 0)], 0)
    outline = (across < 0) | (other != side[:, None])
    ends = np.zeros(int(corners.max()) + 1, bool)  # the corners of every outline edge
    ends[corners[:, [1, 2, 0]][outline]] = True
    ends[corners[:, [2, 0, 1]][outline]] = True
    touching = ends[corners].any(1)
    bits = (outline[:, 0] | outline[:, 1] << 1 | outline[:, 2] << 2).astype(np.uint8)
    bits[touching] = 7
    return bits
