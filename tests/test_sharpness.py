"""Sharpness along training (Scene(track=Sharpness(...))): the top Hessian eigenvalues against a dense
Hessian of the same loss, Hutchinson's trace against the dense trace within its standard error, the
moments, --json, npz, the cache, the inset's curve, and bad input."""
import dataclasses
import json

import numpy as np
import pytest
import torch

from lossfilm import Grid, RandomPlane, Run, Scene, Sharpness, datasets, models, surfaces
from lossfilm.errors import SceneError
from lossfilm.studio import landscape_for, render


def tiny(**track) -> Scene:
    data = datasets.spirals(n_per_class=40, seed=3)
    return Scene(name="sharp", data=data, model=models.mlp(inputs=2, hidden=(6,), outputs=3),
                 runs=[Run("sgd", lr=0.3, epochs=6, batch_size=40, label="SGD"),
                       Run("sgd", lr=0.1, epochs=6, batch_size=40, options={"momentum": 0.9}, label="Momentum")],
                 plane=RandomPlane(), grid=Grid(step=0.25), loss="cross_entropy", evaluate_on="train",
                 track=Sharpness(**track))


@pytest.fixture(scope="module")
def computed(cache_dir):
    scene = tiny(every="epoch", k=2, trace=True, steps=60, probes=400)
    return scene, landscape_for(scene, cache_dir=cache_dir)[0]


def _dense(scene, thetas_row) -> np.ndarray:
    """The dense Hessian of the training cross-entropy at a flat parameter vector, by autograd."""
    from lossfilm.compute.build import build_model
    from lossfilm.compute.evaluate import ParamSpace

    model = build_model(scene)
    space = ParamSpace(model)
    x, y = torch.as_tensor(scene.data.x_train, dtype=torch.float64), torch.as_tensor(scene.data.y_train)

    def loss(theta):
        params = {n: theta[a:b].view(s) for n, s, a, b in zip(space.names, space.shapes, space.offsets[:-1],
                                                                space.offsets[1:])}
        return torch.nn.functional.cross_entropy(torch.func.functional_call(model, params, (x,)), y)

    theta = torch.as_tensor(thetas_row, dtype=torch.float64)
    model.double()
    return torch.autograd.functional.hessian(loss, theta).numpy()


def test_the_eigenvalues_and_the_trace_agree_with_a_dense_hessian(computed):
    from lossfilm.compute.build import train

    scene, land = computed
    record = train(scene, scene.runs[0])
    rows = land.traces[0].sharpness
    assert rows[:, 0].tolist() == [0, *land.traces[0].epoch_ends.tolist()]  # the start and each epoch's end
    for row in rows[[0, 3, -1]]:
        h = _dense(scene, record.thetas[int(row[0])])
        eig = np.sort(np.linalg.eigvalsh(h))[::-1]
        np.testing.assert_allclose(row[1:3], eig[:2], rtol=1e-4)
        trace, se = row[3], row[4]
        assert abs(trace - np.trace(h)) < 4 * se, (trace, np.trace(h), se)
        assert se < 0.5 * abs(np.trace(h)) + 1e-3


def test_every_n_steps_and_the_edge_of_stability_facts(cache_dir):
    scene = tiny(every=5)
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    steps = land.traces[0].steps
    assert land.traces[0].sharpness[:, 0].tolist() == [*range(0, steps + 1, 5)] + ([steps] if steps % 5 else [])
    facts = land.facts["sharpness"]
    assert facts["columns"] == ["step", "lambda1"] and facts["products_per_moment"] == 20
    assert facts["edges"] == [pytest.approx(2 / 0.3), None]  # plain SGD only: momentum moves the edge
    again = landscape_for(scene, cache_dir=cache_dir)
    assert again[1] == "hit" and np.array_equal(again[0].traces[1].sharpness, land.traces[1].sharpness)


def test_json_npz_and_the_inset_carry_it(cache_dir, tmp_path):
    scene = tiny(every="epoch")
    result = render(scene, quality="low", formats=["npz", "png"], out=tmp_path, fps=4, duration=1,
                    cache_dir=cache_dir)
    report = json.loads(json.dumps(result.as_json()))
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    first = report["runs"][0]["sharpness"]
    assert [r[0] for r in first] == [0, *land.traces[0].epoch_ends.tolist()]
    np.testing.assert_allclose([r[1] for r in first], land.traces[0].sharpness[:, 1], rtol=1e-5)
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        np.testing.assert_allclose(z["path1_sharpness"], land.traces[1].sharpness_by_step())
        assert "lambda1" in json.loads(str(z["header"]))["arrays"]["path1_sharpness"]
    from lossfilm.pictures import view_of
    from lossfilm.settings import Options

    picture = view_of(scene, land, Options(quality="low", fps=4, duration=1).check().resolve(scene))[0]
    painter = picture.painter()
    painter.paint(len(picture.plan) - 1)
    (trace, line), _ = painter.curve.sharp_lines
    np.testing.assert_allclose(line.get_ydata(), trace.sharpness[:, 1])
    assert "inset sharpness" in painter.boxes
    painter.close()


@pytest.mark.parametrize("make,field", [
    (lambda: Scene(name="s", surface=surfaces.rosenbrock(), start=(-1, 1), track=Sharpness()), "track"),
    (lambda: tiny(every=0), "track.every"),
    (lambda: tiny(k=0), "track.k"),
    (lambda: tiny(trace="yes"), "track.trace"),
    (lambda: tiny(every=1, max_moments=10), "track.every"),
    (lambda: dataclasses.replace(tiny(), track="sharp"), "track"),
])
def test_bad_tracking_is_refused_naming_the_field(make, field):
    with pytest.raises(SceneError) as err:
        make()
    assert err.value.field == field
