"""One batched loss evaluator for any nn.Module: many parameter vectors at once, memory bounded.

``functional_call`` under ``vmap`` runs the model for a chunk of K flat parameter vectors against a batch
of data rows; chunk size and rows per batch are chosen from a memory bound, so a fine grid over a big
data set never holds more than the bound. The caller's module is never touched: the evaluator works on
a deep copy in eval mode (BatchNorm uses running statistics, dropout is off).
"""
from __future__ import annotations

import copy
import math

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from .losses import Loss

# Temporaries per activation element (forward value, the op's output, loss intermediates), in bytes.
_BYTES_PER_ACTIVATION = 4 * 4
_MIN_CHUNK = 64


class ParamSpace:
    """The model's parameters laid end to end as one flat vector, and back."""

    def __init__(self, model: nn.Module):
        self.names, self.shapes, self.sizes = [], [], []
        for name, p in model.named_parameters():
            self.names.append(name)
            self.shapes.append(tuple(p.shape))
            self.sizes.append(p.numel())
        self.offsets = np.concatenate([[0], np.cumsum(self.sizes)]).astype(int)
        self.size = int(self.offsets[-1])

    def flatten(self, model: nn.Module) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()

    def unflatten(self, thetas: torch.Tensor) -> dict[str, torch.Tensor]:
        """(K, P) -> {name: (K, *shape)}; views, no copies."""
        k = thetas.shape[0]
        return {
            name: thetas[:, a:b].reshape(k, *shape)
            for name, shape, a, b in zip(self.names, self.shapes, self.offsets[:-1], self.offsets[1:])
        }

    def index(self, ref: str) -> int | None:
        """Flat index of ``name`` (a scalar parameter) or ``name[i]``; None if there is no such element."""
        name, _, rest = ref.partition("[")
        if name not in self.names:
            return None
        i = self.names.index(name)
        if rest:
            j = int(rest.rstrip("]"))
            return int(self.offsets[i]) + j if j < self.sizes[i] else None
        return int(self.offsets[i]) if self.sizes[i] == 1 else None


def _activations_per_row(model: nn.Module, x: torch.Tensor) -> int:
    """Elements every leaf module outputs for one input row: what a forward pass holds per row."""
    total = 0

    def hook(_module, _inputs, output):
        nonlocal total
        if isinstance(output, torch.Tensor):
            total += output.numel()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(x[:1])
    finally:
        for h in handles:
            h.remove()
    return max(total, 1)


class Evaluator:
    """``evaluator(thetas)`` -> loss of each flat parameter vector (rows of ``thetas``) on (x, y)."""

    def __init__(self, model: nn.Module, loss: Loss, x: np.ndarray, y: np.ndarray,
                 memory_mb: float = 256.0, device: str = "cpu"):
        self.model = copy.deepcopy(model).to(device).eval()
        self.space = ParamSpace(self.model)
        self.buffers = {k: v.detach() for k, v in self.model.named_buffers()}
        self.loss = loss
        self.device = device
        self.x = torch.as_tensor(x).to(device)
        self.y = torch.as_tensor(y).to(device)
        n = len(self.x)
        budget = memory_mb * 2**20
        per_row = _activations_per_row(self.model, self.x) * _BYTES_PER_ACTIVATION
        if loss.batch is not None:
            self.rows = min(loss.batch, n)
        else:
            # Whole data set per pass when a useful chunk of points still fits, else fewer rows per pass.
            self.rows = int(max(1, min(n, budget // (per_row * _MIN_CHUNK))))
        point_bytes = self.rows * per_row + self.space.size * 4 * 2
        self.chunk = int(max(1, budget // point_bytes))
        self._batched = vmap(self._one, in_dims=(0, None, None))

    def _one(self, params, xb, yb):
        return self.loss.fn(functional_call(self.model, (params, self.buffers), (xb,)), yb)

    @torch.no_grad()
    def __call__(self, thetas: torch.Tensor | np.ndarray) -> np.ndarray:
        thetas = torch.as_tensor(thetas, dtype=torch.float32)
        out = np.empty(len(thetas), dtype=np.float64)
        for start in range(0, len(thetas), self.chunk):
            out[start:start + self.chunk] = self._chunk(thetas[start:start + self.chunk].to(self.device))
        return out

    def _chunk(self, thetas: torch.Tensor) -> np.ndarray:
        params = self.space.unflatten(thetas)
        n = len(self.x)
        total = torch.zeros(len(thetas), dtype=torch.float64, device=self.device)
        batches = 0
        for start in range(0, n, self.rows):
            xb, yb = self.x[start:start + self.rows], self.y[start:start + self.rows]
            value = self._batched(params, xb, yb).double()
            total += value if self.loss.mean_of_batches else value * len(xb)
            batches += 1
        total /= batches if self.loss.mean_of_batches else n
        return total.cpu().numpy()

    def over_plane(self, theta0: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor,
                   alphas: np.ndarray, betas: np.ndarray, progress=None) -> np.ndarray:
        """Loss at theta0 + a*d1 + b*d2 for every (b, a): an array of shape (len(betas), len(alphas))."""
        a = torch.as_tensor(alphas, dtype=torch.float32)
        b = torch.as_tensor(betas, dtype=torch.float32)
        bb, aa = torch.meshgrid(b, a, indexing="ij")
        coords = torch.stack([aa.reshape(-1), bb.reshape(-1)], 1)
        out = np.empty(len(coords), dtype=np.float64)
        with torch.no_grad():
            for start in range(0, len(coords), self.chunk):
                c = coords[start:start + self.chunk]
                thetas = theta0 + c[:, :1] * d1 + c[:, 1:] * d2
                out[start:start + len(c)] = self._chunk(thetas.to(self.device))
                if progress is not None:
                    progress(len(c))
        return out.reshape(len(betas), len(alphas))

    def chunks_for(self, points: int) -> int:
        return math.ceil(points / self.chunk)
