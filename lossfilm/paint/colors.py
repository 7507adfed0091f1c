"""Colours and heights every view shares (3-D, flat, page, mesh): themes, a colour map's contrast
with the background, log heights and the z range a film shows.
"""
from __future__ import annotations


import matplotlib
import matplotlib.colors
import numpy as np

from ..landscape import Landscape
from ..scene.view import Style


THEMES = {
    "dark": dict(bg="#0d1117", fg="#e6edf3", dim="#8b949e", marker_edge="#ffffff", grid="#30363d"),
    "light": dict(bg="#ffffff", fg="#1f2328", dim="#57606a", marker_edge="#000000", grid="#d0d7de"),
}
LIFT = 0.025  # path height above the rendered surface, as a share of the z range


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


LOG_DECADES = 6.0  # the depth a log z axis shows


def bilinear(xs: np.ndarray, ys: np.ndarray, z: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """z[i, j] sampled at (xs[j], ys[i]), interpolated at points (x, y); points are clamped to the grid."""
    j = np.clip(np.searchsorted(xs, x) - 1, 0, len(xs) - 2)
    i = np.clip(np.searchsorted(ys, y) - 1, 0, len(ys) - 2)
    tx = np.clip((x - xs[j]) / (xs[j + 1] - xs[j]), 0, 1)
    ty = np.clip((y - ys[i]) / (ys[i + 1] - ys[i]), 0, 1)
    return ((1 - ty) * ((1 - tx) * z[i, j] + tx * z[i, j + 1])
            + ty * ((1 - tx) * z[i + 1, j] + tx * z[i + 1, j + 1]))


def blend(at: float, count: int) -> tuple[int, float]:
    """An evolving film's ``at`` = k + u as (k, u): u of the way from surface k to k + 1 of ``count``."""
    k = int(np.clip(np.floor(at), 0, count - 2))
    return k, float(np.clip(at - k, 0.0, 1.0))
