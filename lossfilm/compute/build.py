"""Scene -> Landscape: train every run recording each step, build the plane, evaluate grid and paths.

Knows nothing of matplotlib or video. Everything it returns is numpy.
"""
from __future__ import annotations

import dataclasses
import os
import tempfile
import time
import warnings
from typing import Callable, NamedTuple

import numpy as np
import torch
from torch import nn

from ..scene import losses, optimizers
from .._plumbing import threads
from .._plumbing.threads import torch_threads
from ..errors import SceneError, users_part
from .directions import filter_normalized, pca_directions  # noqa: F401 (re-exported)
from .evaluate import Evaluator, ParamSpace, PlaneJob, plane_rows, takes_ids
from ..landscape import Landscape, Trace
from ..scene.scene import GRID_BYTES_PER_POINT, Scene
from ..scene.planes import Plane
from .grid import fit_axis, fit_grid  # noqa: F401 (fit_axis: the grid's lattice, for tests)
from ..scene.data import LoaderData
from ..scene.runs import Run

def build_model(scene: Scene, seed: int | None = None) -> nn.Module:
    """A fresh model for the scene: seeded construction, then the scene's initial values. The seed is
    ``seed`` (a run's own) or the scene's, and the caller's global random state is left as it was."""
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(scene.seed if seed is None else seed)
            model = scene.model()
    except Exception as exc:  # the user's factory: say where it broke
        raise SceneError("model", f"a factory that builds a module (it raised {type(exc).__name__}: {exc})") from None
    if not isinstance(model, nn.Module):
        raise SceneError("model", "a function that returns a torch.nn.Module", type(model).__name__)
    model = _as_scene_model(model.float())
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


def _as_scene_model(model: nn.Module) -> nn.Module:
    """The user's module as it is, with two hooks that let a Hugging Face model (or any model) be a
    scene's model: integer inputs become float32 unless the model takes ids (an embedding), and an
    output object's ``.logits`` (a ``ModelOutput``; a tuple's first item) is what the loss sees."""
    if not takes_ids(model):
        model.register_forward_pre_hook(_floats)
    model.register_forward_hook(_logits)
    return model


def _floats(module, args):
    if args and isinstance(args[0], torch.Tensor) and not args[0].is_floating_point():
        return (args[0].float(), *args[1:])
    return None


def _logits(module, args, out):
    if isinstance(out, torch.Tensor):
        return None
    logits = getattr(out, "logits", None)
    if isinstance(logits, torch.Tensor):
        return logits
    if isinstance(out, (tuple, list)) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    return None


PREFLIGHT_ROWS = 8


def preflight(scene: Scene) -> None:
    """The user's parts, checked once on a few rows before any training: the model builds (with the
    scene's init), takes the data and gives an output that fits the targets for the loss (a callable
    loss returns a finite scalar), the class labels are in range, every run's optimizer and scheduler
    can be built, and every path from outside fits the model. A SceneError names the part."""
    if scene.surface is not None:
        from .descent import check

        return check(scene)
    model = build_model(scene).eval()
    loss = losses.get(scene.loss)
    for split, xb, yb, y_all in _samples(scene):
        try:
            with torch.no_grad(), torch.random.fork_rng(devices=[]):
                out = model(xb)
        except Exception as exc:
            raise SceneError("model", f"a module that takes rows of data.x_{split} (shape {tuple(xb.shape)}); it "
                                      f"raised {type(exc).__name__}: {exc}") from None
        if not isinstance(out, torch.Tensor):
            raise SceneError("model", "a module whose forward returns a tensor", type(out).__name__)
        if loss.expects:
            problem = loss.expects(out, yb, y_all)
            if problem:
                raise SceneError(f"model (with loss={scene.loss!r} and data.y_{split})", problem)
        else:
            try:
                with torch.no_grad():
                    value = loss.fn(out, yb)
            except Exception as exc:
                raise SceneError("loss", f"a callable (output, target) -> scalar; on the model's output of shape "
                                         f"{tuple(out.shape)} it raised {type(exc).__name__}: {exc}") from None
            if not isinstance(value, torch.Tensor) or value.numel() != 1:
                raise SceneError("loss", "a callable that returns a scalar tensor",
                                 getattr(value, "shape", type(value).__name__))
        _check_metrics(scene, split, out, yb)
    for run in scene.runs:
        opt = optimizers.make(run, [torch.zeros(1, requires_grad=True)])
        optimizers.scheduler(run, opt)
    for path in scene.paths:
        path.aligned(model)
    if scene.plane is not None:
        space = ParamSpace(model)
        scene.plane.check(space)
        if getattr(scene.plane, "params", None) is not None:
            chosen_params(model, space, scene.plane.params)


