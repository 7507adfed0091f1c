"""Scene -> Landscape: train every run recording each step, build the plane, evaluate grid and paths.

Knows nothing of matplotlib or video. Everything it returns is numpy.
"""
from __future__ import annotations

import math
import os
import tempfile
import time
import warnings
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from . import losses
from .errors import SceneError
from .evaluate import Evaluator, ParamSpace, PlaneJob, plane_rows
from .landscape import Landscape, Trace
from .scene import GRID_BYTES_PER_POINT, CustomPlane, Grid, PCAPlane, RandomPlane, Run, Scene, WeightsPlane

OPTIMIZERS = {
    "sgd": torch.optim.SGD,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "rmsprop": torch.optim.RMSprop,
    "adagrad": torch.optim.Adagrad,
}


def build_model(scene: Scene) -> nn.Module:
    """A fresh model for the scene: seeded construction, then the scene's initial values."""
    torch.manual_seed(scene.seed)
    try:
        model = scene.model()
    except Exception as exc:  # the user's factory: say where it broke
        raise SceneError("model", f"a factory that builds a module (it raised {type(exc).__name__}: {exc})") from exc
    if not isinstance(model, nn.Module):
        raise SceneError("model", "a function that returns a torch.nn.Module", type(model).__name__)
    model = model.float()
    space = ParamSpace(model)
    if space.size < 2:
        raise SceneError("model", "a model with at least two parameters", space.size)
    if scene.init:
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in scene.init.items():
                if name not in params:
                    raise SceneError(f"init[{name!r}]", "a parameter of the model: " + ", ".join(params), name)
                params[name].fill_(float(value))
    return model


def _make_optimizer(run: Run, model: nn.Module) -> torch.optim.Optimizer:
    try:
        return OPTIMIZERS[run.optimizer](model.parameters(), lr=run.lr, **run.options)
    except TypeError as exc:
        raise SceneError("run.options", f"keyword arguments that {run.optimizer} accepts ({exc})", run.options) from exc


class Recorded(NamedTuple):
    thetas: np.ndarray  # (T + 1, P): the start and the point after every step
    epoch_ends: np.ndarray
    diverged_at: int
    model: nn.Module  # as trained: its buffers (BatchNorm statistics) belong to the final point


def train(scene: Scene, run: Run, progress: Callable[[int], None] | None = None) -> Recorded:
    """Train one run from the scene's start, recording the parameters after every optimizer step.

    Batches are taken by tensor slicing (a DataLoader costs more than the step for small models).
    A step whose loss or parameters are not finite ends the run; the path stops at the last finite point.
    """
    model = build_model(scene)
    model.train()
    space = ParamSpace(model)
    loss = losses.get(scene.loss)
    opt = _make_optimizer(run, model)
    x = torch.as_tensor(scene.data.x_train)
    y = torch.as_tensor(scene.data.y_train)
    n = len(x)
    gen = torch.Generator().manual_seed(scene.seed)
    steps = run.epochs * math.ceil(n / run.batch_size)
    thetas = _records(steps + 1, space.size, scene.memory_mb)
    thetas[0] = space.flatten(model).numpy()
    kept = 1
    epoch_ends: list[int] = []
    diverged_at = -1
    for _ in range(run.epochs):
        order = torch.randperm(n, generator=gen) if run.shuffle else None
        for start in range(0, n, run.batch_size):
            if order is None:
                xb, yb = x[start:start + run.batch_size], y[start:start + run.batch_size]
            else:
                idx = order[start:start + run.batch_size]
                xb, yb = x[idx], y[idx]
            opt.zero_grad(set_to_none=True)
            value = loss.fn(model(xb), yb)
            value.backward()
            opt.step()
            theta = space.flatten(model)
            if not (torch.isfinite(value) and torch.isfinite(theta).all()):
                diverged_at = kept - 1
                break
            thetas[kept] = theta.numpy()
            kept += 1
            if progress:
                progress(1)
        if diverged_at >= 0:
            break
        epoch_ends.append(kept - 1)
    return Recorded(thetas[:kept], np.asarray(epoch_ends, dtype=np.int64), diverged_at, model)


