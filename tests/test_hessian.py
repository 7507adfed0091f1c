"""HessianPlane: the Hessian's top eigenpairs by Lanczos over Hessian-vector products, checked against
a dense Hessian; the plane through them in a film, with the eigenvalues in --json."""
import numpy as np
import pytest
import torch
from torch import nn

from lossfilm import HessianPlane, Run, Scene, datasets
from lossfilm.scene import losses
from lossfilm.errors import SceneError
from lossfilm.compute.evaluate import ParamSpace
from lossfilm.compute.hessian import lanczos, top_directions


def _mlp():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 3))  # 33 parameters


def _dense(model, space, loss, x, y, theta):
    from torch.func import functional_call

    def f(t):
        params = {n: t[a:b].view(s) for n, s, a, b in zip(space.names, space.shapes, space.offsets[:-1], space.offsets[1:])}
        return loss.fn(functional_call(model, params, (x,)), y)

    return torch.autograd.functional.hessian(f, theta).double().numpy()


def test_lanczos_matches_the_dense_hessian_on_a_small_model():
    model, loss = _mlp(), losses.get("cross_entropy")
    data = datasets.spirals(n_per_class=100, seed=1)
    x, y = torch.as_tensor(data.x_test), torch.as_tensor(data.y_test)
    space = ParamSpace(model)
    theta = space.flatten(model)
    H = _dense(model, space, loss, x, y, theta)
    dense_values, dense_vectors = np.linalg.eigh(H)
    order = np.argsort(dense_values)[::-1]
    values, vectors = top_directions(model, space, loss, (data.x_test, data.y_test), theta, (1, 2), steps=33, seed=0)
    np.testing.assert_allclose(values, dense_values[order[:2]], rtol=1e-3)
    for v, want in zip(vectors, dense_vectors[:, order[:2]].T):
        assert abs(float(v @ want)) == pytest.approx(1.0, abs=1e-3)  # the same direction up to sign
    # Fewer products than parameters still find the top pair (what the default 16 relies on).
    few, _ = top_directions(model, space, loss, (data.x_test, data.y_test), theta, (1, 2), steps=16, seed=0)
    np.testing.assert_allclose(few, dense_values[order[:2]], rtol=1e-3)


def test_lanczos_is_exact_on_a_known_matrix_and_seeded():
    rng = np.random.default_rng(0)
    Q, _ = np.linalg.qr(rng.normal(size=(12, 12)))
    spectrum = np.array([9.0, 5.0, 3.0] + [0.5] * 9)
    A = torch.as_tensor(Q @ np.diag(spectrum) @ Q.T)
    values, vectors = lanczos(lambda v: A @ v, 12, 3, steps=12, seed=4)
    np.testing.assert_allclose(values, [9, 5, 3], rtol=1e-9)
    again, _ = lanczos(lambda v: A @ v, 12, 3, steps=12, seed=4)
    np.testing.assert_array_equal(values, again)


def test_the_top_direction_is_more_curved_than_a_random_one():
    model, loss = _mlp(), losses.get("cross_entropy")
    data = datasets.spirals(n_per_class=100, seed=1)
    space = ParamSpace(model)
    theta = space.flatten(model)
    _, (v1, _) = top_directions(model, space, loss, (data.x_test, data.y_test), theta, (1, 2), steps=20, seed=0)
    r = torch.randn(space.size, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    r /= r.norm()
    from torch.func import functional_call

    def along(d, t):
        p = theta + t * torch.as_tensor(d, dtype=torch.float32)
        params = {n: p[a:b].view(s) for n, s, a, b in zip(space.names, space.shapes, space.offsets[:-1], space.offsets[1:])}
        return float(loss.fn(functional_call(model, params, (torch.as_tensor(data.x_test),)), torch.as_tensor(data.y_test)))

    h = 1e-2
    def curvature(d):
        return (along(d, h) - 2 * along(d, 0) + along(d, -h)) / h ** 2
    assert curvature(v1) > 3 * abs(curvature(r.numpy()))


def _scene(**plane):
    return Scene(name="hess", data=datasets.spirals(n_per_class=100, seed=0), model=lambda: _mlp(),
                 runs=[Run("adam", lr=0.02, epochs=3, batch_size=64)], plane=HessianPlane(**plane),
                 grid=__import__("lossfilm").Grid.around_paths(points=9), loss="cross_entropy", duration=1)


def test_a_film_on_the_hessian_plane_reports_its_eigenvalues(tmp_path):
    from lossfilm.studio import render

    result = render(_scene(), quality="low", formats=["npz"], out=tmp_path, fps=4, cache_dir=tmp_path / "c")
    values = result.as_json()["eigenvalues"]
    assert len(values) == 2 and values[0] >= values[1] > 0
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        d1, d2 = z["d1"], z["d2"]
        labels = __import__("json").loads(str(z["header"]))["axis_labels"]
    assert abs(float(d1 @ d2)) < 1e-4 and np.linalg.norm(d1) == pytest.approx(1, abs=1e-4)
    assert labels == [f"v1 (λ₁ = {values[0]:.3g})", f"v2 (λ₂ = {values[1]:.3g})"]  # the axes carry the eigenvalues
    cached = render(_scene(), quality="low", formats=["npz"], out=tmp_path / "again", fps=4, cache_dir=tmp_path / "c")
    assert cached.cache == "hit" and cached.as_json()["eigenvalues"] == values


@pytest.mark.parametrize("plane, field", [({"k": (1, 1)}, "plane.k"), ({"k": (0, 2)}, "plane.k"),
                                           ({"steps": 1}, "plane.steps"), ({"filter_normalize": "yes"}, "plane.filter_normalize")])
def test_bad_hessian_planes_name_the_field(plane, field):
    with pytest.raises(SceneError, match=field):
        HessianPlane(**plane)


def test_k_beyond_the_parameter_count_exits_2(rejected):
    done = rejected("big_k",
                    "from lossfilm import HessianPlane, Run, Scene, datasets, models\n"
                    "scene = Scene(name='big_k', data=datasets.piecewise(n=200, seed=0), model=models.article_net,\n"
                    "              runs=[Run(lr=0.01, epochs=1)], plane=HessianPlane(k=(1, 3)), duration=1)\n")
    assert "plane.k" in done.stderr and "2 parameters" in done.stderr