def _check_metrics(scene: Scene, split: str, out: torch.Tensor, yb: torch.Tensor) -> None:
    """Each metric on the model's output for the preflight's rows of ``split``: accuracy and error need
    class targets and one output per class; a callable must return a finite scalar. A SceneError names
    ``metric`` or ``metrics[k]``."""
    from ..scene.metrics import get

    fields = (["metric"] if scene.metric is not None else []) + [f"metrics[{k}]" for k in range(len(scene.metrics))]
    for field, m in zip(fields, scene.measures):
        metric = get(m)
        if metric.rows is not None:
            if yb.is_floating_point() or out.dim() != yb.dim() + 1 or out.shape[-1] < 2:
                raise SceneError(field, f"{m} on a classification scene: integer class targets and one output "
                                        f"per class (data.y_{split} is {yb.dtype}, the output {tuple(out.shape)})", m)
            continue
        with users_part(field, "a callable (output, target) -> scalar"), torch.no_grad():
            value = metric.fn(out, yb)
        if not isinstance(value, torch.Tensor) or value.numel() != 1 or not torch.isfinite(value).all():
            raise SceneError(field, "a callable (output, target) that returns a finite scalar tensor",
                             getattr(value, "shape", type(value).__name__))


def _samples(scene: Scene):
    """(split, a few input rows, their targets, every target of the split) for the preflight."""
    if isinstance(scene.data, LoaderData):
        xb, yb = next(iter(scene.data.batches()))
        yield "loader", xb[:PREFLIGHT_ROWS], yb[:PREFLIGHT_ROWS], yb.numpy()
        return
    data = scene.data
    for split, x, y in (("train", data.x_train, data.y_train), ("test", data.x_test, data.y_test)):
        yield split, torch.as_tensor(x[:PREFLIGHT_ROWS]), torch.as_tensor(y[:PREFLIGHT_ROWS]), y


class Recorded(NamedTuple):
    thetas: np.ndarray  # (T + 1, P): the start and the point after every step
    epoch_ends: np.ndarray
    diverged_at: int
    model: nn.Module  # as trained: its buffers (BatchNorm statistics) belong to the final point
    step_numbers: np.ndarray | None = None  # a path from outside: the training step of each row
    lr: float | None = None  # the optimizer's lr at the start


def train(scene: Scene, run: Run, progress: Callable[[int], None] | None = None) -> Recorded:
    """Train one run from the scene's start, recording the parameters after every optimizer step.

    Batches are taken by tensor slicing (a DataLoader costs more than the step for small models).
    A step whose loss or parameters are not finite ends the run; the path stops at the last finite point.
    """
    with torch.random.fork_rng(devices=[]):  # dropout draws from the global generator: seed it, then restore
        torch.manual_seed(scene.seed_of(run))
        return _train(scene, run, progress)


def _batches(scene: Scene, run: Run, gen: torch.Generator):
    """One epoch's (x, y) batches: tensor slices of the scene's arrays (a DataLoader costs more than the
    step for small models), or the scene's own DataLoader as it iterates."""
    if isinstance(scene.data, LoaderData):
        batches = iter(scene.data.loader)
        while True:
            with users_part("data", "a DataLoader that yields (x, y) batches"):
                batch = next(batches, None)
            if batch is None:
                return
            yield batch
    x, y = torch.as_tensor(scene.data.x_train), torch.as_tensor(scene.data.y_train)
    n = len(x)
    order = torch.randperm(n, generator=gen) if run.shuffle else None
    for start in range(0, n, run.batch_size):
        if order is None:
            yield x[start:start + run.batch_size], y[start:start + run.batch_size]
        else:
            idx = order[start:start + run.batch_size]
            yield x[idx], y[idx]


