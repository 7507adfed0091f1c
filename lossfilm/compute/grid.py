"""The (alpha, beta) grid a landscape is evaluated on: the scene's Grid on its lattice, grown to hold
every path (within bounds), or spanning the paths themselves; a textbook surface's axes use the same
lattice rule (descent.py)."""
from __future__ import annotations

import math

import numpy as np

from ..errors import SceneError
from ..landscape import Trace
from ..scene.planes import Grid
from ..scene.scene import GRID_BYTES_PER_POINT


def fit_axis(lo: float, hi: float, step: float, path: np.ndarray, margin: float, grow: bool,
             max_grow: float = 1.0) -> np.ndarray:
    """Grid points on the lattice lo + k*step, widened (when ``grow``) to hold ``path`` with a margin,
    but by at most ``max_grow`` times the given range on each side: a run that wanders far (or
    diverges) leaves the picture rather than shrinking everything else to a dot."""
    n = len(np.arange(lo, hi, step))
    k0, k1 = 0, n
    finite = path[np.isfinite(path)]
    if grow and finite.size:
        pad = max(margin * (finite.max() - finite.min()), step)
        extra = int(round(max_grow * n))
        k0 = max(min(k0, math.floor((finite.min() - pad - lo) / step)), -extra)
        k1 = min(max(k1, math.ceil((finite.max() + pad - lo) / step) + 1), n + extra)
    return lo + step * np.arange(k0, k1)


def span_of(path: np.ndarray, points: int, margin: float) -> np.ndarray:
    """``points`` coordinates over the path's range widened by ``margin`` of its extent on each side."""
    finite = path[np.isfinite(path)]
    lo, hi = (finite.min(), finite.max()) if finite.size else (-1.0, 1.0)
    pad = max(margin * (hi - lo), 1e-3 * max(abs(lo), abs(hi), 1.0))
    return np.linspace(lo - pad, hi + pad, points)


def fit_grid(grid: Grid, traces: list[Trace], memory_mb: float = float("inf")) -> tuple[np.ndarray, np.ndarray]:
    grow = grid.fit == "grow"
    # A diverged run flies off towards infinity: the map is not stretched to follow it.
    traces = [t for t in traces if t.diverged_at < 0] or traces[:0]
    if not traces:
        grow = False
        traces = [Trace(np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))]
    if grid.fit == "path":
        alphas, betas = (span_of(np.concatenate([getattr(t, k) for t in traces]), grid.points, grid.margin)
                         for k in ("alpha", "beta"))
        return alphas, betas
    alphas = fit_axis(*grid.a, grid.step, np.concatenate([t.alpha for t in traces]), grid.margin, grow, grid.max_grow)
    betas = fit_axis(*grid.b, grid.step, np.concatenate([t.beta for t in traces]), grid.margin, grow, grid.max_grow)
    points = alphas.size * betas.size
    limit = min(grid.max_points, int(memory_mb * 2**20 // GRID_BYTES_PER_POINT))
    if points > limit:
        raise SceneError("grid", f"at most {limit} points after growing to fit the paths (grid.max_points, "
                                 "memory_mb; or grid.fit='fixed', a larger step, a smaller grid.max_grow)", points)
    return alphas, betas
