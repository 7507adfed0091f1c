"""ModelsPlane: the plane through three runs' end points (Run(seed=) starts them apart) contains them
exactly, in orthonormal axes; bad planes exit 2 naming the field."""
import dataclasses

import numpy as np
import pytest
import torch

from lossfilm import Grid, ModelsPlane, Run, Scene, datasets, models
from lossfilm.errors import SceneError


def _scene(plane=None, seeds=(1, 2, 3), labels=("a", "b", "c")):
    return Scene(name="three", data=datasets.moons(n=300, seed=0), model=models.mlp(inputs=2, hidden=(8,), outputs=2),
                 runs=[Run("adam", lr=0.02, epochs=4, batch_size=64, seed=s, label=n) for s, n in zip(seeds, labels)],
                 plane=plane or ModelsPlane("a", "b", "c"), grid=Grid.around_paths(points=9), loss="cross_entropy",
                 duration=1)


def test_the_plane_holds_the_three_models_exactly(tmp_path):
    from lossfilm.compute import build_model, train
    from lossfilm.evaluate import Evaluator, ParamSpace
    from lossfilm import losses
    from lossfilm.studio import render

    scene = _scene()
    result = render(scene, quality="low", formats=["npz"], out=tmp_path, fps=4, cache_dir=tmp_path / "c")
    marks = result.as_json()["models"]
    assert list(marks) == ["a", "b", "c"] and marks["a"] == [0.0, 0.0] and marks["b"][1] == 0.0
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        theta0, d1, d2 = (z[k].astype(np.float64) for k in ("theta0", "d1", "d2"))
        ends = [(z[f"path{i}_alpha"][-1], z[f"path{i}_beta"][-1], z[f"path{i}_loss"][-1]) for i in range(3)]
        minima = z["minima"]
    assert abs(d1 @ d2) < 1e-6 and np.linalg.norm(d1) == pytest.approx(1) and np.linalg.norm(d2) == pytest.approx(1)
    np.testing.assert_allclose(minima, [marks[k] for k in "abc"], atol=1e-9)  # starred where the runs end
    model = build_model(scene).eval()
    evaluator = Evaluator(model, losses.get("cross_entropy"), scene.data.x_test, scene.data.y_test, 64.0, "cpu")
    for run, (alpha, beta, loss), name in zip(scene.runs, ends, "abc"):
        theta = train(scene, run).thetas[-1].astype(np.float64)  # trained again, independently
        again = theta0 + alpha * d1 + beta * d2
        np.testing.assert_allclose(again, theta, atol=1e-4 * max(1.0, np.abs(theta).max()))
        np.testing.assert_allclose([alpha, beta], marks[name], atol=1e-4)
        assert evaluator(again[None].astype(np.float32))[0] == pytest.approx(loss, rel=1e-4)
    assert ParamSpace(model).size == len(theta0)


def test_run_seed_starts_runs_apart_and_is_part_of_the_key():
    from lossfilm import cache
    from lossfilm.compute import train

    scene = _scene()
    first = [train(scene, r).thetas[0] for r in scene.runs]
    assert not np.allclose(first[0], first[1]) and not np.allclose(first[1], first[2])
    same = dataclasses.replace(scene.runs[0])
    assert np.array_equal(train(scene, same).thetas[-1], train(scene, scene.runs[0]).thetas[-1])
    other = dataclasses.replace(scene, runs=(dataclasses.replace(scene.runs[0], seed=9), *scene.runs[1:]))
    assert cache.key(other) != cache.key(scene)
    # Swapping two runs' labels changes which runs the plane goes through: a new key, never a stale hit.
    swapped = dataclasses.replace(scene, runs=(dataclasses.replace(scene.runs[0], label="b"),
                                               dataclasses.replace(scene.runs[1], label="a"), scene.runs[2]))
    assert cache.key(swapped) != cache.key(scene)


@pytest.mark.parametrize("make, field", [
    (lambda: _scene(ModelsPlane("a", "b", "nope")), "plane.c"),
    (lambda: _scene(labels=("a", "a", "c"), plane=ModelsPlane("a", "b", "c")), "plane.a"),
    (lambda: ModelsPlane("a", "a", "c"), "plane.b"),
])
def test_bad_planes_name_the_field(make, field):
    with pytest.raises(SceneError, match=field):
        make()


def test_two_identical_models_exit_2(rejected):
    done = rejected("same",
                    "from lossfilm import Grid, ModelsPlane, Run, Scene, datasets, models\n"
                    "runs = [Run('adam', lr=0.02, epochs=1, seed=s, label=n) for s, n in ((1, 'a'), (1, 'b'), (2, 'c'))]\n"
                    "scene = Scene(name='same', data=datasets.moons(n=200, seed=0),\n"
                    "              model=models.mlp(inputs=2, hidden=(4,), outputs=2), runs=runs,\n"
                    "              plane=ModelsPlane('a', 'b', 'c'), loss='cross_entropy', grid=Grid.around_paths(points=8))\n")
    assert "plane.b" in done.stderr and "same weights" in done.stderr