# What the model (and loss) must do for the evaluator: batches of the evaluation split, at every point.
_EVALUATED = "a module (and loss) that take every batch of the evaluation data at every point of the plane"


def _train(scene: Scene, run: Run, progress: Callable[[int], None] | None) -> Recorded:
    model = build_model(scene, scene.seed_of(run))
    model.train()
    space = ParamSpace(model)
    loss = losses.get(scene.loss)
    opt = optimizers.make(run, model.parameters())
    lr = float(opt.param_groups[0]["lr"]) if "lr" in opt.param_groups[0] else None
    schedule = optimizers.scheduler(run, opt)
    gen = torch.Generator().manual_seed(scene.seed_of(run))
    steps = run.epochs * scene.steps_per_epoch(run)
    thetas = _records(steps + 1, space.size, scene.memory_mb)
    thetas[0] = space.flatten(model).numpy()
    kept = 1
    epoch_ends: list[int] = []
    diverged_at = -1
    for _ in range(run.epochs):
        for xb, yb in _batches(scene, run, gen):
            def closure():  # every optimizer takes one; LBFGS calls it several times a step
                opt.zero_grad(set_to_none=True)
                with users_part("model", f"a module that takes every training batch (here {len(xb)} rows)"):
                    out = model(xb)
                with users_part("loss", "a callable (output, target) -> scalar on every training batch"):
                    value = loss.fn(out, yb)
                with users_part("model", "a module whose loss can be differentiated (backward)"):
                    value.backward()
                if run.clip_grad_norm:
                    torch.nn.utils.clip_grad_norm_(model.parameters(), run.clip_grad_norm)
                return value

            with users_part("run.optimizer", "an optimizer whose step() works"):
                value = optimizers.step_with(opt, closure)
            if schedule is not None and run.scheduler_every == "step":
                with users_part("run.scheduler", "a scheduler whose step() works"):
                    schedule.step()
            theta = space.flatten(model)
            if not (torch.isfinite(torch.as_tensor(value)) and torch.isfinite(theta).all()) or kept > steps:
                diverged_at = kept - 1 if kept <= steps else -1
                break
            thetas[kept] = theta.numpy()
            kept += 1
            if progress:
                progress(1)
        if diverged_at >= 0:
            break
        epoch_ends.append(kept - 1)
        if schedule is not None and run.scheduler_every == "epoch":
            with users_part("run.scheduler", "a scheduler whose step() works"):
                schedule.step()
    return Recorded(thetas[:kept], np.asarray(epoch_ends, dtype=np.int64), diverged_at, model, None, lr)


def _records(rows: int, size: int, memory_mb: float) -> np.ndarray:
    """Room for every recorded step: in memory when it fits the scene's memory bound, else in a
    temporary file mapped into memory (a 100k-parameter net over 4,000 steps is 1.6 GB of float32),
    so that the process stays within the bound and the page cache holds what is in use."""
    if rows * size * 4 <= memory_mb * 2**20:
        return np.empty((rows, size), np.float32)
    with tempfile.TemporaryFile(prefix="lossfilm-path-") as f:  # unlinked at once; the map keeps it
        f.truncate(rows * size * 4)
        return np.memmap(f, np.float32, "r+", shape=(rows, size))


class Problem(NamedTuple):
    """What a plane that looks at the loss or at several models (HessianPlane, ModelsPlane) is given: the
    model, loss and data, and every run's and path's end point (flat parameters), in the scene's order."""

    model: nn.Module
    loss: object
    source: tuple
    ends: list
    starts: list = []  # every run's and path's first point: where a view through "init:LABEL" goes


