"""Views through several models: ModelsPlane (the plane through three runs' end points, Run(seed=) starting
them apart) contains them exactly in orthonormal axes; Interpolation (the line between two) matches the
article's net computed by hand; bad views exit 2 naming the field."""
import dataclasses

import numpy as np
import pytest

from lossfilm import Grid, Interpolation, ModelsPlane, Run, Scene, datasets, models
from lossfilm.errors import SceneError


def _scene(plane=None, seeds=(1, 2, 3), labels=("a", "b", "c")):
    return Scene(name="three", data=datasets.moons(n=300, seed=0), model=models.mlp(inputs=2, hidden=(8,), outputs=2),
                 runs=[Run("adam", lr=0.02, epochs=4, batch_size=64, seed=s, label=n) for s, n in zip(seeds, labels)],
                 plane=plane or ModelsPlane("a", "b", "c"), grid=Grid.around_paths(points=9), loss="cross_entropy",
                 duration=1)


def test_the_plane_holds_the_three_models_exactly(tmp_path):
    from lossfilm.compute.build import build_model, train
    from lossfilm.compute.evaluate import Evaluator, ParamSpace
    from lossfilm.scene import losses
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
    from lossfilm.compute import cache
    from lossfilm.compute.build import train

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


def _line_scene(plane=None, seeds=(1, 2)):
    # The article's 1-1-1 tanh net from two random initialisations (no init=): two different minima.
    return Scene(name="line", data=datasets.piecewise(n=2000, seed=0), model=models.article_net,
                 runs=[Run("sgd", lr=0.05, epochs=3, seed=s, label=f"s{s}") for s in seeds],
                 plane=plane or Interpolation("s1", "s2", extend=0.5, points_per_unit=20), loss="mse", duration=1)


def test_the_line_holds_both_ends_and_matches_a_hand_computation(tmp_path):
    from lossfilm.compute.build import train
    from lossfilm.studio import render

    scene = _line_scene()
    result = render(scene, quality="low", formats=["npz"], out=tmp_path, fps=4, cache_dir=tmp_path / "c")
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        ts, loss = z["alphas"], z["loss"]
        ends = [z[f"path{i}_loss"][-1] for i in range(2)]
        t_end = [z[f"path{i}_alpha"][-1] for i in range(2)]
    assert ts[0] == pytest.approx(-0.5) and ts[-1] == pytest.approx(1.5) and loss.shape == (2, len(ts))
    assert 0.0 in ts and 1.0 in ts
    # t = 0 and t = 1 are the two runs' end points: their losses and their own projections.
    assert loss[0, ts == 0][0] == pytest.approx(ends[0], rel=1e-5)
    assert loss[0, ts == 1][0] == pytest.approx(ends[1], rel=1e-5)
    np.testing.assert_allclose(t_end, [0, 1], atol=1e-6)
    # Every sample against numpy: theta(t) = (1 - t) a + t b in w2 * tanh(w1 * x), on both splits.
    a, b = (train(scene, r).thetas[-1].astype(np.float64) for r in scene.runs)
    for row, (x, y) in enumerate([(scene.data.x_test, scene.data.y_test), (scene.data.x_train, scene.data.y_train)]):
        x, y = x.reshape(-1).astype(np.float64), y.reshape(-1).astype(np.float64)
        want = [np.mean((y - w2 * np.tanh(w1 * x)) ** 2) for w1, w2 in ((1 - t) * a + t * b for t in ts)]
        np.testing.assert_allclose(loss[row], want, rtol=1e-4)
    inside = (ts >= 0) & (ts <= 1)
    barrier = loss[0][inside].max() - max(ends)
    out = result.as_json()
    assert out["barrier"] == pytest.approx(barrier, rel=1e-6)
    assert ts[inside][np.argmax(loss[0][inside])] == pytest.approx(out["barrier_at"])
    assert any(n.startswith("barrier ") for n in result.notes)


