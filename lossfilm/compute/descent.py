"""Optimizers on a textbook surface (Scene(surface=...)): the exact grid, every run's path, lr tuning.

Every run is a point (x, y) moved by a real torch optimizer (a name, a class, a factory: the same
``optimizers.make`` the network scenes use) with autograd's gradient of f, plus seeded noise when asked.
Several learning rates of one run descend together, one parameter group each: one call of f and one
backward pass per step serve them all, and an optimizer treats its groups independently, so each
candidate's path is exactly the path a run with that lr alone would take. A race's runs share their
evaluations the same way, each stepped by its own optimizer (``descend_together``).
"""
from __future__ import annotations

import dataclasses
import warnings
from typing import NamedTuple

import numpy as np
import torch

from ..scene import optimizers
from ..errors import SceneError
from ..landscape import Landscape, Trace
from ..scene.runs import SURFACE_STEPS as DEFAULT_STEPS, TUNE, TUNE_LRS, Run
from ..scene.scene import Scene
from .grid import fit_axis


class Descent(NamedTuple):
    paths: np.ndarray  # (K, T + 1, 2): each candidate's start and point after every step
    diverged_at: np.ndarray  # (K,): index of the last finite point, or -1


def values(surface, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """f at points (any shape), elementwise when the function allows it, else point by point."""
    if surface_is_elementwise(surface):
        out = surface(x, y)
        return torch.as_tensor(out, dtype=torch.float64).expand(x.shape)
    flat = [surface(a, b) for a, b in zip(x.reshape(-1), y.reshape(-1))]
    return torch.stack([torch.as_tensor(v, dtype=torch.float64).reshape(()) for v in flat]).reshape(x.shape)


_ELEMENTWISE: dict = {}  # surface -> bool (surfaces are frozen and hashable)


def surface_is_elementwise(surface) -> bool:
    """Whether f applied to arrays of points gives each point's own value (a function written for one
    point, with a reduction or a Python ``if``, does not): checked once on a few seeded points."""
    known = _ELEMENTWISE.get(surface)
    if known is None:
        (x0, x1), (y0, y1) = surface.domain
        g = torch.Generator().manual_seed(0)
        x = x0 + (x1 - x0) * torch.rand(5, generator=g, dtype=torch.float64)
        y = y0 + (y1 - y0) * torch.rand(5, generator=g, dtype=torch.float64)
        try:
            together = torch.as_tensor(surface(x, y), dtype=torch.float64)
            alone = torch.stack([torch.as_tensor(surface(a, b), dtype=torch.float64).reshape(()) for a, b in zip(x, y)])
            known = together.shape == (5,) and bool(torch.allclose(together, alone, rtol=1e-9, atol=1e-12, equal_nan=True))
        except Exception:
            known = False
        _ELEMENTWISE[surface] = known
    return known


def check(scene: Scene) -> None:
    """The surface's function and every run's optimizer, tried once at the start before any work."""
    f = scene.surface
    x, y = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in scene.start_of(scene.runs[0]))
    try:
        value = f.fn(x, y)  # the function itself: its own message names the start
    except Exception as exc:
        raise SceneError("surface.fn", f"a function f(x, y) written with torch operations (at the start it raised "
                                       f"{type(exc).__name__}: {exc})") from None
    if not isinstance(value, torch.Tensor) or value.numel() != 1:
        raise SceneError("surface.fn", "a function that returns one number (a scalar tensor) for one point",
                         getattr(value, "shape", type(value).__name__))
    try:
        value.reshape(()).backward()
    except RuntimeError as exc:
        raise SceneError("surface.fn", f"a function autograd can differentiate ({exc})") from None
    for run in scene.runs:
        opt = optimizers.make(dataclasses.replace(run, lr=1e-3) if run.lr == TUNE else run,
                              [torch.zeros(2, dtype=torch.float64, requires_grad=True)])
        optimizers.scheduler(run, opt)