def plane_basis(plane: Plane, space: ParamSpace, thetas: np.ndarray, memory_mb: float = 256.0,
                problem: Problem | None = None):
    """(theta0, d1, d2, axis labels, facts) for the scene's plane: float32 tensors of length P, and a
    dict of what the plane found (HessianPlane: its eigenvalues) for ``--json``.

    ``thetas`` is the first run's recorded path; its last point is the default centre. Each plane kind
    builds its own basis (scene.Plane.basis): a new kind is one class. A kind with ``needs_problem`` is
    also given the model, loss and evaluation data.
    """
    selection = getattr(plane, "params", None)
    if selection is not None:  # a plane in some parameters' coordinates only, the others held at theta0
        space = space.restricted(chosen_params(problem.model if problem else None, space, selection))
    found = plane.basis(space, thetas, memory_mb, problem=problem) if getattr(plane, "needs_problem", False) \
        else plane.basis(space, thetas, memory_mb)
    theta0, d1, d2, labels, facts = (*found, {}) if len(found) == 4 else tuple(found)
    if selection is None:
        return theta0, d1, d2, labels, facts
    what = selection if isinstance(selection, str) else (space.chosen[0] if len(space.chosen) == 1
                                                         else f"{len(space.chosen)} tensors")
    size = int(space.mask.sum())
    # A kind that knows nothing of params= still lives in the chosen coordinates.
    return (theta0, space.restrict(d1), space.restrict(d2), tuple(f"{label} · {what}" for label in labels),
            {**facts, "params": {"selection": what, "names": space.chosen, "size": size, "of": space.size}})


def chosen_params(model, space: ParamSpace, selection) -> list[str]:
    """The parameter names a plane's ``params=`` picks: a glob ("blocks.3.*"), a list of names or a
    predicate (name -> bool). A SceneError naming ``plane.params`` when it picks none (or only buffers,
    which no plane moves) or names a parameter the model lacks."""
    import fnmatch

    names = space.names
    if isinstance(selection, str):
        chosen = [n for n in names if fnmatch.fnmatchcase(n, selection)]
    elif callable(selection):
        with users_part("plane.params", "a predicate that takes a parameter's name"):
            chosen = [n for n in names if selection(n)]
    else:
        unknown = [n for n in selection if n not in names]
        if unknown:
            raise SceneError("plane.params", "names of the model's parameters (" + ", ".join(names[:8])
                             + (", ..." if len(names) > 8 else "") + ")", unknown[0])
        chosen = [n for n in names if n in selection]
    if not chosen:
        buffers = [n for n, _ in model.named_buffers()] if model is not None else []
        hit = [n for n in buffers if isinstance(selection, str) and fnmatch.fnmatchcase(n, selection)]
        why = "only buffers (" + ", ".join(hit[:3]) + "), which no plane moves" if hit else "no parameter"
        raise SceneError("plane.params", "a glob, list or predicate that picks some of the model's parameters ("
                         + ", ".join(names[:8]) + (", ..." if len(names) > 8 else "") + f"); it picks {why}",
                         selection if not callable(selection) else getattr(selection, "__name__", "predicate"))
    return chosen


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
    """Train every run, take every path from outside, build the plane around the first one's end point,
    evaluate surface and paths.

    ``progress(stage, total)`` may return a callback that is told how much work was done. The grid's
    rows go to ``executor.map_rows`` (lossfilm._plumbing.executor) when one is given: here, or as a cluster's tasks.
    torch (and the C kernel) use the thread budget's cores (lossfilm._plumbing.threads), asked afresh for each
    stage (other work may start or stop meanwhile) and restored afterwards.
    """
    if scene.surface is not None:  # an exact surface: no data, model or plane
        from .descent import landscape

        with torch_threads(1):  # two numbers per step: more threads only cost
            return landscape(scene, progress)
    loss = losses.get(scene.loss)
    records = []
    for i, run in enumerate(scene.runs):
        tick = progress(f"train {run.name}", run.epochs * scene.steps_per_epoch(run)) if progress else None
        with torch_threads(threads.budget()):
            record = train(scene, run, tick)
        if record.diverged_at >= 0:
            warnings.warn(f"{scene.name}: run {run.name!r} diverged (loss or weights not finite) after step "
                          f"{record.diverged_at}; its path stops there", RuntimeWarning, stacklevel=2)
        records.append(record if i == 0 else record._replace(model=None))  # only the first one's module is used
    records += [from_outside(scene, path) for path in scene.paths]

    with torch_threads(threads.budget()):
        landscape = _evaluate(scene, records, loss, progress, device, executor)
        if scene.track is not None:
            landscape.facts = {**landscape.facts, "sharpness": sharpness(scene, records, landscape.traces, loss,
                                                                         progress)}
        return landscape


