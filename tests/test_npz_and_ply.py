"""The numbers for other tools: the npz export (plain arrays and a JSON header) and the PLY mesh,
made from the computed numbers and read back with numpy and meshio."""
import json

import numpy as np
import pytest


def test_npz_round_trip_equals_the_cached_numbers_exactly(race, article_page):
    for result, land in ((race[1], race[2]), article_page):
        with np.load(result.outputs["npz"], allow_pickle=False) as z:
            head = json.loads(str(z["header"]))
            for name in ("alphas", "betas", "loss"):
                np.testing.assert_array_equal(z[name], getattr(land, name))
            for i, t in enumerate(land.traces):
                for part in ("alpha", "beta", "loss"):
                    np.testing.assert_array_equal(z[f"path{i}_{part}"], getattr(t, part))
                np.testing.assert_array_equal(z[f"path{i}_epoch_ends"], t.epoch_ends)
            assert set(head["arrays"]) == set(z.files) - {"header"}  # every array is named and described
    with np.load(race[1].outputs["npz"], allow_pickle=False) as z:
        np.testing.assert_array_equal(z["minima"], [[1.0, 1.0]])
        assert "theta0" not in z.files  # a surface has no weight space


def test_npz_holds_the_plane_and_it_reproduces_the_grid(article, article_page):
    """theta0 + alpha d1 + beta d2, put into the article's net by hand (numpy), gives the grid's loss."""
    result, land = article_page
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        theta0, d1, d2 = z["theta0"], z["d1"], z["d2"]
        alphas, betas, loss = z["alphas"], z["betas"], z["loss"]
    assert theta0.shape == d1.shape == d2.shape == (2,)
    x, y = article.data.x_test.reshape(-1).astype(np.float64), article.data.y_test.reshape(-1).astype(np.float64)
    for i, j in ((0, 0), (len(betas) // 2, len(alphas) // 3), (len(betas) - 1, len(alphas) - 1)):
        w1, w2 = theta0 + alphas[j] * d1 + betas[i] * d2
        mse = np.mean((y - w2 * np.tanh(w1 * x)) ** 2)
        assert loss[i, j] == pytest.approx(mse, rel=1e-4)


def test_the_mesh_has_the_grid_and_the_paths_and_meshio_reads_it(race):
    import meshio

    scene, result, land = race
    mesh = meshio.read(result.outputs["ply"])
    rows, cols = land.loss.shape
    path_points = sum(len(t.alpha) for t in land.traces)
    assert len(mesh.points) == rows * cols + path_points
    quads = mesh.cells_dict["quad"]
    assert quads.shape == ((rows - 1) * (cols - 1), 4)
    np.testing.assert_array_equal(quads[0], [0, 1, cols + 1, cols])  # grid point (i, j) is vertex i * cols + j
    np.testing.assert_allclose(mesh.points[:rows * cols, 0], np.tile(land.alphas, rows), rtol=1e-6)
    assert land.loss.min() > 0  # the grid misses (1, 1): every height has its logarithm
    np.testing.assert_allclose(mesh.points[:rows * cols, 2], np.log10(land.loss).ravel(), rtol=1e-5, atol=1e-5)
    segments = mesh.cells_dict["line"]
    assert len(segments) == path_points - len(land.traces)
    red = mesh.point_data["red"]
    assert red.dtype == np.uint8 and red[rows * cols] == 0xff  # the first run's colour, #ff4d6d