def _records(rows: int, size: int, memory_mb: float) -> np.ndarray:
    """Room for every recorded step: in memory when it fits the scene's memory bound, else in a
    temporary file mapped into memory (a 100k-parameter net over 4,000 steps is 1.6 GB of float32),
    so that the process stays within the bound and the page cache holds what is in use."""
    if rows * size * 4 <= memory_mb * 2**20:
        return np.empty((rows, size), np.float32)
    with tempfile.TemporaryFile(prefix="lossfilm-path-") as f:  # unlinked at once; the map keeps it
        f.truncate(rows * size * 4)
        return np.memmap(f, np.float32, "r+", shape=(rows, size))


def plane_basis(plane, space: ParamSpace, thetas: np.ndarray, model: nn.Module, memory_mb: float = 256.0):
    """(theta0, d1, d2, axis labels) for the scene's plane: float32 tensors of length P.

    ``thetas`` is the first run's recorded path; its last point is the default centre.
    """
    center = torch.as_tensor(np.asarray(thetas[0] if getattr(plane, "center", "final") == "start" else thetas[-1]),
                             dtype=torch.float32).clone()
    if isinstance(plane, WeightsPlane):
        ia, ib = space.index(plane.a), space.index(plane.b)
        for part, ref, i in (("a", plane.a, ia), ("b", plane.b, ib)):
            if i is None:
                names = ", ".join(f"{n}{list(s)}" if s else n for n, s in zip(space.names, space.shapes))
                raise SceneError(f"plane.{part}", f"a scalar parameter or name[i] of the model ({names})", ref)
        d1, d2 = torch.zeros(space.size), torch.zeros(space.size)
        d1[ia] = d2[ib] = 1.0
        center[ia] = center[ib] = 0.0  # so that alpha and beta are the two weights themselves
        return center, d1, d2, plane.axis_labels()
    if isinstance(plane, RandomPlane):
        gen = torch.Generator().manual_seed(plane.seed)
        d1, d2 = (filter_normalized(torch.randn(space.size, generator=gen), center, space, plane.keep_biases)
                  for _ in range(2))
        return center, d1, d2, plane.axis_labels()
    if isinstance(plane, PCAPlane):
        d1, d2, explained = pca_directions(thetas, memory_mb)
        return center, d1, d2, (f"PC1 ({explained[0]:.1%})", f"PC2 ({explained[1]:.1%})")
    if isinstance(plane, CustomPlane):
        return center, _direction(plane.d1, space, "plane.d1"), _direction(plane.d2, space, "plane.d2"), \
            plane.axis_labels()
    raise SceneError("plane", "a WeightsPlane, RandomPlane, PCAPlane or CustomPlane", plane)


def filter_normalized(d: torch.Tensor, theta: torch.Tensor, space: ParamSpace, keep_biases: bool) -> torch.Tensor:
    """Li et al.'s filter-wise normalisation of a flat direction ``d`` against the point ``theta``."""
    d = d.clone()
    for shape, a, b in zip(space.shapes, space.offsets[:-1], space.offsets[1:]):
        dp, wp = d[a:b].view(*shape) if shape else d[a:b], theta[a:b].view(*shape) if shape else theta[a:b]
        if len(shape) <= 1:
            if keep_biases:
                dp.mul_(wp.norm() / (dp.norm() + 1e-10))
            else:
                dp.zero_()
            continue
        filters_d, filters_w = dp.reshape(shape[0], -1), wp.reshape(shape[0], -1)
        scale = filters_w.norm(dim=1, keepdim=True) / (filters_d.norm(dim=1, keepdim=True) + 1e-10)
        filters_d.mul_(scale)
    return d


PCA_MAX_ROWS = 4096  # path points a large PCA works on (evenly spaced, first and last included)


