"""The researcher's instruments. Landscapes of chosen parameters (a plane kind's params=): each kind lives
in those coordinates only, the others held at its centre; the subset Hessian against a dense Hessian of
the subset, the subset's PCA against numpy's SVD of those columns, the views through models, --json and
the axis labels, bad input. Metrics beside the loss or as the height (metrics=, metric=): accuracy on
grid and path against a plain loop, a callable metric, the z label, the HUD, --json, bad input."""
import dataclasses

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


# --- metrics beside the loss, or as the height --------------------------------------------------------------

def _plain_accuracy(scene, theta, x, y) -> float:
    """Accuracy at a flat parameter vector by a plain loop: load the weights, run the model."""
    model = scene.model()
    ParamSpace(model).load(model, theta)
    with torch.no_grad():
        return 100.0 * float((model(torch.as_tensor(x)).argmax(-1) == torch.as_tensor(y)).float().mean())


def test_accuracy_beside_the_loss_agrees_with_a_plain_loop_on_grid_and_path(cache_dir):
    from lossfilm.compute.build import build_model

    scene = Scene(name="acc", data=datasets.spirals(n_per_class=40, seed=5), model=models.mlp(hidden=(8,)),
                  runs=[Run("adam", lr=0.03, epochs=5, batch_size=30, label="Adam")], plane=RandomPlane(seed=1),
                  grid=Grid(step=0.5), loss="cross_entropy", metrics=["accuracy", lambda out, y: out.abs().mean()])
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    assert list(land.metrics) == ["accuracy %", "<lambda>"] and land.loss_name == "cross_entropy"
    theta0, d1, d2 = (land.plane[k].astype(np.float64) for k in ("theta0", "d1", "d2"))
    x, y = scene.data.x_test, scene.data.y_test
    for i, j in [(0, 0), (3, 5), (len(land.betas) - 1, 2)]:
        theta = theta0 + land.alphas[j] * d1 + land.betas[i] * d2
        assert land.metrics["accuracy %"][i, j] == pytest.approx(_plain_accuracy(scene, theta, x, y), abs=1e-3)
    thetas = train(scene, scene.runs[0]).thetas
    trace = land.traces[0]
    for s in (0, len(thetas) // 2, len(thetas) - 1):
        assert trace.metrics["accuracy %"][s] == pytest.approx(_plain_accuracy(scene, thetas[s], x, y), abs=1e-3)
        model = build_model(scene)
        ParamSpace(model).load(model, thetas[s])
        with torch.no_grad():
            want = float(model(torch.as_tensor(x)).abs().mean())
        assert trace.metrics["<lambda>"][s] == pytest.approx(want, rel=1e-4)
    again = landscape_for(scene, cache_dir=cache_dir)
    assert again[1] == "hit" and np.array_equal(again[0].metrics["accuracy %"], land.metrics["accuracy %"])


def test_a_metric_as_the_height_names_the_z_axis_and_keeps_the_loss_beside(tmp_path, cache_dir):
    scene = Scene(name="err", data=datasets.spirals(n_per_class=40, seed=5), model=models.mlp(hidden=(8,)),
                  runs=[Run("adam", lr=0.03, epochs=5, batch_size=30)], plane=RandomPlane(seed=1),
                  grid=Grid(step=0.5), loss="cross_entropy", metric="error", metrics=["accuracy"])
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    assert land.loss_name == "error %" and set(land.metrics) == {"cross_entropy", "accuracy %"}
    np.testing.assert_allclose(land.loss + land.metrics["accuracy %"], 100.0, atol=1e-3)
    result = render(scene, quality="low", formats=["png"], out=tmp_path, fps=4, duration=1, cache_dir=cache_dir)
    from lossfilm.pictures import view_of
    from lossfilm.settings import Options

    picture = view_of(scene, land, Options(quality="low", fps=4, duration=1).check().resolve(scene))[0]
    assert picture.plan.loss_label == "test error %"
    import re

    from lossfilm.plan import overlay_text

    short = overlay_text(land, picture.plan.steps[-1:], short=True)[0]  # a small frame's line names the metric
    assert short.endswith(f"  error {land.traces[0].loss[-1]:.1f}%")
    hud = re.search(r"   test error ([\d.]+)%   cross-entropy [\d.]+   accuracy ([\d.]+)%$", picture.plan.text[-1])
    assert hud and float(hud[1]) + float(hud[2]) == pytest.approx(100.0, abs=0.11), picture.plan.text[-1]
    assert set(result.as_json()["runs"][0]["metrics"]) == {"cross_entropy", "accuracy %"}


@pytest.mark.parametrize("changes,field,why", [
    ({"metrics": ["f1"]}, "metrics[0]", "one of accuracy, error"),
    ({"metric": 3}, "metric", "one of accuracy, error"),
    ({"metrics": [lambda out, y: out[0]]}, "metrics[0]", "finite scalar"),
    ({"metrics": [lambda out, y: 1 / 0]}, "metrics[0]", "ZeroDivisionError"),
])
def test_a_bad_metric_is_refused_before_training(changes, field, why):
    from lossfilm.compute.build import preflight

    with pytest.raises(SceneError, match=why) as err:
        preflight(scene_with(RandomPlane(), **{}) if not changes else Scene(
            name="bad", data=datasets.spirals(n_per_class=20, seed=5), model=models.mlp(hidden=(4,)),
            runs=[Run(epochs=1)], plane=RandomPlane(), loss="cross_entropy", **changes))
    assert err.value.field == field


def test_accuracy_needs_a_classification_scene():
    from lossfilm.compute.build import preflight

    scene = Scene(name="reg", data=datasets.piecewise(n=200, seed=1), model=models.article_net,
                  runs=[Run(epochs=1)], plane=RandomPlane(), metrics=["accuracy"])
    with pytest.raises(SceneError, match="classification scene") as err:
        preflight(scene)
    assert err.value.field == "metrics[0]"
    with pytest.raises(SceneError) as err:
        Scene(name="s", surface=__import__("lossfilm").surfaces.rosenbrock(), start=(-1, 1), metric="accuracy")
    assert err.value.field == "metric"


def test_the_c_kernel_counts_right_rows_as_torch_does_ties_included():
    from lossfilm.compute.build import build_model
    from lossfilm.compute.evaluate import Evaluator
    from lossfilm.scene import losses
    from lossfilm.scene.metrics import get

    scene = scene_with(RandomPlane())
    model = build_model(scene)
    x, y = scene.data.x_test, scene.data.y_test
    metrics = [get("accuracy"), get("error")]
    fast = Evaluator(model, losses.get("cross_entropy"), x, y, metrics=metrics)
    plain = Evaluator(model, losses.get("cross_entropy"), x, y, native=False, metrics=metrics)
    if fast.native is None:
        pytest.skip("no C compiler here: the torch path is the only one")
    gen = torch.Generator().manual_seed(0)
    size = ParamSpace(model).size
    thetas = torch.cat([torch.randn(20, size, generator=gen), torch.zeros(1, size)])  # zeros: every logit ties
    a, b = fast(thetas), plain(thetas)
    np.testing.assert_allclose(a[:, 0], b[:, 0], rtol=1e-5)
    np.testing.assert_allclose(a[:, 1:], b[:, 1:], atol=1e-4)
    assert a[-1, 1] == pytest.approx(100.0 * float((torch.as_tensor(y) == 0).float().mean()), abs=1e-4)


def test_an_interpolation_reports_each_metrics_barrier_on_both_splits(tmp_path, cache_dir):
    runs = [Run("adam", lr=0.03, epochs=4, batch_size=30, seed=s, label=f"s{s}") for s in (1, 2)]
    scene = Scene(name="line_acc", data=datasets.spirals(n_per_class=40, seed=5), model=models.mlp(hidden=(8,)),
                  runs=runs, plane=Interpolation("s1", "s2", extend=0.25, points_per_unit=10), loss="cross_entropy",
                  metrics=["accuracy", "error"])
    result = render(scene, quality="low", formats=["npz"], out=tmp_path, fps=4, duration=1, cache_dir=cache_dir)
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        ts, acc, err = z["alphas"], z["accuracy"], z["error"]
    a, b = (train(scene, r).thetas[-1].astype(np.float64) for r in runs)
    splits = [(scene.data.x_test, scene.data.y_test), (scene.data.x_train, scene.data.y_train)]
    for k in (0, 3, len(ts) - 1):  # the rows against a plain loop, on both splits
        theta = (1 - ts[k]) * a + ts[k] * b
        for row, (x, y) in enumerate(splits):
            assert acc[row, k] == pytest.approx(_plain_accuracy(scene, theta, x, y), abs=1e-3)
    inside, ends = (ts >= 0) & (ts <= 1), [int(np.argmin(np.abs(ts))), int(np.argmin(np.abs(ts - 1)))]
    barriers = result.as_json()["barriers"]
    for row, split in enumerate(("test", "train")):
        assert barriers[f"{split} accuracy"] == pytest.approx(acc[row, ends].min() - acc[row, inside].min(), abs=1e-9)
        assert barriers[f"{split} error"] == pytest.approx(err[row, inside].max() - err[row, ends].max(), abs=1e-9)
        assert barriers[f"{split} accuracy"] == pytest.approx(barriers[f"{split} error"], abs=1e-3)
    with pytest.raises(SceneError) as bad:
        dataclasses.replace(scene, metric="accuracy", metrics=())
    assert bad.value.field == "metric"
