"""Scene -> Landscape: train every run recording each step, build the plane, evaluate grid and paths.

Knows nothing of matplotlib or video. Everything it returns is numpy.
"""
from __future__ import annotations

import math
import warnings
from typing import Callable

import numpy as np
import torch
from torch import nn

from . import losses
from .errors import SceneError
from .evaluate import Evaluator, ParamSpace
from .landscape import Landscape, Trace
from .scene import GRID_BYTES_PER_POINT, Grid, Run, Scene, WeightsPlane

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


def train(scene: Scene, run: Run, progress: Callable[[int], None] | None = None) -> tuple[np.ndarray, np.ndarray, int]:
    """Train one run from the scene's start, returning (thetas (T+1, P), epoch_ends, diverged_at).

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
    thetas = [space.flatten(model)]
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
                diverged_at = len(thetas) - 1
                break
            thetas.append(theta)
            if progress:
                progress(1)
        if diverged_at >= 0:
            break
        epoch_ends.append(len(thetas) - 1)
    return torch.stack(thetas).numpy(), np.asarray(epoch_ends, dtype=np.int64), diverged_at


def plane_basis(plane: WeightsPlane, space: ParamSpace, theta_final: np.ndarray):
    """(theta0, d1, d2) for the scene's plane, as float32 tensors of length P."""
    ia, ib = space.index(plane.a), space.index(plane.b)
    for part, ref, i in (("a", plane.a, ia), ("b", plane.b, ib)):
        if i is None:
            names = ", ".join(f"{n}{list(s)}" if s else n for n, s in zip(space.names, space.shapes))
            raise SceneError(f"plane.{part}", f"a scalar parameter or name[i] of the model ({names})", ref)
    d1 = torch.zeros(space.size)
    d2 = torch.zeros(space.size)
    d1[ia] = 1.0
    d2[ib] = 1.0
    theta0 = torch.as_tensor(theta_final, dtype=torch.float32).clone()
    theta0[ia] = 0.0
    theta0[ib] = 0.0
    return theta0, d1, d2


def project(thetas: np.ndarray, theta0: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares coordinates (alpha, beta) of each theta in the plane theta0 + a*d1 + b*d2."""
    basis = torch.stack([d1, d2], 1).double()
    coords = torch.linalg.lstsq(basis, (torch.as_tensor(thetas).double() - theta0.double()).T).solution
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


def fit_grid(grid: Grid, traces: list[Trace], memory_mb: float = float("inf")) -> tuple[np.ndarray, np.ndarray]:
    grow = grid.fit == "grow"
    # A diverged run flies off towards infinity: the map is not stretched to follow it.
    traces = [t for t in traces if t.diverged_at < 0] or traces[:0]
    if not traces:
        grow = False
        traces = [Trace("", "", np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int64))]
    alphas = fit_axis(*grid.a, grid.step, np.concatenate([t.alpha for t in traces]), grid.margin, grow, grid.max_grow)
    betas = fit_axis(*grid.b, grid.step, np.concatenate([t.beta for t in traces]), grid.margin, grow, grid.max_grow)
    points = alphas.size * betas.size
    limit = min(grid.max_points, int(memory_mb * 2**20 // GRID_BYTES_PER_POINT))
    if points > limit:
        raise SceneError("grid", f"at most {limit} points after growing to fit the paths (grid.max_points, "
                                 "memory_mb; or grid.fit='fixed', a larger step, a smaller grid.max_grow)", points)
    return alphas, betas


def compute(scene: Scene, progress: Callable[[str, int, int], Callable[[int], None]] | None = None,
            device: str = "cpu") -> Landscape:
    """Train every run, build the plane around the first run's end point, evaluate surface and paths.

    ``progress(stage, total, unit)`` may return a callback that is told how much work was done.
    """
    loss = losses.get(scene.loss)
    colors = scene.style.path_colors
    runs = []
    for i, run in enumerate(scene.runs):
        steps = run.epochs * math.ceil(len(scene.data.x_train) / run.batch_size)
        tick = progress(f"train {run.name}", steps) if progress else None
        thetas, epoch_ends, diverged_at = train(scene, run, tick)
        if diverged_at >= 0:
            warnings.warn(f"{scene.name}: run {run.name!r} diverged (loss or weights not finite) after step "
                          f"{diverged_at}; its path stops there", RuntimeWarning, stacklevel=2)
        runs.append((run, thetas, epoch_ends, diverged_at, run.color or colors[i % len(colors)]))

    model = build_model(scene)
    space = ParamSpace(model)
    theta0, d1, d2 = plane_basis(scene.plane, space, runs[0][1][-1])
    evaluator = Evaluator(model, loss, scene.data.x_test, scene.data.y_test, scene.memory_mb, device)

    traces = []
    for run, thetas, epoch_ends, diverged_at, color in runs:
        alpha, beta = project(thetas, theta0, d1, d2)
        traces.append(Trace(run.name, color, alpha, beta, evaluator(thetas), epoch_ends, diverged_at))

    alphas, betas = fit_grid(scene.grid, traces, scene.memory_mb)
    tick = progress("surface", alphas.size * betas.size) if progress else None
    surface = evaluator.over_plane(theta0, d1, d2, alphas, betas, tick)
    return Landscape(
        alphas=alphas, betas=betas, loss=surface, traces=traces,
        axis_labels=scene.plane.axis_labels(), loss_name=scene.loss,
        epochs=max(r.epochs for r in scene.runs),
    )
