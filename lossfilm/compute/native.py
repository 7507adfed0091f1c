"""The fused MLP loss kernel (mlp_kernel.c): built once per machine with the system C compiler, loaded
with ctypes, used by the evaluator for plain MLPs on the CPU. Without a compiler everything still works
through torch, only slower; ``LOSSFILM_NATIVE=0`` turns the kernel off.

The library is cached under the user's cache directory, keyed by the source, the flags, the compiler
and the CPU's instruction set (it is built with -march=native, so a home directory shared by different
cluster nodes gets one build per kind of CPU, never a library that would fault on another).
"""
from __future__ import annotations

import ctypes

import numpy as np
import torch
from torch import nn

from .._plumbing.cbuild import FLAGS, build

__code_files__ = ("mlp_kernel.c",)  # part of the computing code (the cache key's digest)
TILE = 16  # as in mlp_kernel.c
ACTIVATIONS = {nn.Tanh: 1, nn.ReLU: 2, nn.Sigmoid: 3, nn.Identity: 0, nn.Dropout: 0}
LOSSES = {"mse": 0, "cross_entropy": 1}

_lib: ctypes.CDLL | None = None
_tried = False
status = "not loaded"  # a word for reports: "built", "cached", "off", or why it is not in use


def load() -> ctypes.CDLL | None:
    """The kernel library, built if needed; None when it is switched off or cannot be built."""
    global _lib, _tried, status
    if _tried:
        return _lib
    _tried = True
    lib, status = build(__package__, "mlp_kernel.c", FLAGS)
    if lib is None:
        status += ": torch path"
        return None
    p = ctypes.c_void_p
    lib.mlp_loss.argtypes = [ctypes.c_long, ctypes.c_long, p, ctypes.c_int, p, p, p, p, ctypes.c_long, p,
                             ctypes.c_int, p, p, p, p, p]
    lib.mlp_loss.restype = ctypes.c_int
    _lib = lib
    return lib


def plan(model: nn.Module, loss_name: str) -> tuple | None:
    """The layer layout the kernel needs, or None if this model and loss are not a plain MLP it runs:
    an nn.Sequential of Linear layers, each followed by at most one of tanh, ReLU, sigmoid (dropout is
    off in eval mode), with mean squared error or cross-entropy."""
    if loss_name not in LOSSES or not isinstance(model, nn.Sequential):
        return None
    offsets, at = {}, 0
    for name, prm in model.named_parameters():
        offsets[name] = at
        at += prm.numel()
    dims, w_off, b_off, acts = [], [], [], []
    for name, m in model.named_children():
        if isinstance(m, nn.Linear):
            if not dims:
                dims.append(m.in_features)
            elif dims[-1] != m.in_features:
                return None
            dims.append(m.out_features)
            w_off.append(offsets[f"{name}.weight"])
            b_off.append(offsets[f"{name}.bias"] if m.bias is not None else -1)
            acts.append(0)
        elif type(m) in ACTIVATIONS and not list(m.parameters()):
            code = ACTIVATIONS[type(m)]
            if code:
                if not acts or acts[-1]:  # an activation before any layer, or two in a row
                    return None
                acts[-1] = code
        else:
            return None
    if not acts:
        return None
    return dims, w_off, b_off, acts


class MLPLoss:
    """``mlp_loss(thetas)`` -> mean loss (float64) of each row of ``thetas`` (K, P) on fixed data."""

    def __init__(self, lib: ctypes.CDLL, layout: tuple, loss_name: str, x: torch.Tensor, y: torch.Tensor):
        dims, w_off, b_off, acts = layout
        self.lib = lib
        n = len(x)
        rows = -(-n // TILE) * TILE
        self.n, self.rows, self.outputs = n, rows, dims[-1]
        self.dims = np.asarray(dims, np.int32)
        self.w_off = np.asarray(w_off, np.int64)
        self.b_off = np.asarray(b_off, np.int64)
        self.acts = np.asarray(acts, np.int32)
        self.loss = LOSSES[loss_name]
        xn = x.reshape(n, -1).cpu().numpy()
        if xn.shape[1] != dims[0]:
            raise ValueError("inputs do not match the first layer")
        xt = np.zeros((dims[0], rows), np.float32)
        xt[:, :n] = xn.T
        self.x_t = xt
        self.weight = np.zeros(rows, np.float32)
        self.weight[:n] = 1.0
        self.y_t = np.zeros((1, 1), np.float32)
        self.cls = np.zeros(1, np.int32)
        yn = y.cpu().numpy()
        if self.loss == LOSSES["mse"]:
            # Mean over rows and outputs; (R,) targets pair with (R, 1) outputs, as in losses.mse.
            if yn.reshape(n, -1).shape[1] != dims[-1]:
                raise ValueError("targets do not match the model's outputs")
            self.y_t = np.zeros((dims[-1], rows), np.float32)
            self.y_t[:, :n] = yn.reshape(n, -1).T
            self.divisor = n * dims[-1]
        else:
            if yn.ndim != 1 or not np.issubdtype(yn.dtype, np.integer) or yn.min() < 0 or yn.max() >= dims[-1]:
                raise ValueError("cross-entropy needs class indices below the number of outputs")
            self.cls = np.zeros(rows, np.int32)
            self.cls[:n] = yn.astype(np.int32)
            self.divisor = n

    def __call__(self, thetas: torch.Tensor, hits: bool = False):
        """The mean loss of each row of ``thetas``; with ``hits`` (class targets only), also the share of
        rows whose largest output is their class, from the same pass: (loss, share)."""
        t = np.ascontiguousarray(thetas.detach().cpu().numpy(), dtype=np.float32)
        out = np.empty(len(t), np.float64)
        right = np.empty(len(t), np.float64) if hits else None
        ptr = lambda a: a.ctypes.data  # noqa: E731
        rc = self.lib.mlp_loss(len(t), t.shape[1], ptr(t), len(self.acts), ptr(self.dims), ptr(self.w_off),
                               ptr(self.b_off), ptr(self.acts), self.rows, ptr(self.x_t), self.loss,
                               ptr(self.y_t), ptr(self.cls), ptr(self.weight), ptr(out),
                               None if right is None else ptr(right))
        if rc:
            raise MemoryError("mlp_kernel: no scratch memory")
        return (out / self.divisor, right / self.n) if hits else out / self.divisor


def for_model(model: nn.Module, loss_name: str, x: torch.Tensor, y: torch.Tensor) -> MLPLoss | None:
    """The kernel for this model and loss, or None (another kind of model, or no kernel here)."""
    layout = plan(model, loss_name)
    if layout is None:
        return None
    lib = load()
    if lib is None:
        return None
    try:
        return MLPLoss(lib, layout, loss_name, x, y)
    except ValueError:
        return None