def _evaluate(scene: Scene, records: list, loss, progress, device, executor) -> Landscape:
    """The plane through the first path, the paths' losses and the grid."""
    # The first path's module is the template: its buffers (BatchNorm's running statistics) are those of
    # the plane's centre, as in Li et al.; its parameters are replaced point by point.
    model = records[0].model.eval()
    space = ParamSpace(model)
    source = evaluation_data(scene)
    problem = Problem(model, loss, source, [r.thetas[-1] for r in records], [r.thetas[0] for r in records])
    refit = scene.evolve is not None and scene.evolve.refit
    if refit:  # a plane at every moment; the last one is the film's plane (its axes, npz, --json)
        moments, planes = refitted_planes(scene, space, records[0], problem)
        theta0, d1, d2, labels, facts = planes[-1]
        if "eigenvalues" in facts:  # a HessianPlane's: the curvature at every moment
            facts = {**facts, "eigenvalues_by_moment": [f["eigenvalues"] for *_, f in planes]}
    else:
        theta0, d1, d2, labels, facts = plane_basis(scene.plane, space, records[0].thetas, scene.memory_mb, problem)
    from ..scene.metrics import get as metric_of

    evaluator = Evaluator(model, loss, *source, scene.memory_mb, resolve_device(device or scene.device),
                          metrics=[metric_of(m) for m in scene.measures])
    if scene.plane.line:
        return _interpolate(scene, records, model, loss, evaluator, theta0, d1, labels, device)

    traces = []
    for record in records:
        alpha, beta = project(record.thetas, theta0, d1, d2, scene.memory_mb)
        with users_part("model", _EVALUATED):
            along = evaluator(record.thetas)
        traces.append(Trace(alpha, beta, along, record.epoch_ends, record.diverged_at,
                            record.step_numbers, record.lr))

    d1s = d2s = None
    if refit:  # every path in every moment's plane; the grid holds them all
        centres = np.stack([p[0].numpy() for p in planes])
        d1s, d2s = (np.stack([p[k].numpy() for p in planes]) for k in (1, 2))
        for trace, record in zip(traces, records):
            coords = [project(record.thetas, *(torch.as_tensor(v[k]) for v in (centres, d1s, d2s)), scene.memory_mb)
                      for k in range(len(planes))]
            trace.moment_alpha, trace.moment_beta = (np.stack([c[j] for c in coords]) for j in (0, 1))
        every = [dataclasses.replace(t, alpha=t.moment_alpha[k], beta=t.moment_beta[k])
                 for t in traces for k in range(len(planes))]
        alphas, betas = fit_grid(scene.grid, every, scene.memory_mb)
        _check_surfaces(scene, len(moments), alphas.size * betas.size)
    else:
        alphas, betas = fit_grid(scene.grid, traces, scene.memory_mb)
        moments = centres = None
        if scene.evolve is not None:
            moments, centres = evolving_centres(scene, records[0], traces[0], theta0, d1, d2, alphas.size * betas.size)
    surfaces = 1 if centres is None else len(centres)
    tick = progress("surface" if surfaces == 1 else f"{surfaces} surfaces", surfaces * alphas.size * betas.size) \
        if progress else None
    job = PlaneJob(f"{scene.name}-{os.getpid()}-{time.time_ns()}", model, scene.loss, *source,
                   scene.memory_mb, *(t.numpy() for t in (theta0, d1, d2)), alphas, betas, centres, d1s, d2s,
                   tuple(scene.measures))
    rows = surfaces * len(betas)
    with job.evaluated_by(evaluator):  # rows evaluated here reuse this evaluator
        with users_part("model", _EVALUATED):
            parts = executor.map_rows(plane_rows, job, rows, tick) if executor else [plane_rows(job, (0, rows), tick)]
    grids = np.concatenate(parts, axis=0).reshape(surfaces, len(betas), len(alphas), *parts[0].shape[2:])
    grids, extra, loss_name = _measured(scene, grids, traces, loss.name)
    return Landscape(
        alphas=alphas, betas=betas, loss=grids[-1], traces=traces, metrics=extra,
        surfaces=None if centres is None else grids, surface_steps=moments,
        axis_labels=tuple(labels), loss_name=loss_name,
        epochs=max([r.epochs for r in scene.runs] + [len(p.epoch_ends) for p in scene.paths]),
        plane=plane_vectors(theta0, d1, d2, scene.memory_mb), facts=facts,
        # The models a plane goes through are marked as the stars a surface's minima are.
        minima=np.array(list(facts.get("models", {}).values()), dtype=np.float64).reshape(-1, 2),
    )


