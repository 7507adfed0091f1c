"""Planes through weight space for any model: filter normalisation, PCA, projection, the evaluator on
MLPs and CNNs, and the new scenes rendered."""
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest
import torch
from torch import nn

from lossfilm import CustomPlane, models
from lossfilm.scene import losses
from lossfilm.compute.build import filter_normalized, pca_directions, plane_basis, project
from lossfilm.compute.evaluate import Evaluator, ParamSpace
from lossfilm.scene.loader import load_scenes
from lossfilm.studio import render

ROOT = Path(__file__).resolve().parents[1]


def _cnn():
    torch.manual_seed(0)
    model = models.tiny_cnn(channels=4, classes=3)()
    with torch.no_grad():  # non-trivial BatchNorm statistics, as after training
        for bn in (model.bn1, model.bn2):
            bn.running_mean.uniform_(-0.5, 0.5)
            bn.running_var.uniform_(0.5, 2.0)
    return model.eval()


def test_filter_normalisation_matches_each_filter_and_zeroes_biases():
    model = _cnn()
    space = ParamSpace(model)
    theta = space.flatten(model)
    d = filter_normalized(torch.randn(space.size, generator=torch.Generator().manual_seed(1)), theta, space, False)
    for name, shape, a, b in zip(space.names, space.shapes, space.offsets[:-1], space.offsets[1:]):
        dp, wp = d[a:b].reshape(shape), theta[a:b].reshape(shape)
        if len(shape) <= 1:
            assert (dp == 0).all(), name  # biases and BatchNorm weights ignored
        else:
            np.testing.assert_allclose(dp.reshape(shape[0], -1).norm(dim=1), wp.reshape(shape[0], -1).norm(dim=1),
                                       rtol=1e-5, err_msg=name)
    kept = filter_normalized(torch.randn(space.size), theta, space, keep_biases=True)
    i = space.names.index("conv1.bias")
    seg = slice(space.offsets[i], space.offsets[i + 1])
    assert kept[seg].norm() == pytest.approx(theta[seg].norm().item(), rel=1e-5)


@pytest.mark.parametrize("memory_mb,max_rows", [(256, 4096), (0.001, 4096), (0.001, 16)])
def test_pca_directions_are_orthonormal_and_recover_a_path_in_the_plane_exactly(memory_mb, max_rows, monkeypatch):
    """Exact SVD; the bounded Gram route in column blocks; and the same on a subsample of the path."""
    from lossfilm.compute import directions

    monkeypatch.setattr(directions, "PCA_MAX_ROWS", max_rows)
    rng = np.random.RandomState(0)
    u, v = np.linalg.qr(rng.randn(40, 2))[0].T
    t = np.linspace(0, 1, 60)
    final = rng.randn(40)
    a, b = 3 * (1 - t), np.sin(4 * t)  # a curve in a plane through the final point
    thetas = final + a[:, None] * u + b[:, None] * v
    d1, d2, explained = pca_directions(thetas, memory_mb)
    assert float(d1 @ d1) == pytest.approx(1, abs=1e-6) and float(d2 @ d2) == pytest.approx(1, abs=1e-6)
    assert float(d1 @ d2) == pytest.approx(0, abs=1e-6)
    assert explained.sum() == pytest.approx(1, abs=1e-6) and explained[0] >= explained[1]
    alpha, beta = project(thetas, torch.tensor(final, dtype=torch.float32), d1, d2, memory_mb)
    rebuilt = final + alpha[:, None] * d1.numpy() + beta[:, None] * d2.numpy()
    np.testing.assert_allclose(rebuilt, thetas, atol=1e-5)
    assert alpha[0] > 0 and beta[np.argmax(np.abs(beta))] != 0  # the sign convention: the start is positive


def test_custom_plane_from_named_arrays():
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1))
    space = ParamSpace(model)
    thetas = np.stack([space.flatten(model).numpy()] * 3)
    plane = CustomPlane({"0.weight": np.ones((3, 2))}, np.arange(space.size, dtype=float))
    theta0, d1, d2, labels, _ = plane_basis(plane, space, thetas)
    assert d1[:6].tolist() == [1.0] * 6 and d1[6:].abs().sum() == 0 and d2[5] == 5
    from lossfilm.errors import SceneError

    with pytest.raises(SceneError, match="plane.d1"):
        plane_basis(CustomPlane({"nope": [1]}, d2.numpy()), space, thetas)