def pca_directions(thetas: np.ndarray, memory_mb: float = 256.0) -> tuple[torch.Tensor, torch.Tensor, np.ndarray]:
    """Top two principal directions of theta_t - theta_final, their explained variance shares.

    Exact SVD when the centred path fits ``memory_mb`` in float64. Otherwise through the Gram matrix
    M M^T of at most PCA_MAX_ROWS evenly spaced points, built from column blocks, so that neither the
    path nor a float64 copy of it is ever held whole.
    """
    if len(thetas) < 3:
        raise SceneError("plane", "a PCAPlane needs a run of at least 2 steps", len(thetas) - 1)
    last = torch.as_tensor(np.asarray(thetas[-1]), dtype=torch.float64)
    if thetas.size * 8 <= memory_mb * 2**20:
        m = torch.as_tensor(np.asarray(thetas), dtype=torch.float64) - last
        _, sv, vh = torch.linalg.svd(m, full_matrices=False)
        dirs, var, first = vh[:2].clone(), (sv**2).numpy(), m[0]
    else:
        rows = np.unique(np.linspace(0, len(thetas) - 1, min(len(thetas), PCA_MAX_ROWS)).round().astype(int))
        block = max(1, int(memory_mb * 2**20 // (8 * len(rows) * 2)))
        starts = range(0, thetas.shape[1], block)

        def centred(a):  # columns [a, a + block) of the sampled path, minus the final point
            return torch.as_tensor(np.asarray(thetas[rows, a:a + block]), dtype=torch.float64) - last[a:a + block]

        gram = torch.zeros(len(rows), len(rows), dtype=torch.float64)
        for a in starts:
            m = centred(a)
            gram += m @ m.T
        var_t, u = torch.linalg.eigh(gram)  # ascending
        var = var_t.flip(0).clamp_(min=0).numpy()
        u = u[:, -2:].flip(1)
        sv = torch.as_tensor(np.sqrt(var[:2]))
        dirs = torch.empty(2, thetas.shape[1], dtype=torch.float64)
        for a in starts:
            dirs[:, a:a + block] = (u.T @ centred(a)) / torch.where(sv > 0, sv, 1.0)[:, None]
        first = torch.as_tensor(np.asarray(thetas[0]), dtype=torch.float64) - last
    # A deterministic sign: the path starts on the positive side of each axis.
    signs = torch.sign(first @ dirs.T)
    dirs *= torch.where(signs == 0, 1.0, signs)[:, None]
    explained = var[:2] / var.sum() if var.sum() > 0 else np.zeros(2)
    return dirs[0].float(), dirs[1].float(), explained


def _direction(d, space: ParamSpace, field: str) -> torch.Tensor:
    if isinstance(d, dict):
        flat = torch.zeros(space.size)
        for name, value in d.items():
            if name not in space.names:
                raise SceneError(field, "a dict keyed by parameter names: " + ", ".join(space.names), name)
            i = space.names.index(name)
            value = torch.as_tensor(np.asarray(value), dtype=torch.float32)
            if tuple(value.shape) != space.shapes[i]:
                raise SceneError(f"{field}[{name!r}]", f"an array of shape {space.shapes[i]}", tuple(value.shape))
            flat[space.offsets[i]:space.offsets[i + 1]] = value.reshape(-1)
        return flat
    flat = torch.as_tensor(np.asarray(d), dtype=torch.float32).reshape(-1)
    if flat.numel() != space.size:
        raise SceneError(field, f"{space.size} values (the model's parameter count)", flat.numel())
    return flat


def project(thetas: np.ndarray, theta0: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor,
            memory_mb: float = 256.0) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coordinates (alpha, beta) of each theta in the plane theta0 + a*d1 + b*d2: the
    normal equations (B^T B) c = B^T (theta - theta0), over blocks of rows within ``memory_mb``."""
    basis = torch.stack([d1, d2], 1).double()
    normal = basis.T @ basis
    center = theta0.double()
    block = max(1, int(memory_mb * 2**20 // (8 * 2 * max(1, thetas.shape[1]))))
    coords = []
    for a in range(0, len(thetas), block):
        rhs = (torch.as_tensor(np.asarray(thetas[a:a + block]), dtype=torch.float64) - center) @ basis
        coords.append(torch.linalg.solve(normal, rhs.T))
    coords = torch.cat(coords, 1) if coords else torch.zeros(2, 0, dtype=torch.float64)
    return coords[0].numpy(), coords[1].numpy()


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
        traces = [Trace("", "", np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))]
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


def resolve_device(device: str) -> str:
    """'cuda' or 'auto' use the GPU when torch sees one; without one they fall back to the CPU."""
    if device in ("cuda", "auto") and torch.cuda.is_available():
        return "cuda"
    if device == "cuda":
        warnings.warn("device 'cuda' asked for, but torch sees no GPU: evaluating on the CPU",
                      RuntimeWarning, stacklevel=3)
    return "cpu"


def compute(scene: Scene, progress: Callable[[str, int], Callable[[int], None]] | None = None,
            device: str | None = None, executor=None) -> Landscape:
    """Train every run, build the plane around the first run's end point, evaluate surface and paths.

    ``progress(stage, total, unit)`` may return a callback that is told how much work was done. With a
    cluster ``executor`` (one whose ``remote`` is true) the grid's rows are evaluated as its tasks.
    """
    loss = losses.get(scene.loss)
    colors = scene.style.path_colors
    runs = []
    for i, run in enumerate(scene.runs):
        steps = run.epochs * math.ceil(len(scene.data.x_train) / run.batch_size)
        tick = progress(f"train {run.name}", steps) if progress else None
        record = train(scene, run, tick)
        thetas, epoch_ends, diverged_at = record.thetas, record.epoch_ends, record.diverged_at
        if diverged_at >= 0:
            warnings.warn(f"{scene.name}: run {run.name!r} diverged (loss or weights not finite) after step "
                          f"{diverged_at}; its path stops there", RuntimeWarning, stacklevel=2)
        runs.append((run, thetas, epoch_ends, diverged_at, run.color or colors[i % len(colors)]))
        if i == 0:
            trained = record.model

    # The first run's trained module is the template: its buffers (BatchNorm's running statistics) are
    # those of the plane's centre, as in Li et al.; its parameters are replaced point by point.
    model = trained.eval()
    space = ParamSpace(model)
    theta0, d1, d2, labels = plane_basis(scene.plane, space, runs[0][1], model, scene.memory_mb)
    x, y = (scene.data.x_test, scene.data.y_test) if scene.evaluate_on == "test" else \
        (scene.data.x_train, scene.data.y_train)
    evaluator = Evaluator(model, loss, x, y, scene.memory_mb, resolve_device(device or scene.device))

    traces = []
    for run, thetas, epoch_ends, diverged_at, color in runs:
        alpha, beta = project(thetas, theta0, d1, d2, scene.memory_mb)
        traces.append(Trace(run.name, color, alpha, beta, evaluator(thetas), epoch_ends, diverged_at))

    alphas, betas = fit_grid(scene.grid, traces, scene.memory_mb)
    tick = progress("surface", alphas.size * betas.size) if progress else None
    if getattr(executor, "remote", False) and len(betas) > 1:
        # The first row here, timed: the rest goes to the cluster only when it would take a while here.
        t = time.perf_counter()
        first = evaluator.over_plane(theta0, d1, d2, alphas, betas[:1], tick)
        if (time.perf_counter() - t) * (len(betas) - 1) < CLUSTER_MIN_SECONDS:
            rest = evaluator.over_plane(theta0, d1, d2, alphas, betas[1:], tick)
        else:
            rest = _surface_on_cluster(scene, model, x, y, theta0, d1, d2, alphas, betas[1:], executor)
            if tick:
                tick(rest.size)
        surface = np.concatenate([first, rest], axis=0)
    else:
        surface = evaluator.over_plane(theta0, d1, d2, alphas, betas, tick)
    return Landscape(
        alphas=alphas, betas=betas, loss=surface, traces=traces,
        axis_labels=tuple(labels), loss_name=scene.loss,
        epochs=max(r.epochs for r in scene.runs),
    )


# A grid that this process evaluates in less than this is not sent to a cluster: shipping the model and
# the data and scheduling the tasks would cost more than it saves.
CLUSTER_MIN_SECONDS = 2.0


def _surface_on_cluster(scene, model, x, y, theta0, d1, d2, alphas, betas, executor) -> np.ndarray:
    """The grid as row-range tasks on a cluster: a few per worker, so a slow or lost worker costs little."""
    from .executor import split

    job = PlaneJob(f"{scene.name}-{os.getpid()}-{time.time_ns()}", model, scene.loss, np.asarray(x), np.asarray(y),
                   scene.memory_mb, *(t.numpy() for t in (theta0, d1, d2)), alphas, betas)
    ranges = split(len(betas), 4 * max(1, executor.workers))
    return np.concatenate(executor.map_shared(plane_rows, job, ranges), axis=0)
