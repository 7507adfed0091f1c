"""Landscapes of chosen parameters (a plane kind's params=): each kind lives in those coordinates only, the
others held at its centre. The subset Hessian against a dense Hessian of the subset, the subset's PCA
against numpy's SVD of those columns, the views through models, --json and the axis labels, bad input."""
import numpy as np
import pytest
import torch

from lossfilm import (Grid, HessianPlane, Interpolation, ModelsPlane, PCAPlane, RandomPlane, Run, Scene, datasets,
                      models)
from lossfilm.compute.build import compute, train
from lossfilm.compute.evaluate import ParamSpace
from lossfilm.errors import SceneError
from lossfilm.studio import landscape_for, render


def scene_with(plane, runs=None, model=None) -> Scene:
    return Scene(name="subset", data=datasets.spirals(n_per_class=40, seed=5),
                 model=model or models.mlp(inputs=2, hidden=(5,), outputs=3),
                 runs=runs or [Run("adam", lr=0.02, epochs=4, batch_size=30, label="Adam")],
                 plane=plane, grid=Grid(step=0.5), loss="cross_entropy", evaluate_on="train")


def _mask(scene, names):
    space = ParamSpace(scene.model())
    return space.restricted(names).mask.numpy()


def test_the_hessian_of_a_layer_agrees_with_the_dense_hessian_of_that_block(cache_dir):
    scene = scene_with(HessianPlane(params="2.*", steps=40))
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    mask = _mask(scene, ["2.weight", "2.bias"])
    theta = train(scene, scene.runs[0]).thetas[-1]
    model = scene.model()
    space = ParamSpace(model)
    x = torch.as_tensor(scene.data.x_train, dtype=torch.float64)
    y = torch.as_tensor(scene.data.y_train)
    model.double()

    def loss(t):
        params = {n: t[a:b].view(s) for n, s, a, b in zip(space.names, space.shapes, space.offsets[:-1],
                                                            space.offsets[1:])}
        return torch.nn.functional.cross_entropy(torch.func.functional_call(model, params, (x,)), y)

    h = torch.autograd.functional.hessian(loss, torch.as_tensor(theta, dtype=torch.float64)).numpy()
    block = np.sort(np.linalg.eigvalsh(h[np.ix_(mask, mask)]))[::-1]
    np.testing.assert_allclose(land.facts["eigenvalues"], block[:2], rtol=1e-4)
    d1, d2 = land.plane["d1"], land.plane["d2"]
    assert not d1[~mask].any() and not d2[~mask].any()
    assert land.facts["params"] == {"selection": "2.*", "names": ["2.weight", "2.bias"], "size": int(mask.sum()),
                                    "of": mask.size}
    assert all(label.endswith(" · 2.*") for label in land.axis_labels)


def test_random_and_pca_planes_live_in_the_chosen_coordinates(cache_dir):
    full = landscape_for(scene_with(RandomPlane(seed=3)), cache_dir=cache_dir)[0]
    scene = scene_with(RandomPlane(seed=3, params=["0.weight"]))
    part = landscape_for(scene, cache_dir=cache_dir)[0]
    mask = _mask(scene, ["0.weight"])
    # The same filter-normalised directions, with every other parameter held still.
    np.testing.assert_array_equal(part.plane["d1"], np.where(mask, full.plane["d1"], 0))
    assert part.axis_labels[0].endswith(" · 0.weight")
    pca = scene_with(PCAPlane(params=lambda name: name.startswith("0.")))
    land = landscape_for(pca, cache_dir=cache_dir)[0]
    mask = _mask(pca, ["0.weight", "0.bias"])
    path = train(pca, pca.runs[0]).thetas.astype(np.float64)[:, mask]
    _, _, vh = np.linalg.svd(path - path[-1], full_matrices=False)
    for k, d in enumerate((land.plane["d1"], land.plane["d2"])):
        assert not d[~mask].any()
        assert abs(abs(float(d[mask] @ vh[k])) - 1) < 1e-4
    assert land.facts["params"]["selection"] == "2 tensors"


def test_views_through_models_move_the_chosen_parameters_only(cache_dir):
    runs = [Run("adam", lr=0.02, epochs=3, batch_size=30, seed=s, label=f"s{s}") for s in (1, 2, 3)]
    scene = scene_with(ModelsPlane("s1", "s2", "s3", params="2.*"), runs=runs)
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    mask = _mask(scene, ["2.weight", "2.bias"])
    ends = [train(scene, r).thetas[-1].astype(np.float64) for r in runs]
    u = np.where(mask, ends[1] - ends[0], 0)
    assert land.facts["models"]["s2"] == pytest.approx([float(np.linalg.norm(u)), 0.0], rel=1e-5)
    assert not land.plane["d1"][~mask].any() and not land.plane["d2"][~mask].any()
    line = compute(scene_with(Interpolation("s1", "s2", params="0.*", extend=0.0, points_per_unit=4), runs=runs))
    assert not line.plane["d1"][~_mask(scene, ["0.weight", "0.bias"])].any()


@pytest.mark.parametrize("params,why", [
    ("blocks.*", "it picks no parameter"),
    (["0.weight", "nope"], "names of the model's parameters"),
    (lambda name: 1 / 0, "a predicate that takes a parameter's name"),
])
def test_a_selection_that_picks_nothing_is_refused_before_training(params, why):
    from lossfilm.compute.build import preflight

    with pytest.raises(SceneError, match=why) as err:
        preflight(scene_with(RandomPlane(params=params)))
    assert err.value.field == "plane.params"


def test_a_glob_of_buffers_only_is_refused_naming_them():
    from lossfilm.compute.build import preflight

    scene = Scene(name="cnn", data=datasets.bars(n=60, size=12, seed=0), model=models.tiny_cnn(channels=2),
                  runs=[Run(epochs=1)], plane=RandomPlane(params="*.running_*"), loss="cross_entropy")
    with pytest.raises(SceneError, match="only buffers") as err:
        preflight(scene)
    assert err.value.field == "plane.params"
    with pytest.raises(SceneError) as err:
        RandomPlane(params=3)
    assert err.value.field == "plane.params"


def test_the_command_line_reports_the_subset(tmp_path, cache_dir):
    scene = scene_with(RandomPlane(params="0.*"))
    result = render(scene, quality="low", formats=["png"], out=tmp_path, fps=4, duration=1, cache_dir=cache_dir)
    assert result.as_json()["params"]["names"] == ["0.weight", "0.bias"]