def descend(scene: Scene, run: Run, index: int, lrs) -> Descent:
    """Run ``run`` from its start once per lr in ``lrs`` (all at once when the optimizer takes parameter
    groups and f is elementwise), recording every step."""
    start = torch.tensor(scene.start_of(run), dtype=torch.float64)
    steps = run.steps or DEFAULT_STEPS
    lrs = [float(v) for v in lrs]
    if len(lrs) > 1 and surface_is_elementwise(scene.surface) and _scales_with_lr(run):
        return _descend_scaled(scene, run, index, start, steps, lrs)
    if len(lrs) > 1 and surface_is_elementwise(scene.surface):
        try:
            return _descend(scene, run, index, start, steps, lrs)
        except ValueError as exc:  # LBFGS and the like take one parameter group
            if "param" not in str(exc).lower() and "group" not in str(exc).lower():
                raise
    parts = [_descend(scene, run, index, start, steps, [lr]) for lr in lrs]
    return Descent(np.concatenate([p.paths for p in parts]), np.concatenate([p.diverged_at for p in parts]))



# torch's optimizers whose step is the lr times something the lr does not change (their state is built
# from gradients alone), as long as there is no weight decay (which reads the parameters) or scheduler.
_LINEAR_IN_LR = ("sgd", "adam", "adamw", "rmsprop", "adagrad", "nadam", "radam", "adamax", "adadelta")


def _table_name(run: Run) -> str | None:
    """The run's optimizer as a name of optimizers.OPTIMIZERS (given so, or as that torch.optim class),
    or None (a class or factory of the scene's own)."""
    from ..scene.optimizers import OPTIMIZERS

    return run.optimizer if isinstance(run.optimizer, str) else next(
        (k for k, v in OPTIMIZERS.items() if getattr(torch.optim, v, None) is run.optimizer), None)


def _scales_with_lr(run: Run) -> bool:
    named = _table_name(run)
    decay = run.options.get("weight_decay", 0.01 if named == "adamw" else 0)  # AdamW decays by default
    return named in _LINEAR_IN_LR and not decay and run.scheduler is None and not run.options.get("maximize")


def _descend_scaled(scene: Scene, run: Run, index: int, start: torch.Tensor, steps: int, lrs: list[float]) -> Descent:
    """Many lrs of one linear-in-lr optimizer as one optimizer over a (K, 2) tensor: its step at lr 1,
    taken from zero, is each candidate's step direction; scaling it by each lr is the candidate's step
    (to rounding). One optimizer step serves every candidate: tuning costs about one run."""
    k = len(lrs)
    at = start.repeat(k, 1).requires_grad_(True)  # the candidates' points, moved in place
    step = torch.zeros(k, 2, dtype=torch.float64, requires_grad=True)
    opt = optimizers.make(dataclasses.replace(run, lr=1.0), [step])
    for group in opt.param_groups:
        group["lr"] = 1.0
    scale = torch.tensor(lrs, dtype=torch.float64)[:, None]
    noise = torch.Generator().manual_seed(scene.seed_of(run) * 1_000_003 + index)
    path = torch.empty(steps + 1, k, 2, dtype=torch.float64)
    path[0] = at.detach()
    live = torch.ones(k, 1, dtype=torch.bool)
    ends = torch.full((k,), steps, dtype=torch.int64)  # the last finite index of each candidate
    f = scene.surface
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a candidate that overflows is the search's business
        for t in range(1, steps + 1):
            at.grad = None
            f(at[:, 0], at[:, 1]).sum().backward()
            with torch.no_grad():
                grad = at.grad
                if run.noise:
                    grad = grad + run.noise * torch.randn(2, generator=noise, dtype=torch.float64)
                if run.clip_grad_norm:
                    grad = grad * torch.clamp(run.clip_grad_norm / (grad.norm(dim=1, keepdim=True) + 1e-6), max=1.0)
                step.zero_()
                step.grad = torch.where(live, grad, torch.zeros_like(grad))  # a dead candidate stands still
                opt.step()
                moved = at + scale * step
                ok = torch.isfinite(moved).all(dim=1, keepdim=True) & live
                newly = live & ~ok
                if newly.any():
                    ends[newly[:, 0]] = t - 1
                live = ok
                at.copy_(torch.where(live, moved, at))
                path[t] = at
                if not live.any():
                    path[t + 1:] = at
                    break
    diverged = np.where(ends.numpy() < steps, ends.numpy(), -1)
    return Descent(path.transpose(0, 1).numpy(), diverged)