def _measured(scene: Scene, grids: np.ndarray, traces: list, loss_name: str):
    """The evaluator's (loss, *metrics) per point split into the height and the rest by name: the height
    is the loss, or metric= when the scene asks (the loss then goes with the metrics)."""
    if grids.ndim == 3:
        return grids, {}, loss_name
    from ..scene.metrics import get

    names = [loss_name] + [get(m).name for m in scene.measures]
    height = 1 if scene.metric is not None else 0
    for t in traces:
        values = t.loss
        t.loss = np.ascontiguousarray(values[:, height])
        t.metrics = {name: np.ascontiguousarray(values[:, j]) for j, name in enumerate(names) if j != height}
    extra = {name: np.ascontiguousarray(grids[-1, ..., j]) for j, name in enumerate(names) if j != height}
    return np.ascontiguousarray(grids[..., height]), extra, names[height]


def sharpness(scene: Scene, records: list, traces: list, loss, progress) -> dict:
    """Scene(track=Sharpness(...)): each path's curvature at its moments, into ``trace.sharpness``; what the
    rows hold, the edge of stability 2/lr for each run of plain SGD (no momentum) and the cost, as facts."""
    from .hessian import sharpness_along

    model = records[0].model.eval()  # the plane's template: its buffers are those of the first path's end
    space, source, track = ParamSpace(model), evaluation_data(scene), scene.track
    t0 = time.perf_counter()
    plans = [track.moments(t.step_numbers if t.step_numbers is not None else np.arange(len(t.alpha)), t.epoch_ends)
             for t in traces]
    tick = progress("sharpness", sum(map(len, plans))) if progress else None
    for trace, record, moments in zip(traces, records, plans):
        last = trace.steps if trace.diverged_at < 0 else trace.diverged_at
        moments = moments[moments <= last]  # a diverged path: up to its last finite point
        with users_part("model", _EVALUATED):
            trace.sharpness = sharpness_along(model, space, loss, source, record.thetas, moments, track)
        if tick:
            tick(len(moments))
    edges = [2.0 / run.lr if isinstance(run.optimizer, str) and run.optimizer == "sgd"
             and not run.options.get("momentum") and run.scheduler is None and run.lr != "tune" else None
             for run in scene.runs] + [None] * len(scene.paths)
    return {"columns": track.columns, "edges": edges, "products_per_moment": track.steps + (track.probes if track.trace
                                                                                            else 0),
            "seconds": round(time.perf_counter() - t0, 3)}


def evolving_centres(scene: Scene, record, trace: Trace, theta0, d1, d2, points: int) -> tuple[np.ndarray, np.ndarray]:
    """The moments of an evolving film (trace indices of the first path) and each one's plane centre:
    theta0 moved off the plane to the weights of that moment, theta_k - alpha_k d1 - beta_k d2, so that
    surface k passes through theta_k at the path's own coordinates (alpha_k, beta_k) while the axes
    and directions stay the scene's. The first path's length bounds K here when it came from outside."""
    moments = scene.evolve.check(trace.steps, trace.epoch_ends)
    _check_surfaces(scene, len(moments), points)
    thetas = torch.as_tensor(np.asarray(record.thetas[moments]), dtype=torch.float64)
    a = torch.as_tensor(trace.alpha[moments], dtype=torch.float64)[:, None]
    b = torch.as_tensor(trace.beta[moments], dtype=torch.float64)[:, None]
    centres = thetas - a * d1.double()[None, :] - b * d2.double()[None, :]
    return moments, centres.float().numpy()


