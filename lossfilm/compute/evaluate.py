"""One batched loss evaluator for any nn.Module: many parameter vectors at once, memory bounded.

``functional_call`` under ``vmap`` runs the model for a chunk of K flat parameter vectors against a batch
of data rows; chunk size and rows per batch are chosen from a memory bound, so a fine grid over a big
data set never holds more than the bound. The caller's module is never touched: the evaluator works on
a deep copy in eval mode (BatchNorm uses running statistics, dropout is off).

Four roads: plain MLPs with MSE or cross-entropy on the CPU go to the fused C kernel (native.py: every
layer, activation and the loss for a tile of rows in registers); other MLPs stack the parameter sets
into one batched product per layer (``stacked_forward``); any other module runs under ``vmap`` when each
point is little work, and point by point when one point over the data is already a large pass.
"""
from __future__ import annotations

import contextlib
import copy
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, vmap

from . import native as native_kernel
from ..scene import losses
from ..errors import SceneError
from ..scene.losses import Loss

# Temporaries per activation element (forward value, the op's output, loss intermediates), in bytes.
_BYTES_PER_ACTIVATION = 4 * 4
_MIN_CHUNK = 256  # points per pass: fewer rows per pass rather than fewer points


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
        self.mask = None  # a plane's params=: which coordinates it moves (see restricted), None: all
        self.chosen = list(self.names)

    def restricted(self, names: list[str]) -> "ParamSpace":
        """The same space, told that a plane moves only the parameters ``names`` (the others held at its
        centre): ``mask`` marks their coordinates and ``restrict`` zeroes a direction elsewhere."""
        view = copy.copy(self)
        mask = torch.zeros(self.size, dtype=torch.bool)
        for name, a, b in zip(self.names, self.offsets[:-1], self.offsets[1:]):
            if name in names:
                mask[a:b] = True
        view.mask, view.chosen = mask, [n for n in self.names if n in names]
        return view

    def restrict(self, direction: torch.Tensor) -> torch.Tensor:
        """``direction`` with the coordinates of the parameters a plane holds still set to zero."""
        return direction if self.mask is None else direction * self.mask.to(direction.dtype)

    def flatten(self, model: nn.Module) -> torch.Tensor:
        return torch.cat([p.detach().reshape(-1) for p in model.parameters()]).clone()

    def load(self, model: nn.Module, theta) -> None:
        """Write the flat vector ``theta`` into ``model``'s parameters."""
        flat = torch.as_tensor(np.asarray(theta), dtype=torch.float32)
        with torch.no_grad():
            for p, a, b in zip(model.parameters(), self.offsets[:-1], self.offsets[1:]):
                p.copy_(flat[a:b].view_as(p))

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



def takes_ids(model: nn.Module) -> bool:
    """Whether the model looks up integer ids (an embedding): integer inputs reach it as integers."""
    return any(isinstance(m, (nn.Embedding, nn.EmbeddingBag)) for m in model.modules())

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


def _tanh_(h: torch.Tensor) -> torch.Tensor:
    # torch's CPU tanh kernel measured 7x slower than its sigmoid here (37 vs 5 ms for 7M floats);
    # tanh(x) = 2 sigmoid(2x) - 1 is exact in real arithmetic and within ~1e-7 absolute in float32.
    return h.mul_(2).sigmoid_().mul_(2).sub_(1)


# Parameter-free layers that act element by element, in place on a tensor the forward pass owns:
# any leading (K, R) dims pass through them. None: call the module itself (not in place).
_ELEMENTWISE: dict[type, object] = {
    nn.Tanh: _tanh_, nn.ReLU: torch.relu_, nn.Sigmoid: torch.sigmoid_, nn.Identity: lambda h: h,
    nn.Dropout: lambda h: h, nn.GELU: None, nn.SiLU: None, nn.ELU: None, nn.LeakyReLU: None, nn.Softplus: None,
}
_SMALL_INNER = 4  # below this many input features a broadcast multiply beats bmm's per-matrix overhead


