"""Directions through weight space for the plane kinds (scene.Plane subclasses): filter-normalised
random directions, principal components of a path, directions given by the user. torch, no scene logic.
"""
from __future__ import annotations

import numpy as np
import torch

from ..errors import SceneError
from .evaluate import ParamSpace


def center_of(path: np.ndarray, center: str) -> torch.Tensor:
    """The plane's centre: the path's last point ("final") or its first ("start"), as a float32 copy."""
    point = path[0] if center == "start" else path[-1]
    return torch.as_tensor(np.asarray(point), dtype=torch.float32).clone()


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


def given_direction(d, space: ParamSpace, field: str) -> torch.Tensor:
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


