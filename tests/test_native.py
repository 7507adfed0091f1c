"""The fused MLP kernel (lossfilm/mlp_kernel.c) against torch, and its fallbacks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from lossfilm._plumbing import cbuild
from lossfilm.scene import losses
from lossfilm.compute import native
from lossfilm.compute.evaluate import Evaluator, ParamSpace

needs_kernel = pytest.mark.skipif(native.load() is None, reason=f"no native kernel here: {native.status}")


def _torch_loss(model, thetas, x, y, loss_name):
    """Independent reference: load each vector into a copy of the module, run it in float64."""
    model = model.double().eval()
    out = []
    with torch.no_grad():
        for theta in thetas:
            torch.nn.utils.vector_to_parameters(torch.as_tensor(theta, dtype=torch.float64), model.parameters())
            pred = model(torch.as_tensor(x, dtype=torch.float64))
            if loss_name == "cross_entropy":
                out.append(nn.functional.cross_entropy(pred, torch.as_tensor(y).long()).item())
            else:
                out.append(((pred.reshape(len(x), -1) - torch.as_tensor(y, dtype=torch.float64).reshape(len(x), -1))
                            ** 2).mean().item())
    return np.array(out)


MODELS = {
    # (factory, loss): shapes that reach every code path: narrow last layers (fused pairs of 1-4
    # outputs), wide layers in blocks of four plus a remainder, odd and even input counts, no bias.
    "2-50-3 tanh, ce": (lambda: nn.Sequential(nn.Linear(2, 50), nn.Tanh(), nn.Linear(50, 3)), "cross_entropy"),
    "1-1-1 tanh no bias, mse": (lambda: nn.Sequential(nn.Linear(1, 1, bias=False), nn.Tanh(),
                                                       nn.Linear(1, 1, bias=False)), "mse"),
    "3-7-6-2 relu/sigmoid, ce": (lambda: nn.Sequential(nn.Linear(3, 7), nn.ReLU(), nn.Linear(7, 6), nn.Sigmoid(),
                                                        nn.Linear(6, 2)), "cross_entropy"),
    "5-9-5 sigmoid, mse 5 outputs": (lambda: nn.Sequential(nn.Linear(5, 9), nn.Sigmoid(), nn.Linear(9, 5)), "mse"),
    "4-8-8-4 tanh dropout, ce": (lambda: nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Dropout(0.5), nn.Linear(8, 8),
                                                        nn.Tanh(), nn.Linear(8, 4)), "cross_entropy"),
}


@needs_kernel
@pytest.mark.parametrize("name", list(MODELS))
def test_kernel_equals_float64_torch_on_every_layer_shape(name):
    build, loss_name = MODELS[name]
    torch.manual_seed(0)
    model = build()
    rng = np.random.RandomState(1)
    n = 37  # not a multiple of the 16-row tile: padding rows must not count
    inputs = model[0].in_features
    outputs = [m for m in model if isinstance(m, nn.Linear)][-1].out_features
    x = (2 * rng.randn(n, inputs)).astype(np.float32)
    y = rng.randint(0, outputs, n) if loss_name == "cross_entropy" else rng.randn(n, outputs).astype(np.float32)
    if outputs == 1:
        y = y[:, 0]  # (R,) targets pair with (R, 1) outputs
    space = ParamSpace(model)
    # Weights from small to large: saturated tanh and sigmoid, logit gaps of hundreds.
    scale = np.geomspace(0.1, 30, 24)[:, None].astype(np.float32)
    thetas = space.flatten(model).numpy() + scale * rng.randn(24, space.size).astype(np.float32)
    ev = Evaluator(model, losses.get(loss_name), x, y)
    assert ev.native is not None
    expected = _torch_loss(build(), thetas, x, y, loss_name)
    np.testing.assert_allclose(ev(thetas), expected, rtol=2e-5, atol=1e-6)
    torch_path = Evaluator(model, losses.get(loss_name), x, y, native=False)
    assert torch_path.native is None
    np.testing.assert_allclose(torch_path(thetas), expected, rtol=2e-5, atol=1e-6)


@needs_kernel
def test_kernel_over_a_plane_on_threads_equals_one_thread(monkeypatch):
    build, _ = MODELS["2-50-3 tanh, ce"]
    model = build()
    rng = np.random.RandomState(2)
    x, y = rng.randn(100, 2).astype(np.float32), rng.randint(0, 3, 100)
    space = ParamSpace(model)
    theta0, d1, d2 = space.flatten(model), torch.randn(space.size), torch.randn(space.size)
    grid = np.linspace(-1, 1, 23)
    one = Evaluator(model, losses.get("cross_entropy"), x, y)
    one.threads, one.chunk = 1, 7
    many = Evaluator(model, losses.get("cross_entropy"), x, y)
    many.threads, many.chunk = 3, 7  # several chunks per thread, the last one short
    ticks = []
    np.testing.assert_array_equal(many.over_plane(theta0, d1, d2, grid, grid, ticks.append),
                                  one.over_plane(theta0, d1, d2, grid, grid))
    assert sum(ticks) == grid.size ** 2


def test_models_and_losses_the_kernel_does_not_run_stay_on_torch():
    conv = nn.Sequential(nn.Conv2d(1, 2, 3), nn.Flatten(), nn.Linear(2, 2))
    assert native.plan(conv, "cross_entropy") is None
    mlp = nn.Sequential(nn.Linear(2, 4), nn.GELU(), nn.Linear(4, 1))
    assert native.plan(mlp, "mse") is None
    tanh = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    assert native.plan(tanh, "as_published") is None  # defined per batch of 128: the torch path does it
    assert native.plan(tanh, "mse") == ([2, 4, 1], [0, 12], [8, 16], [1, 0])


def test_without_a_compiler_or_with_the_switch_off_the_evaluator_uses_torch(monkeypatch, tmp_path):
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1))
    x, y = np.ones((5, 2), np.float32), np.zeros(5, np.float32)
    for setup in (lambda: monkeypatch.setenv("LOSSFILM_NATIVE", "0"),
                  lambda: monkeypatch.setattr(cbuild, "compiler", lambda: None)):
        monkeypatch.setattr(native, "_tried", False)
        monkeypatch.setattr(native, "_lib", None)
        setup()
        ev = Evaluator(model, losses.get("mse"), x, y)
        assert ev.native is None
        assert "torch" in native.status or "off" in native.status
        assert np.isfinite(ev(np.zeros((3, ParamSpace(model).size), np.float32))).all()
        monkeypatch.undo()


@needs_kernel
def test_the_library_is_built_once_and_then_loaded_from_the_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    for expected in ("built", "cached"):
        monkeypatch.setattr(native, "_tried", False)
        monkeypatch.setattr(native, "_lib", None)
        assert native.load() is not None and native.status == expected
    assert len(list((tmp_path / "lossfilm").glob("mlp_kernel-*.so"))) == 1
    assert not list((tmp_path / "lossfilm").glob("*.tmp*"))