@pytest.mark.parametrize("make, field", [
    (lambda: _scene(ModelsPlane("a", "b", "nope")), "plane.c"),
    (lambda: _scene(labels=("a", "a", "c"), plane=ModelsPlane("a", "b", "c")), "plane.a"),
    (lambda: ModelsPlane("a", "a", "c"), "plane.b"),
    (lambda: _line_scene(Interpolation("s1", "nope")), "plane.b"),
    (lambda: Interpolation("s1", "s1"), "plane.b"),
    (lambda: Interpolation("s1", "s2", extend=-1), "plane.extend"),
    (lambda: Interpolation("s1", "s2", points_per_unit=1), "plane.points_per_unit"),
])
def test_bad_views_name_the_field(make, field):
    with pytest.raises(SceneError, match=field):
        make()


@pytest.mark.parametrize("view", ["ModelsPlane('a', 'b', 'c')", "Interpolation('a', 'b')"])
def test_two_identical_models_exit_2(rejected, view):
    done = rejected("same",
                    "from lossfilm import Grid, Interpolation, ModelsPlane, Run, Scene, datasets, models\n"
                    "runs = [Run('adam', lr=0.02, epochs=1, seed=s, label=n) for s, n in ((1, 'a'), (1, 'b'), (2, 'c'))]\n"
                    "scene = Scene(name='same', data=datasets.moons(n=200, seed=0),\n"
                    "              model=models.mlp(inputs=2, hidden=(4,), outputs=2), runs=runs,\n"
                    f"              plane={view}, loss='cross_entropy', grid=Grid.around_paths(points=8))\n")
    assert "plane.b" in done.stderr and "same weights" in done.stderr


def test_the_camera_flies_along_the_line_seen_through_the_pictures_frame():
    from lossfilm import Camera, Move
    from lossfilm.compute.build import compute
    from lossfilm.paint.layout import overlaps
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.scene.view import Style
    from lossfilm.settings import Look

    camera = Camera(moves=(Move(1, zoom=1.8, focus=True, along=(-0.5, -0.5)), Move(4, along=(-0.5, 1.5)),
                           Move(1, zoom=1.0, focus=False)))
    frames = 30
    land = compute(_line_scene())
    frame_plan = plan(land, camera, frames)
    fp = frame_plan.focus_point
    # The focus point rides along t from -0.5 to 1.5 on the middle line during the flight, then stays.
    assert np.all(np.isnan(fp[:, 1]))
    flight = (np.arange(frames) / (frames - 1) >= 1 / 6) & (np.arange(frames) / (frames - 1) < 5 / 6)
    assert fp[flight, 0].min() >= -0.5 - 1e-9 and fp[flight, 0].max() <= 1.5 + 1e-9
    assert np.all(np.diff(fp[flight, 0]) >= 0) and fp[-1, 0] == pytest.approx(1.5)
    painter = Painter(land, frame_plan, Style(), Look(640, 360, 30))
    # Fitted at the widest zoom (the film is not shrunk to fit its closest view) ...
    left, top, right, bottom = painter.picture_box()
    assert right - left > 0.6 * 640 * 0.75
    # ... and zoomed in, the picture is drawn only inside its frame, which no text overlaps.
    band = painter.axes.clip
    assert band is not None
    for artist in painter.ax.get_children():
        assert artist.get_clip_on() and artist.get_clip_box() is not None
    mid = int(np.argmax(frame_plan.zoom))
    painter.paint(mid)
    for name, box in painter.text_boxes(mid).items():
        assert not overlaps(band, box), name
    # At the flight's middle the focus point (t = 0.5) is near the frame's centre of the picture's frame.
    i = int(np.argmin(np.abs(fp[:, 0] - 0.5) + np.where(flight, 0, 9)))
    painter.paint(i)
    f = painter.field
    from mpl_toolkits.mplot3d import proj3d

    z = float(f.height(np.array([fp[i, 0]]), np.array([0.5]))[0])
    px, py, _ = proj3d.proj_transform([fp[i, 0]], [0.5], [z], painter.ax.M)
    x, y = painter.ax.transData.transform((px[0], py[0]))
    band_x, band_y = (band[0] + band[2]) / 2, (band[1] + band[3]) / 2  # the middle of the picture's frame
    assert abs(x - band_x) < 0.08 * 640 and abs((360 - y) - band_y) < 0.1 * 360
    painter.close()
    with pytest.raises(SceneError, match="camera.moves.along: expected two points"):
        Move(1, along=(0.0,))