def _check_surfaces(scene: Scene, surfaces: int, points: int) -> None:
    if surfaces * points * GRID_BYTES_PER_POINT > scene.memory_mb * 2**20:
        raise SceneError("evolve", f"{surfaces} surfaces of {points} points within memory_mb="
                                   f"{scene.memory_mb:g} (fewer surfaces, a coarser grid, or raise memory_mb)", surfaces)


def refitted_planes(scene: Scene, space: ParamSpace, record, problem: Problem) -> tuple[np.ndarray, list]:
    """Evolve(refit=True): the moments, and at each the scene's plane kind fitted afresh to the run so far
    and centred on that moment's weights: a RandomPlane filter-normalised against them, a PCAPlane of
    the path up to there (at least its first three points), a HessianPlane's eigenvectors there."""
    steps = len(record.thetas) - 1
    moments = scene.evolve.check(steps, record.epoch_ends)
    if 2 * len(moments) * space.size * 4 > scene.memory_mb * 2**20:
        raise SceneError("evolve.refit", f"{len(moments)} pairs of directions of {space.size} parameters within "
                                         f"memory_mb={scene.memory_mb:g}", len(moments))
    plane = dataclasses.replace(scene.plane, center="final")
    planes = []
    for m in moments:
        # A PCA needs a few points of path; the other kinds are fitted at the moment's weights alone.
        prefix = np.asarray(record.thetas[:max(int(m), plane.refit_path_steps) + 1])
        _, d1, d2, labels, facts = plane_basis(plane, space, prefix, scene.memory_mb, problem)
        centre = torch.as_tensor(np.asarray(record.thetas[int(m)]), dtype=torch.float32).clone()
        planes.append((centre, d1, d2, labels, facts))
    return moments, planes


def _interpolate(scene: Scene, records: list, model, loss, evaluator, a, direction, labels, device) -> Landscape:
    """The loss along theta(t) = a + t (b - a) on both splits (row 0: the scene's evaluate_on split, row 1:
    the other), every path projected onto the line, and the barrier between a and b."""
    if isinstance(scene.data, LoaderData):
        raise SceneError("plane", f"array data (both splits) for {type(scene.plane).__name__}; a DataLoader has one",
                         type(scene.plane).__name__)
    ts = scene.plane.ts()
    line = (a.double()[None, :] + torch.as_tensor(ts)[:, None] * direction.double()[None, :]).float()
    data = scene.data
    other = (data.x_train, data.y_train) if scene.evaluate_on == "test" else (data.x_test, data.y_test)
    second = Evaluator(model, loss, *other, scene.memory_mb, resolve_device(device or scene.device),
                       metrics=evaluator.metrics)
    with users_part("model", _EVALUATED):
        values = np.stack([evaluator(line), second(line)]).astype(np.float64)  # (2, t[, 1 + metrics])
    names = [m.name for m in evaluator.metrics]
    grid = values if values.ndim == 2 else values[..., 0]
    measured = {name: np.ascontiguousarray(values[..., j + 1]) for j, name in enumerate(names)}
    d = direction.double()
    traces = []
    for record in records:
        t = ((torch.as_tensor(np.asarray(record.thetas), dtype=torch.float64) - a.double()) @ d / (d @ d)).numpy()
        with users_part("model", _EVALUATED):
            along = evaluator(record.thetas)
        trace = Trace(t, np.zeros_like(t), along if along.ndim == 1 else np.ascontiguousarray(along[:, 0]),
                      record.epoch_ends, record.diverged_at, record.step_numbers, record.lr)
        trace.metrics = {name: np.ascontiguousarray(along[:, j + 1]) for j, name in enumerate(names)}
        traces.append(trace)
    inside = (ts >= 0) & (ts <= 1)
    at_ends = [int(np.argmin(np.abs(ts))), int(np.argmin(np.abs(ts - 1)))]

    def barrier(rows: np.ndarray, worse_is_lower: bool = False):
        """Per split: how far the line gets worse between a and b than at the worse end, and where."""
        rows = -rows if worse_is_lower else rows
        peaks = np.argmax(np.where(inside[None, :], rows, -np.inf), axis=1)
        return [float(rows[k, peaks[k]] - rows[k, at_ends].max()) for k in (0, 1)], peaks

    barriers, peaks = barrier(grid)
    other_split = "train" if scene.evaluate_on == "test" else "test"
    # Both splits' barriers, by split and what is measured (Goodfellow et al. read train and test); for
    # accuracy, how far it drops below the lower end.
    named = {f"{scene.evaluate_on} loss": barriers[0], f"{other_split} loss": barriers[1]}
    for m in evaluator.metrics:
        split_barriers, _ = barrier(measured[m.name], m.higher_is_better)
        short = m.name.removesuffix(" %")
        named.update({f"{scene.evaluate_on} {short}": split_barriers[0], f"{other_split} {short}": split_barriers[1]})
    facts = {"barrier": barriers[0], "barrier_at": float(ts[peaks[0]]), "barriers": named,
             "models": {scene.plane.a: [0.0, 0.0], scene.plane.b: [1.0, 0.0]}}
    other_name = "training" if scene.evaluate_on == "test" else "test"
    facts["beta_ticks"] = {"0": scene.evaluate_on, "1": other_name}  # JSON keys: the film names the edges
    return Landscape(
        alphas=ts, betas=np.array([0.0, 1.0]), loss=grid, traces=traces, axis_labels=(labels[0], "split"),
        metrics=measured,
        loss_name=loss.name, epochs=max([r.epochs for r in scene.runs] + [len(p.epoch_ends) for p in scene.paths]),
        plane=plane_vectors(a, direction, torch.zeros_like(direction), scene.memory_mb), facts=facts,
        minima=np.array([[0.0, 0.0], [1.0, 0.0]]),  # a and b, starred
    )