def _descend(scene: Scene, run: Run, index: int, start: torch.Tensor, steps: int, lrs: list[float]) -> Descent:
    k = len(lrs)
    points = [start.clone().requires_grad_(True) for _ in range(k)]
    groups = [{"params": [p], "lr": lr} for p, lr in zip(points, lrs)] if k > 1 else [points[0]]
    opt = optimizers.make(dataclasses.replace(run, lr=lrs[0]), groups)
    for group, lr in zip(opt.param_groups, lrs):  # a factory sets its own lr: the search sets it here
        group["lr"] = lr
        if "initial_lr" in group:
            group["initial_lr"] = lr
    schedule = optimizers.scheduler(run, opt)
    # The same noise for every candidate: the chosen lr's path is exactly the run's.
    noise = torch.Generator().manual_seed(scene.seed * 1_000_003 + index)
    surface = scene.surface
    together = k > 1
    live = torch.ones(k, dtype=torch.bool)

    def closure():
        opt.zero_grad(set_to_none=False)
        if together:
            xy = torch.stack(points)
            value = surface(xy[:, 0], xy[:, 1])
            total = torch.where(live, value, torch.zeros_like(value)).sum()
        else:
            value = total = surface(points[0][0], points[0][1])
        total.backward()
        if run.noise:
            jitter = run.noise * torch.randn(2, generator=noise, dtype=torch.float64)
            for p in points:
                p.grad.add_(jitter)
        if run.clip_grad_norm:
            for p in points:
                torch.nn.utils.clip_grad_norm_([p], run.clip_grad_norm)
        return total

    path = np.empty((k, steps + 1, 2))
    path[:, 0] = start.numpy()
    diverged = np.full(k, -1, dtype=np.int64)
    for t in range(1, steps + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a candidate that overflows is the search's business
            optimizers.step_with(opt, closure)
        if schedule is not None:
            schedule.step()
        now = torch.stack([p.detach() for p in points]).numpy()
        bad = ~np.isfinite(now).all(axis=1) & (diverged < 0)
        diverged[bad] = t - 1
        live &= torch.as_tensor(diverged < 0)
        path[:, t] = np.where((diverged >= 0)[:, None], path[:, t - 1], now)
        if not live.any():
            path[:, t + 1:] = path[:, t:t + 1]
            break
    return Descent(path, diverged)


def _shares_evaluations(run: Run) -> bool:
    """A run at a fixed lr whose optimizer steps from the gradients already there (every optimizer of
    the table; a closure-driven one like L-BFGS, or a class or factory of the scene's own, may evaluate
    f itself inside its step): it can take its gradients from an evaluation shared with other runs."""
    return _table_name(run) is not None and run.lr != TUNE


def descend_together(scene: Scene, jobs: list[tuple[int, Run]]) -> list[Descent]:
    """Several runs of a race, each at its own lr (``jobs``: (index in the scene, run)), stepped side by
    side: one call of f and one backward pass per step for all of them, each then stepped by its own
    optimizer, scheduler, noise and clipping. f is elementwise, so each point's gradient is the one it
    would have alone, and each path is the one ``descend`` gives the run alone, to the bit (tested);
    a race's four runs cost about one run's evaluations. A run leaves the pack after its own steps or
    when it diverges."""
    k = len(jobs)
    points, opts, schedules, noises = [], [], [], []
    for index, run in jobs:
        p = torch.tensor(scene.start_of(run), dtype=torch.float64).requires_grad_(True)
        opt = optimizers.make(run, [p])
        for group in opt.param_groups:  # a factory sets its own lr: the run's is set here, as descend does
            group["lr"] = float(run.lr)
            if "initial_lr" in group:
                group["initial_lr"] = float(run.lr)
        points.append(p)
        opts.append(opt)
        schedules.append(optimizers.scheduler(run, opt))
        noises.append(torch.Generator().manual_seed(scene.seed * 1_000_003 + index))
    steps = [run.steps or DEFAULT_STEPS for _, run in jobs]
    paths = [np.empty((n + 1, 2)) for n in steps]
    for path, p in zip(paths, points):
        path[0] = p.detach().numpy()
    diverged = [-1] * k
    live = list(range(k))
    surface = scene.surface
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a run that overflows diverges: landscape() says so
        for t in range(1, max(steps) + 1):
            live = [j for j in live if t <= steps[j]]
            if not live:
                break
            for j in live:
                if points[j].grad is not None:
                    points[j].grad.zero_()
            xy = torch.stack([points[j] for j in live])
            surface(xy[:, 0], xy[:, 1]).sum().backward()
            for j in live:
                run = jobs[j][1]
                if run.noise:
                    points[j].grad.add_(run.noise * torch.randn(2, generator=noises[j], dtype=torch.float64))
                if run.clip_grad_norm:
                    torch.nn.utils.clip_grad_norm_([points[j]], run.clip_grad_norm)
                opts[j].step()
                if schedules[j] is not None:
                    schedules[j].step()
                now = points[j].detach().numpy()
                if np.isfinite(now).all():
                    paths[j][t] = now
                else:
                    diverged[j] = t - 1
                    paths[j][t:] = paths[j][t - 1]
            live = [j for j in live if diverged[j] < 0]
    return [Descent(path[None], np.array([d])) for path, d in zip(paths, diverged)]


def values_and_gradients(surface, path: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """f and its gradient (without noise) at every point of a path: (N,) and (N, 2)."""
    p = torch.as_tensor(path).clone().requires_grad_(True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = values(surface, p[:, 0], p[:, 1])
        value.sum().backward()
    return value.detach().numpy().astype(np.float64), p.grad.numpy().astype(np.float64)


def final_losses(scene: Scene, found: Descent) -> np.ndarray:
    """Each candidate's loss after its last step (inf for one that diverged)."""
    with torch.no_grad():
        end = torch.as_tensor(found.paths[:, -1])
        out = values(scene.surface, end[:, 0], end[:, 1]).numpy().astype(np.float64)
    out[found.diverged_at >= 0] = np.inf
    return np.where(np.isfinite(out), out, np.inf)


def tune(scene: Scene, run: Run, index: int) -> tuple[float, Descent]:
    """The lr from TUNE_LRS that ends lowest after the run's steps (the smallest such lr on a tie), and
    its path."""
    found = descend(scene, run, index, TUNE_LRS)
    best = int(np.argmin(final_losses(scene, found)))  # argmin takes the first, i.e. the smallest lr, on a tie
    return TUNE_LRS[best], Descent(found.paths[best:best + 1], found.diverged_at[best:best + 1])


def grid(scene: Scene, traces: list[Trace]) -> tuple[np.ndarray, np.ndarray]:
    """The domain at ``points`` per axis; grown (same spacing) to hold the paths when the surface asks."""
    surface = scene.surface
    axes = []
    for (lo, hi), part in zip(surface.domain, ("alpha", "beta")):
        step = (hi - lo) / (surface.points - 1)
        path = np.concatenate([getattr(t, part) for t in traces if t.diverged_at < 0] or [np.zeros(0)])
        axes.append(fit_axis(lo, hi + step / 2, step, path, 0.05, surface.grow, surface.max_grow))
    return axes[0], axes[1]


def landscape(scene: Scene, progress=None) -> Landscape:
    """The surface scene's numbers: every run's path (tuning its lr first when asked) and f on the grid."""
    traces = []
    pack = [(i, run) for i, run in enumerate(scene.runs) if _shares_evaluations(run)]
    shared = {}
    if len(pack) > 1 and surface_is_elementwise(scene.surface):
        shared = dict(zip((i for i, _ in pack), descend_together(scene, pack)))
    for i, run in enumerate(scene.runs):
        tick = progress(f"descend {run.name}", 1) if progress else None
        if run.lr == TUNE:
            lr, found = tune(scene, run, i)
        elif i in shared:
            lr, found = float(run.lr), shared[i]
        else:
            lr, found = float(run.lr), descend(scene, run, i, [run.lr])
        path, diverged_at = found.paths[0], int(found.diverged_at[0])
        if diverged_at >= 0:
            path = path[:diverged_at + 1]
            warnings.warn(f"{scene.name}: run {run.name!r} diverged (not finite) after step {diverged_at}; its "
                          "path stops there", RuntimeWarning, stacklevel=2)
        loss, grad = values_and_gradients(scene.surface, path)
        traces.append(Trace(path[:, 0].copy(), path[:, 1].copy(), loss, np.zeros(0, np.int64), diverged_at, lr=lr,
                            grad=grad))
        if tick:
            tick(1)
    alphas, betas = grid(scene, traces)
    tick = progress("surface", alphas.size * betas.size) if progress else None
    with torch.no_grad():
        X, Y = torch.meshgrid(torch.as_tensor(betas), torch.as_tensor(alphas), indexing="ij")
        z = values(scene.surface, Y, X).numpy().astype(np.float64)
    if tick:
        tick(alphas.size * betas.size)
    return Landscape(alphas=alphas, betas=betas, loss=z, traces=traces, axis_labels=("x", "y"),
                     loss_name=scene.surface.label, epochs=0,
                     minima=np.array(scene.surface.minima, dtype=np.float64).reshape(-1, 2))