def stackable(model: nn.Module) -> bool:
    """True for an nn.Sequential of Linear layers and elementwise activations: the MLPs that
    ``stacked_forward`` evaluates for K parameter sets with one batched product per layer."""
    return isinstance(model, nn.Sequential) and all(
        isinstance(m, nn.Linear) or (type(m) in _ELEMENTWISE and not list(m.parameters()))
        for m in model.children())


def stacked_forward(model: nn.Sequential, params: dict[str, torch.Tensor], x: torch.Tensor) -> torch.Tensor:
    """Outputs (K, R, out) of an MLP for K stacked parameter sets {name: (K, *shape)} on shared rows x (R, in).

    ``vmap`` turns each Linear into a bmm of K small matrices, whose per-matrix overhead dominates for
    narrow layers (1-wide layers ran 4x slower than the arithmetic); here narrow layers become one
    broadcast multiply and wide ones one ``baddbmm``/``matmul`` per layer.
    """
    h = x  # (R, in) shared until the first layer gives every parameter set its own copy
    for name, layer in model.named_children():
        if isinstance(layer, nn.Linear):
            w = params[f"{name}.weight"]  # (K, out, in)
            b = params.get(f"{name}.bias")  # (K, out) or None
            if h.dim() == 2:
                # Shared rows: one GEMM for all K parameter sets, [W b] @ [x 1]^T. Several times faster
                # than K small products or broadcast multiplies.
                k, out_f = w.shape[0], w.shape[1]
                if b is not None:
                    w = torch.cat([w, b[:, :, None]], 2)
                    h = torch.cat([h, h.new_ones(len(h), 1)], 1)
                if out_f == 1:  # (K, R) rows: contiguous as (K, R, 1) for the elementwise work after
                    h = (w.reshape(k, -1) @ h.T).view(k, len(h), 1)
                else:  # (R, K*out) viewed as (K, R, out): measured 3x faster than the other layout here
                    h = (h @ w.reshape(k * out_f, -1).T).view(len(h), k, out_f).transpose(0, 1)
                continue
            if layer.in_features <= _SMALL_INNER:
                out = h[:, :, :1] * w[:, None, :, 0]
                for i in range(1, layer.in_features):
                    out = out + h[:, :, i:i + 1] * w[:, None, :, i]
                h = out if b is None else out + b[:, None, :]
            else:
                h = torch.bmm(h, w.transpose(1, 2)) if b is None else torch.baddbmm(b[:, None, :], h, w.transpose(1, 2))
        else:
            fn = _ELEMENTWISE[type(layer)]
            h = layer(h) if fn is None or h is x else fn(h)  # never write into the caller's rows
    if h.dim() == 2:  # a model with no Linear layer: the same output for every parameter set
        h = h.unsqueeze(0).expand(next(iter(params.values())).shape[0], *h.shape)
    return h