def plane_vectors(theta0, d1, d2, memory_mb: float) -> dict:
    """The plane's centre and directions as float32 arrays for the cache and the npz export, or {} when
    the three would take more than ``memory_mb`` (a large model's film need not carry its weights)."""
    if 3 * theta0.numel() * 4 > memory_mb * 2**20:
        return {}
    return {name: v.detach().cpu().numpy().astype(np.float32) for name, v in
            (("theta0", theta0), ("d1", d1), ("d2", d2))}


def evaluation_data(scene: Scene) -> tuple:
    """(x, y) arrays of the scene's evaluate_on split, or (the LoaderData, None) to stream."""
    data = scene.data
    if isinstance(data, LoaderData):
        return data, None
    return (data.x_test, data.y_test) if scene.evaluate_on == "test" else (data.x_train, data.y_train)


def from_outside(scene: Scene, path) -> Recorded:
    """A path from outside as a record: its rows in the model's parameter order (stopping before the
    first row that is not finite), and the model with the path's final buffers."""
    model = build_model(scene)
    thetas, buffers = path.aligned(model)
    finite = np.isfinite(thetas).all(axis=1)
    diverged_at = -1
    if not finite.all():
        first_bad = int(np.argmin(finite))
        if first_bad == 0:
            raise SceneError(f"paths ({path.label!r})", "a path whose first point is finite", "NaN or inf")
        diverged_at, thetas = first_bad - 1, thetas[:first_bad]
        warnings.warn(f"{scene.name}: path {path.label!r} is not finite after step {diverged_at}; it stops there",
                      RuntimeWarning, stacklevel=3)
    with torch.no_grad():
        own = dict(model.named_buffers())
        for name, value in buffers.items():
            own[name].copy_(torch.as_tensor(value))
        ParamSpace(model).load(model, thetas[-1])
    ends = path.epoch_ends[path.epoch_ends < len(thetas)]
    numbers = None if path.step_numbers is None else np.asarray(path.step_numbers[:len(thetas)], np.int64)
    return Recorded(thetas, ends, diverged_at, model, numbers)
