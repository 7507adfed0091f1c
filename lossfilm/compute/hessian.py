"""The loss's sharpest directions at a point: the Hessian's top eigenpairs by Lanczos iteration over
Hessian-vector products (double backward through torch.func.functional_call), never the dense Hessian.

One product costs about two and a half gradient evaluations over the data on the tiny CNN; ``steps``
products (HessianPlane's 16 by default) find the top two eigenpairs of a small network to many digits. The start
vector is seeded, so the same scene gives the same plane.
"""
from __future__ import annotations

from typing import Callable

import numpy as np
import torch
from torch.func import functional_call

ROWS_PER_CHUNK = 4096  # rows of data per product chunk: the products are summed over chunks


def loss_terms(loss, source) -> list[tuple[torch.Tensor, torch.Tensor, float]]:
    """(x, y, weight) chunks whose weighted losses sum to the loss over the data, as the evaluator
    defines it: the exact mean over rows, or the plain mean of batches for a loss defined by its
    batches (as published) or a DataLoader's loop (mean_of_batches)."""
    from ..scene.data import LoaderData

    x, y = source
    if isinstance(x, LoaderData):
        parts = [(torch.as_tensor(np.asarray(a)), torch.as_tensor(np.asarray(b))) for a, b in x.batches()]
    else:
        x, y = torch.as_tensor(np.asarray(x)), torch.as_tensor(np.asarray(y))
        size = loss.batch or ROWS_PER_CHUNK
        parts = [(x[a:a + size], y[a:a + size]) for a in range(0, len(x), size)]
    if loss.batch or loss.mean_of_batches:
        return [(a, b, 1.0 / len(parts)) for a, b in parts]
    rows = sum(len(a) for a, _ in parts)
    return [(a, b, len(a) / rows) for a, b in parts]


def hvp_of(model: torch.nn.Module, space, loss, source) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """hvp(theta, v): the Hessian of the loss over the data at flat parameters ``theta``, times ``v``."""
    buffers = dict(model.named_buffers())
    terms = loss_terms(loss, source)

    def params(theta):
        return {name: theta[a:b].view(shape) for name, shape, a, b in
                zip(space.names, space.shapes, space.offsets[:-1], space.offsets[1:])}

    def product(theta: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        # Reverse-over-reverse (double backward): on a small CNN about 2 gradients' work per product,
        # where torch.func's forward-over-reverse jvp(grad) cost 3 here.
        t = theta.detach().requires_grad_(True)
        total = torch.zeros_like(theta)
        for xb, yb, weight in terms:
            value = loss.fn(functional_call(model, (params(t), buffers), (xb,)), yb)
            (g,) = torch.autograd.grad(value, t, create_graph=True)
            (hv,) = torch.autograd.grad(g @ v, t)
            total += weight * hv
        return total

    return product


def lanczos(hvp: Callable[[torch.Tensor], torch.Tensor], size: int, k: int, steps: int = 20,
            seed: int = 0, mask: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The ``k`` largest eigenvalues (descending) and their unit eigenvectors (k, size) of the symmetric
    operator ``hvp``, from ``steps`` products with full reorthogonalisation (Lanczos on a tiny model is
    exact once steps reaches the parameter count). ``mask``: the operator acts on those coordinates only
    (the Hessian of some parameters), so the search starts and stays there."""
    steps = max(k, min(steps, size if mask is None else int(mask.sum())))
    q = torch.randn(size, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    if mask is not None:
        q = q * mask.double()
    basis = [q / q.norm()]
    diag, off = [], []
    for j in range(steps):
        w = hvp(basis[-1]).to(torch.float64)
        diag.append(float(w @ basis[-1]))
        Q = torch.stack(basis)
        for _ in range(2):  # twice is enough (Parlett's "twice is enough")
            w = w - Q.T @ (Q @ w)
        beta = float(w.norm())
        if j == steps - 1 or beta < 1e-10 * max(1.0, abs(diag[-1])):
            break
        off.append(beta)
        basis.append(w / beta)
    m = len(diag)
    T = np.diag(diag) + np.diag(off[:m - 1], 1) + np.diag(off[:m - 1], -1)
    values, vectors = np.linalg.eigh(T)
    top = np.argsort(values)[::-1][:k]
    Q = torch.stack(basis[:m]).numpy()
    return values[top], (vectors[:, top].T @ Q)


def top_directions(model, space, loss, source, theta0: torch.Tensor, which: tuple[int, ...], steps: int,
                   seed: int, mask: torch.Tensor | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues and unit eigenvectors number ``which`` (1 = the largest) of the loss's Hessian at
    ``theta0``; with ``mask``, of the Hessian of those coordinates only (the block of the chosen
    parameters: the others held at theta0)."""
    product = hvp_of(model, space, loss, source)
    theta = theta0.detach().to(torch.float32)
    keep = None if mask is None else mask.to(torch.float32)

    def hvp(v: torch.Tensor) -> torch.Tensor:
        if keep is None:
            return product(theta, v.to(torch.float32))
        return product(theta, v.to(torch.float32) * keep) * keep

    values, vectors = lanczos(hvp, space.size, max(which), steps, seed, mask)
    picked = [w - 1 for w in which]
    return values[picked], vectors[picked]


def hutchinson(hvp: Callable[[torch.Tensor], torch.Tensor], size: int, probes: int, seed: int) -> tuple[float, float]:
    """Hutchinson's estimate of the trace of the symmetric operator ``hvp``: the mean of vᵀHv over
    ``probes`` seeded Rademacher vectors v, and its standard error."""
    gen = torch.Generator().manual_seed(seed)
    samples = []
    for _ in range(probes):
        v = torch.randint(0, 2, (size,), generator=gen, dtype=torch.float32) * 2 - 1
        samples.append(float(v.double() @ hvp(v).double()))
    values = np.asarray(samples)
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))


def sharpness_along(model, space, loss, source, thetas: np.ndarray, moments: np.ndarray, track) -> np.ndarray:
    """At each moment (a row index of ``thetas``): the moment, the top ``track.k`` eigenvalues of the
    loss's Hessian on the data (Lanczos, ``track.steps`` products) and, with ``track.trace``, Hutchinson's
    trace and its standard error (``track.probes`` products): one row per moment (see Sharpness.columns)."""
    product = hvp_of(model, space, loss, source)
    rows = []
    for m in moments:
        theta = torch.as_tensor(np.asarray(thetas[int(m)]), dtype=torch.float32)

        def hvp(v: torch.Tensor, theta=theta) -> torch.Tensor:
            return product(theta, v.to(torch.float32))

        values, _ = lanczos(hvp, space.size, track.k, track.steps, track.seed)
        row = [float(m), *values.tolist()]
        if track.trace:
            row += list(hutchinson(hvp, space.size, track.probes, track.seed))
        rows.append(row)
    return np.asarray(rows, np.float64).reshape(len(rows), len(track.columns))