def _loop(model, thetas, x, y, loss):
    """The peers' way: load each parameter vector into the module, run it, read the loss."""
    out = []
    for theta in thetas:
        torch.nn.utils.vector_to_parameters(torch.as_tensor(theta, dtype=torch.float32), model.parameters())
        with torch.no_grad():
            out.append(loss(model(torch.as_tensor(x)), torch.as_tensor(y)).item())
    return np.array(out)


@pytest.mark.parametrize("per_point", [1, 1 << 60], ids=["points one by one", "points under vmap"])
@pytest.mark.parametrize("build", [lambda: nn.Sequential(nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, 3)), _cnn])
def test_evaluator_equals_a_naive_loop_on_an_mlp_and_a_cnn_with_batchnorm(build, per_point, monkeypatch):
    monkeypatch.setattr(Evaluator, "PER_POINT_ELEMENTS", per_point)
    model = build()
    cnn = isinstance(model, models.TinyCNN)
    rng = np.random.RandomState(0)
    x = rng.randn(40, 1, 12, 12).astype(np.float32) if cnn else rng.randn(50, 2).astype(np.float32)
    y = rng.randint(0, 3, len(x))
    space = ParamSpace(model)
    thetas = space.flatten(model).numpy() + 0.3 * rng.randn(12, space.size).astype(np.float32)
    expected = _loop(build(), thetas, x, y, nn.functional.cross_entropy)
    for memory_mb in (256, 0.002):  # a tiny bound forces many chunks and row batches: same numbers
        ev = Evaluator(model, losses.get("cross_entropy"), x, y, memory_mb=memory_mb, native=False)
        assert ev.per_point == (cnn and per_point == 1)  # MLPs take the stacked road either way
        np.testing.assert_allclose(ev(thetas), expected, rtol=2e-5, atol=1e-6)
    small = Evaluator(model, losses.get("cross_entropy"), x, y, memory_mb=0.002)
    assert small.chunk < len(thetas) and small.rows < len(x)
    # the caller's module is never touched
    np.testing.assert_array_equal(space.flatten(model).numpy(), ParamSpace(model).flatten(model).numpy())


def _path_pixels(frame, rgb):
    return int((np.abs(frame.astype(int) - np.array(rgb)).sum(-1) < 60).sum())


@pytest.mark.parametrize("name", ["spirals_pca", "mlp_random_plane", "tiny_cnn"])
def test_each_new_scene_renders_with_its_path_visible(name, tmp_path, cache_dir):
    import dataclasses

    scene = load_scenes(ROOT / "scenes" / f"{name}.py")[0]
    # a short run keeps the test quick; the plane, model and data are the scene's own
    scene = dataclasses.replace(scene, runs=[dataclasses.replace(scene.runs[0], epochs=max(2, scene.runs[0].epochs // 20))])
    result = render(scene, quality="low", formats=["mp4"], out=tmp_path, fps=4, duration=2, cache_dir=cache_dir)
    gen = imageio_ffmpeg.read_frames(result.outputs["mp4"])
    meta = next(gen)
    w, h = meta["size"]
    frames = [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]
    assert len(frames) == 8
    assert _path_pixels(frames[-1], (0xFF, 0x4D, 0x6D)) > 40


def test_a_path_larger_than_the_memory_bound_is_recorded_on_disk_with_the_same_numbers():
    import dataclasses

    from lossfilm.compute.build import compute, train

    scene = load_scenes(ROOT / "scenes" / "spirals_pca.py")[0]
    scene = dataclasses.replace(scene, runs=[dataclasses.replace(scene.runs[0], epochs=20)],
                                grid=dataclasses.replace(scene.grid, points=12))
    # 20 epochs x 9 batches x 303 parameters x 4 bytes = 220 kB of path, against a bound of 0.1 MB
    small = dataclasses.replace(scene, memory_mb=0.1)
    big, tight = train(scene, scene.runs[0]), train(small, small.runs[0])
    assert isinstance(tight.thetas, np.memmap) and not isinstance(big.thetas, np.memmap)
    np.testing.assert_array_equal(tight.thetas, big.thetas)
    a, b = compute(scene), compute(small)
    np.testing.assert_allclose(b.traces[0].alpha, a.traces[0].alpha, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(b.loss, a.loss, rtol=1e-5)