class Evaluator:
    """``evaluator(thetas)`` -> loss of each flat parameter vector (rows of ``thetas``) on (x, y).

    Work is cut into passes of K parameter vectors x R data rows. K * R is held near ``PASS_ELEMENTS``
    activations per layer: large enough that per-call overhead vanishes, small enough that temporaries
    are reused from the heap instead of being mapped fresh (page faults cost more than the arithmetic
    for small models) and stay near the cache. The memory bound caps it further.
    """

    PASS_ELEMENTS = 1 << 22
    PER_POINT_ELEMENTS = 1 << 16  # activations per point over all rows above which points go one by one
    NATIVE_CHUNK = 256  # points per kernel call: small enough to share among threads, large enough to amortise

    def __init__(self, model: nn.Module, loss: Loss, x, y, memory_mb: float = 256.0, device: str = "cpu",
                 native: bool = True, metrics=()):
        """``x, y``: the evaluation rows as arrays, or (a scene.LoaderData, None) to stream a DataLoader's
        batches (held once when it evaluates a bounded number of them). ``metrics``: scene.metrics.Metric
        objects measured in the same pass over the rows; each point then gives (loss, *metrics)."""
        self.metrics = list(metrics)
        # The fused C kernel counts the rows classified right beside cross-entropy in its pass (accuracy,
        # error); any other metric, or a metric beside another loss, goes the torch way.
        if self.metrics and (loss.name != "cross_entropy" or any(m.share is None for m in self.metrics)):
            native = False
        self.model = copy.deepcopy(model).to(device).eval()
        self.space = ParamSpace(self.model)
        self.buffers = {k: v.detach() for k, v in self.model.named_buffers()}
        self.loss = loss
        self.device = device
        self.loader, self._held = (x, None) if y is None else (None, None)
        if self.loader is not None:
            if loss.batch is not None:
                raise SceneError("loss", f"a loss not defined by its own batches ({loss.name}) with a DataLoader")
            first = next(iter(self.loader.batches()), None)
            if first is None:
                raise SceneError("data", "a DataLoader that yields batches", "none")
            x, y = first
            if self.loader.eval_batches:
                self._held = [(a.to(device), b.to(device)) for a, b in self.loader.batches()]
                held = sum(a.numel() * a.element_size() + b.numel() * b.element_size() for a, b in self._held)
                if held > memory_mb * 2**20 / 2:
                    raise SceneError("eval_batches", f"batches that fit half of memory_mb={memory_mb:g}",
                                     f"{held / 2**20:.0f} MB")
        self.x = torch.as_tensor(x).to(device)
        if not self.x.is_floating_point() and not takes_ids(model):
            self.x = self.x.float()  # integer features (the model's hook does this where it is called)
        self.y = torch.as_tensor(y).to(device)
        n = len(self.x)
        width = _activations_per_row(self.model, self.x)
        budget_elements = min(memory_mb * 2**20 / _BYTES_PER_ACTIVATION, self.PASS_ELEMENTS * (64 if device != "cpu" else 1))
        # Rows per pass: the whole set if a useful number of points still fits, else fewer; always whole
        # batches when the loss is defined per batch.
        # A model that is not a plain MLP runs under vmap over points when each point is little work; when
        # one point over the data is already a large pass, vmap's batched kernels lose to a plain loop
        # (measured: 131k activations a point, 0.45 vs 0.30 ms; a CNN on 270 images, 3.6 vs 2.6 ms; at 20k,
        # vmap wins 0.05 to 0.15), so points go one by one with as many rows as the bound allows.
        self.per_point = not stackable(self.model) and width * n >= self.PER_POINT_ELEMENTS
        per_pass = 1 if self.per_point else _MIN_CHUNK
        rows = int(max(1, min(n, budget_elements // (width * per_pass))))
        if loss.batch is not None:
            rows = max(loss.batch, rows // loss.batch * loss.batch)
        self.rows = rows
        self.chunk = int(max(1, budget_elements // (rows * width)))
        if self.per_point:
            self.chunk = min(self.chunk, 64)  # points per progress tick; they run one at a time anyway
            self._forward = self._one_by_one
        else:
            self._forward = (partial(stacked_forward, self.model) if stackable(self.model)
                             else vmap(self._predict, in_dims=(0, None)))
        # Plain MLPs on the CPU: the fused C kernel (native.py), one pass per parameter vector with every
        # layer, activation and the loss in registers; threads split the points (ctypes drops the GIL).
        self.native = native_kernel.for_model(self.model, loss.name, self.x, self.y) \
            if native and device == "cpu" and loss.batch is None and loss.rows is not None and self.loader is None \
            else None
        if self.native is not None:
            self.threads = max(1, torch.get_num_threads())
            self.chunk = int(max(1, min(self.NATIVE_CHUNK, memory_mb * 2**20 / (8 * self.space.size * self.threads))))
        self._metric_rows = [m.rows or _points_of(m.fn) for m in self.metrics]
        if loss.rows is not None:
            row_dims = self.y.dim() - 1
            self._loss_rows = self._loss_batches = partial(loss.rows, row_dims=row_dims)
        else:  # any callable: vmap over the points, or a loop where the callable does not vmap
            self._loss_rows = _points_of(loss.fn)  # (K, R, ...) vs (R, ...) -> (K,)
            self._loss_batches = vmap(vmap(loss.fn, in_dims=(0, 0)), in_dims=(0, None))  # -> (K, nb)

    def _predict(self, params, xb):
        return functional_call(self.model, (params, self.buffers), (xb,))

    def _one_by_one(self, params, xb):
        # Written into our own copy of the module (never the caller's): cheaper than functional_call's
        # swapping of every parameter and buffer at each call.
        k = next(iter(params.values())).shape[0]
        own = dict(self.model.named_parameters())
        out = []
        for i in range(k):
            for name, p in params.items():
                own[name].copy_(p[i])
            out.append(self.model(xb))
        return torch.stack(out)

    @torch.no_grad()
    def __call__(self, thetas: torch.Tensor | np.ndarray) -> np.ndarray:
        thetas = torch.as_tensor(thetas, dtype=torch.float32)
        starts = range(0, len(thetas), self.chunk)
        parts = self._map(lambda s: self._chunk(thetas[s:s + self.chunk].to(self.device)), starts)
        if not len(thetas):
            return np.empty((0, 1 + len(self.metrics)) if self.metrics else 0)
        return np.concatenate(list(parts))

    def _map(self, fn, items):
        """fn over items, yielded in order; on threads for the native kernel, which releases the GIL."""
        if self.native is None or self.threads == 1 or len(items) < 2:
            yield from map(fn, items)
            return
        with ThreadPoolExecutor(self.threads, thread_name_prefix="lossfilm-eval") as pool:
            yield from pool.map(fn, items)

    def _row_batches(self):
        """(x, y) pieces of at most ``rows`` rows: slices of the arrays, or the loader's batches."""
        if self.loader is None:
            for start in range(0, len(self.x), self.rows):
                yield self.x[start:start + self.rows], self.y[start:start + self.rows]
            return
        for xb, yb in self._held if self._held is not None else self.loader.batches():
            xb, yb = xb.to(self.device), yb.to(self.device)
            for start in range(0, len(xb), self.rows):
                yield xb[start:start + self.rows], yb[start:start + self.rows]

    def _chunk(self, thetas: torch.Tensor) -> np.ndarray:
        if self.native is not None and self.metrics:
            loss, right = self.native(thetas, hits=True)
            return np.column_stack([loss] + [m.from_share(right) for m in self.metrics])
        if self.native is not None:
            return self.native(thetas)
        params = self.space.unflatten(thetas)
        n = 0
        total = torch.zeros(len(thetas), dtype=torch.float64, device=self.device)
        measured = torch.zeros(len(self.metrics), len(thetas), dtype=torch.float64, device=self.device)
        batches = 0
        for xb, yb in self._row_batches():
            n += len(xb)
            pred = self._forward(params, xb)
            for j, rows in enumerate(self._metric_rows):  # a mean over these rows, weighted by their count
                measured[j] += rows(pred, yb).reshape(-1).double() * len(xb)
            b = self.loss.batch
            if b is None:
                total += self._loss_rows(pred, yb).double() * len(xb)
                continue
            # A loss defined per batch (the article's DataLoader): whole batches in one call, then the rest.
            full = len(xb) // b * b
            if full:
                k = pred.shape[0]
                per_batch = self._loss_batches(pred[:, :full].reshape(k, full // b, b, *pred.shape[2:]),
                                               yb[:full].reshape(full // b, b, *yb.shape[1:]))
                total += per_batch.double().sum(1)
                batches += full // b
            if full < len(xb):
                total += self._loss_rows(pred[:, full:], yb[full:]).double()
                batches += 1
        total /= batches if self.loss.mean_of_batches else n
        if self.metrics:
            return torch.cat([total[:, None], (measured / n).T], 1).cpu().numpy()
        return total.cpu().numpy()

    def over_plane(self, theta0: torch.Tensor, d1: torch.Tensor, d2: torch.Tensor,
                   alphas: np.ndarray, betas: np.ndarray, progress=None) -> np.ndarray:
        """Loss at theta0 + a*d1 + b*d2 for every (b, a): an array of shape (len(betas), len(alphas))."""
        a = torch.as_tensor(alphas, dtype=torch.float32)
        b = torch.as_tensor(betas, dtype=torch.float32)
        bb, aa = torch.meshgrid(b, a, indexing="ij")
        coords = torch.stack([aa.reshape(-1), bb.reshape(-1)], 1).to(self.device)
        theta0, d1, d2 = (t.to(self.device) for t in (theta0, d1, d2))
        out = np.empty((len(coords), 1 + len(self.metrics)) if self.metrics else len(coords), dtype=np.float64)

        def part(start):
            c = coords[start:start + self.chunk]
            with torch.no_grad():
                return self._chunk(theta0 + c[:, :1] * d1 + c[:, 1:] * d2)

        starts = range(0, len(coords), self.chunk)
        for start, values in zip(starts, self._map(part, starts)):
            out[start:start + len(values)] = values
            if progress is not None:
                progress(len(values))
        return out.reshape(len(betas), len(alphas), *out.shape[1:])


def _points_of(fn):
    """A loss over K stacked predictions against shared targets -> (K,): vmap, or (for a callable that
    vmap cannot batch: .item(), data-dependent branches) a loop over the points."""
    batched = vmap(fn, in_dims=(0, None))
    state = {"vmap": True}

    def call(pred, target):
        if state["vmap"]:
            try:
                return batched(pred, target).reshape(-1)
            except Exception:
                state["vmap"] = False
        return torch.stack([torch.as_tensor(fn(p, target)).reshape(()) for p in pred])

    return call


@dataclass
class PlaneJob:
    """A plane's grid to evaluate on a cluster: all a worker needs, sent to it once (``map_shared``);
    tasks are row ranges of the grid. No scene file travels: the model goes by value."""

    key: str
    model: nn.Module
    loss: object  # a name or the scene's callable
    x: object  # arrays, or a LoaderData (y None)
    y: object
    memory_mb: float
    theta0: np.ndarray
    d1: np.ndarray
    d2: np.ndarray
    alphas: np.ndarray
    betas: np.ndarray
    # An evolving film: one centre per surface, (K, P); the job's rows are then K blocks of len(betas).
    centres: np.ndarray | None = None
    # Evolve(refit=True): each surface's own directions too, (K, P) each.
    d1s: np.ndarray | None = None
    d2s: np.ndarray | None = None
    metrics: tuple = ()  # the scene's metric names or callables, measured in the same pass

    def metric_objects(self) -> list:
        from ..scene.metrics import get

        return [get(m) for m in self.metrics]

    def evaluator(self) -> Evaluator:
        """This job's evaluator, built once per process (a cluster worker gets many row ranges)."""
        ev = _evaluators.get(self.key)
        if ev is None:
            _evaluators.clear()
            ev = _evaluators[self.key] = Evaluator(self.model, losses.get(self.loss), self.x, self.y, self.memory_mb,
                                                   metrics=self.metric_objects())
        return ev

    @contextlib.contextmanager
    def evaluated_by(self, evaluator: Evaluator):
        """Rows of this job evaluated in this process use ``evaluator`` (already built for the paths)."""
        _evaluators.clear()
        _evaluators[self.key] = evaluator
        try:
            yield self
        finally:
            _evaluators.pop(self.key, None)


_evaluators: dict[str, Evaluator] = {}


def plane_rows(job: PlaneJob, rows: tuple[int, int], progress=None) -> np.ndarray:
    """Rows [start, stop) of the job's grid (betas by alphas). With several centres (an evolving film)
    the rows are the K grids one after another: row r is beta row r % nb of surface r // nb, so the K
    surfaces go to the workers (or a cluster) as rows do."""
    t = partial(torch.as_tensor, dtype=torch.float32)
    if job.centres is None:
        return job.evaluator().over_plane(t(job.theta0), t(job.d1), t(job.d2), job.alphas,
                                          job.betas[rows[0]:rows[1]], progress)
    nb, parts = len(job.betas), []
    for k in range(rows[0] // nb, (rows[1] - 1) // nb + 1):
        lo, hi = max(rows[0] - k * nb, 0), min(rows[1] - k * nb, nb)
        d1, d2 = (job.d1, job.d2) if job.d1s is None else (job.d1s[k], job.d2s[k])
        parts.append(job.evaluator().over_plane(t(job.centres[k]), t(d1), t(d2), job.alphas,
                                                job.betas[lo:hi], progress))
    return np.concatenate(parts, axis=0)
