"""The numbers: grid, paths and training against independent computations."""
import dataclasses
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from lossfilm import Grid
from lossfilm.scene import losses
from lossfilm.compute.build import build_model, compute, fit_axis, train
from lossfilm.compute.evaluate import Evaluator

SUB = np.array([-2.0, -1.35, -0.6, -0.05, 0.0, 0.4, 1.1, 1.95])


def _surface(scene, memory_mb=256.0):
    model = build_model(scene)
    ev = Evaluator(model, losses.get(scene.loss), scene.data.x_test, scene.data.y_test, memory_mb)
    theta0, d1, d2 = torch.zeros(2), torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    return ev.over_plane(theta0, d1, d2, SUB, SUB)


def test_grid_equals_a_per_point_loop_of_the_exact_mse(article):
    z = _surface(article)
    x = article.data.x_test[:, 0].astype(np.float64)
    y = article.data.y_test.astype(np.float64)
    for i, w2 in enumerate(SUB):
        for j, w1 in enumerate(SUB):
            exact = np.mean((w2 * np.tanh(w1 * x) - y) ** 2)
            assert z[i, j] == pytest.approx(exact, rel=1e-5), (w1, w2)


def _articles_published_loss(model, x, y):
    """The article's own evaluation: a DataLoader of 128, nn.MSELoss on (B, 1) vs (B,), mean of .item()."""
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=128)
    criterion = nn.MSELoss()
    values = []
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        for xb, yb in loader:
            values.append(criterion(model(xb), yb).item())
    return np.mean(values)


def test_as_published_equals_the_articles_broadcast_loss(article):
    scene = dataclasses.replace(article, loss="as_published")
    z = _surface(scene)
    model = build_model(scene)
    for i, w2 in enumerate(SUB[::2]):
        for j, w1 in enumerate(SUB[::2]):
            with torch.no_grad():
                model[0].weight.fill_(float(w1))
                model[2].weight.fill_(float(w2))
            expected = _articles_published_loss(model, scene.data.x_test, scene.data.y_test)
            assert z[2 * i, 2 * j] == pytest.approx(expected, rel=1e-5), (w1, w2)


def test_a_small_memory_bound_forces_chunking_and_gives_the_same_numbers(article):
    model = build_model(article)
    x, y = article.data.x_test, article.data.y_test
    grid = np.linspace(-2, 1.95, 30)
    theta0, d1, d2 = torch.zeros(2), torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    small = Evaluator(model, losses.get("mse"), x, y, memory_mb=0.02)
    big = Evaluator(model, losses.get("mse"), x, y)
    assert small.chunk < grid.size ** 2 and small.rows < len(x)
    np.testing.assert_allclose(small.over_plane(theta0, d1, d2, grid, grid),
                               big.over_plane(theta0, d1, d2, grid, grid), rtol=1e-6)


def test_stacked_mlp_path_equals_vmap_over_functional_call():
    from lossfilm.compute.evaluate import stackable

    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 2), nn.ReLU(), nn.Linear(2, 4))
    x, y = torch.randn(50, 3).numpy(), torch.randint(0, 4, (50,)).numpy()
    assert stackable(model)
    thetas = torch.randn(10, sum(p.numel() for p in model.parameters()))
    loss = losses.get("cross_entropy")
    fast = Evaluator(model, loss, x, y)(thetas)
    # independent: load each vector into the module and run it
    expected = []
    for theta in thetas:
        torch.nn.utils.vector_to_parameters(theta, model.parameters())
        with torch.no_grad():
            expected.append(torch.nn.functional.cross_entropy(model(torch.tensor(x)), torch.tensor(y)).item())
    np.testing.assert_allclose(fast, expected, rtol=1e-5)


def _articles_training(scene):
    """The article's loop: DataLoader(batch 128, no shuffle), broadcast nn.MSELoss, SGD lr 1e-2."""
    model = build_model(scene)
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(torch.tensor(scene.data.x_train), torch.tensor(scene.data.y_train)),
        batch_size=128, shuffle=False)
    opt = torch.optim.SGD(model.parameters(), lr=1e-2)
    criterion = nn.MSELoss()
    ends = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(25):
            for xb, yb in loader:
                opt.zero_grad()
                criterion(model(xb), yb).backward()
                opt.step()
            ends.append([model[0].weight.item(), model[2].weight.item()])
    return np.array(ends)


def test_training_as_published_reproduces_the_articles_epoch_end_weights(article):
    scene = dataclasses.replace(article, loss="as_published")
    thetas, epoch_ends, diverged, *_ = train(scene, scene.runs[0])
    assert diverged == -1
    assert thetas.shape == (25 * 55 + 1, 2)  # every step recorded, plus the start
    np.testing.assert_array_equal(epoch_ends, 55 * np.arange(1, 26))
    np.testing.assert_array_equal(thetas[0], [-1.0, -1.0])
    np.testing.assert_allclose(thetas[epoch_ends], _articles_training(scene), rtol=1e-5, atol=1e-6)
    assert thetas[-1] == pytest.approx([-0.125, 1.368], abs=2e-3)


def test_true_mse_training_leaves_the_articles_square_and_the_grid_grows_to_hold_it(article_landscape):
    trace = article_landscape.traces[0]
    assert (trace.alpha[-1], trace.beta[-1]) == pytest.approx((-2.21, -0.35), abs=0.01)
    a, b = article_landscape.alphas, article_landscape.betas
    assert a[0] < trace.alpha.min() and a[-1] > trace.alpha.max()
    assert b[0] <= trace.beta.min() and b[-1] >= trace.beta.max()
    # still the article's lattice: every article grid point is a grid point
    assert np.isclose(a[:, None], np.arange(-2, 2, 0.05)[None, :], atol=1e-9).any(0).all()
    # the surface is the path's loss where they meet (exact plane, grid point nearest the start)
    j, i = np.argmin(abs(a + 1)), np.argmin(abs(b + 1))
    assert article_landscape.loss[i, j] == pytest.approx(trace.loss[0], rel=1e-5)


def test_fit_axis_keeps_a_fixed_range_and_grows_on_the_lattice():
    path = np.array([-2.3, 0.5])
    fixed = fit_axis(-2, 2, 0.05, path, 0.1, grow=False)
    np.testing.assert_allclose(fixed, np.arange(-2, 2, 0.05), atol=1e-12)
    grown = fit_axis(-2, 2, 0.05, path, 0.1, grow=True)
    assert grown[0] <= -2.3 - 0.28 + 1e-9 and grown[-1] >= 1.95
    np.testing.assert_allclose(np.diff(grown), 0.05)


def test_a_diverging_run_stops_at_its_last_finite_point(article):
    scene = dataclasses.replace(article, runs=[dataclasses.replace(article.runs[0], lr=50.0, epochs=3)],
                                grid=Grid(step=0.2, fit="fixed"))
    with pytest.warns(RuntimeWarning, match="diverged"):
        landscape = compute(scene)
    trace = landscape.traces[0]
    assert trace.diverged_at >= 0 and trace.steps == trace.diverged_at
    assert np.isfinite(trace.alpha).all() and np.isfinite(trace.beta).all()


def test_same_scene_gives_identical_numbers_twice(article):
    scene = dataclasses.replace(article, runs=[dataclasses.replace(article.runs[0], epochs=2)])
    a, b = train(scene, scene.runs[0]), train(scene, scene.runs[0])
    np.testing.assert_array_equal(a.thetas, b.thetas)