def test_the_barrier_is_in_the_hud_and_several_pairs_go_side_by_side(tmp_path):
    from lossfilm import Compare
    from lossfilm.studio import render

    first = _line_scene()
    second = dataclasses.replace(_line_scene(Interpolation("s3", "s4", extend=0.5, points_per_unit=20), seeds=(3, 4)),
                                 name="line_b")
    both = render(Compare([first, second], captions=["seeds 1 and 2", "seeds 3 and 4"]), formats=["png"],
                  size=(640, 360), out=tmp_path, fps=4, cache_dir=tmp_path / "c")
    barriers = [p["barrier"] for p in both.facts["panels"]]
    assert len(barriers) == 2 and barriers[0] != barriers[1]
    from lossfilm.compute.build import compute
    from lossfilm.plan import plan
    from lossfilm.pictures import view_of as _view
    from lossfilm.settings import Options

    land = compute(first)
    picture, notes, _, facts = _view(first, land, Options(fps=4).check().resolve(first))
    assert all(line.endswith(f"barrier {facts['barrier']:.3g} at t = {facts['barrier_at']:.2f}")
               for line in picture.plan.text)
    assert plan(land, first.camera, 4).text[0] != picture.plan.text[0]


def test_from_init_the_line_starts_at_the_runs_first_point_and_both_splits_have_their_barrier(tmp_path):
    """Interpolation("init:s1", "s1"): Goodfellow et al.'s line from a run's initial weights to its end; at
    t = 0 the loss is the run's first recorded loss, at t = 1 its last; "barriers" holds both splits'."""
    from lossfilm.compute.build import train
    from lossfilm.studio import render

    scene = _line_scene(Interpolation("init:s1", "s1", extend=0.25, points_per_unit=20))
    result = render(scene, quality="low", formats=["npz"], out=tmp_path, fps=4, cache_dir=tmp_path / "c")
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        ts, loss, path = z["alphas"], z["loss"], z["path0_loss"]
        t_path = z["path0_alpha"]
    assert loss[0, ts == 0][0] == pytest.approx(path[0], rel=1e-5)
    assert loss[0, ts == 1][0] == pytest.approx(path[-1], rel=1e-5)
    assert t_path[0] == pytest.approx(0, abs=1e-6) and t_path[-1] == pytest.approx(1, abs=1e-6)
    # Both rows against numpy, and each split's barrier from its own row.
    record = train(scene, scene.runs[0])
    a, b = record.thetas[0].astype(np.float64), record.thetas[-1].astype(np.float64)
    inside = (ts >= 0) & (ts <= 1)
    barriers = {}
    for row, (split, x, y) in enumerate([("test", scene.data.x_test, scene.data.y_test),
                                         ("train", scene.data.x_train, scene.data.y_train)]):
        x, y = x.reshape(-1).astype(np.float64), y.reshape(-1).astype(np.float64)
        want = np.array([np.mean((y - w2 * np.tanh(w1 * x)) ** 2) for w1, w2 in ((1 - t) * a + t * b for t in ts)])
        np.testing.assert_allclose(loss[row], want, rtol=1e-4)
        barriers[f"{split} loss"] = want[inside].max() - max(want[ts == 0][0], want[ts == 1][0])
    out = result.as_json()
    assert out["barriers"].keys() == barriers.keys()
    for key, value in barriers.items():
        assert out["barriers"][key] == pytest.approx(value, rel=1e-4, abs=1e-9)
    assert out["models"] == {"init:s1": [0.0, 0.0], "s1": [1.0, 0.0]}
    with pytest.raises(SceneError) as err:
        _line_scene(Interpolation("init:nope", "s1"))
    assert err.value.field == "plane.a"
