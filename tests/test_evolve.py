"""Evolve: the surface recomputed through the weights of K moments of training, morphing in the film."""
import dataclasses

import numpy as np
import pytest
import torch

from lossfilm import Evolve, Grid, PCAPlane, RandomPlane, Run, Scene, Style, datasets, models
from lossfilm.compute.build import compute
from lossfilm.errors import SceneError
from lossfilm.studio import landscape_for, render

DATA = datasets.moons(n=240, seed=0)


def _scene(evolve=Evolve(every=5), center="final", **kw) -> Scene:
    base = dict(name="evolving", data=DATA, model=models.mlp(inputs=2, hidden=(6,), outputs=2),
                runs=[Run("sgd", lr=0.3, epochs=6, batch_size=45, options={"momentum": 0.9})],
                plane=RandomPlane(seed=3, center=center), grid=Grid(a=(-1, 1), b=(-1, 1), step=0.2, fit="fixed"),
                loss="cross_entropy", evaluate_on="train", evolve=evolve, duration=1.0, fps=8)
    base.update(kw)
    return Scene(**base)


def test_the_first_and_last_surfaces_are_the_still_surfaces_around_the_start_and_the_end():
    end = compute(_scene(center="final"))
    assert end.surfaces.shape == (len(end.surface_steps), 10, 10)
    np.testing.assert_array_equal(end.surface_steps, [0, 5, 10, 15, 20, 24])  # 24 steps: every 5, and the end
    still_end = compute(_scene(evolve=None, center="final"))
    np.testing.assert_allclose(end.surfaces[-1], still_end.loss, rtol=1e-5)
    np.testing.assert_array_equal(end.loss, end.surfaces[-1])
    start = compute(_scene(center="start"))
    still_start = compute(_scene(evolve=None, center="start"))
    np.testing.assert_allclose(start.surfaces[0], still_start.loss, rtol=1e-5)
    # The surfaces between really change: training moves the weights off the plane.
    assert np.abs(end.surfaces[0] - end.surfaces[-1]).max() > 0.05


def test_each_surface_passes_through_the_weights_of_its_moment_an_independent_evaluation():
    """Surface k at grid point (alpha, beta) is the loss at theta_k + (alpha - alpha_k) d1 + (beta - beta_k) d2,
    evaluated here with a plain forward pass; at the path's own point it is the path's loss."""
    scene = _scene()
    land = compute(scene)
    theta0, d1, d2 = (torch.as_tensor(land.plane[k], dtype=torch.float64) for k in ("theta0", "d1", "d2"))
    x, y = torch.as_tensor(DATA.x_train), torch.as_tensor(DATA.y_train)
    model = scene.model().double()
    trace = land.traces[0]
    # The recorded path, from the same seeded training.
    from lossfilm.compute.build import train

    thetas = torch.as_tensor(train(scene, scene.runs[0]).thetas, dtype=torch.float64)

    def loss_at(theta):
        torch.nn.utils.vector_to_parameters(theta, model.parameters())
        with torch.no_grad():
            return float(torch.nn.functional.cross_entropy(model(x.double()), y))

    for k, step in enumerate(land.surface_steps):
        ak, bk = trace.alpha[step], trace.beta[step]
        for i, j in ((0, 0), (3, 7), (9, 4)):
            theta = thetas[step] + (land.alphas[j] - ak) * d1 + (land.betas[i] - bk) * d2
            assert land.surfaces[k, i, j] == pytest.approx(loss_at(theta), rel=2e-4)
        assert loss_at(thetas[step]) == pytest.approx(trace.loss[step], rel=2e-4)
    assert theta0.shape == d1.shape


def test_morph_frames_lie_between_their_two_surfaces_and_the_path_stays_on_them():
    from lossfilm.plan import plan
    from lossfilm.settings import Look
    from lossfilm.paint.painter import Painter

    land = compute(_scene())
    frames = 24
    frame_plan = plan(land, _scene().camera, frames)
    at = frame_plan.surface_at
    assert at[0] == 0 and at[-1] == len(land.surface_steps) - 1 and np.all(np.diff(at) >= 0)
    painter = Painter(land, frame_plan, Style(), Look(320, 240, 20))
    heights = painter.morph.heights
    between = [i for i in range(frames) if 0 < at[i] % 1 < 1]
    assert between
    for i in between:
        painter.paint(i)
        k = int(at[i])
        lo, hi = np.minimum(heights[k], heights[k + 1]), np.maximum(heights[k], heights[k + 1])
        z = painter.field.z
        assert np.all(z >= lo - 1e-9) and np.all(z <= hi + 1e-9)
        assert not np.allclose(z, heights[k]) or np.allclose(heights[k], heights[k + 1])
        corners = painter.surface._corners[2]
        assert corners.min() >= lo.min() - 1e-9 and corners.max() <= hi.max() + 1e-9
    # At a moment the drawn surface is that moment's surface, and the head sits on it.
    k_frame = next(i for i in range(frames) if at[i] == int(at[i]) and at[i] > 0)
    painter.paint(k_frame)
    np.testing.assert_allclose(painter.field.z, heights[int(at[k_frame])])
    painter.close()


def test_an_evolving_film_renders_through_the_cache_with_its_moments_in_json(tmp_path, cli):
    scene = _scene()
    first = render(scene, formats=["mp4", "npz"], size=(320, 240), out=tmp_path, cache_dir=tmp_path / "cache")
    assert first.cache == "miss" and first.frames == 8
    assert first.facts["surface_steps"] == [0, 5, 10, 15, 20, 24]
    again, cache = landscape_for(scene, cache_dir=tmp_path / "cache")
    assert cache == "hit"
    np.testing.assert_array_equal(again.surfaces, compute(scene).surfaces)
    with np.load(first.outputs["npz"], allow_pickle=False) as z:
        assert z["surfaces"].shape == (6, 10, 10)
        np.testing.assert_array_equal(z["surface_steps"], [0, 5, 10, 15, 20, 24])
    # The still scene of the same numbers is another cache entry.
    assert landscape_for(dataclasses.replace(scene, evolve=None), cache_dir=tmp_path / "cache")[1] == "miss"


def test_bad_evolve_input_names_the_field():
    with pytest.raises(SceneError, match=r"evolve\.surfaces: expected an integer >= 2, got 0"):
        Evolve(surfaces=0)
    with pytest.raises(SceneError, match=r"evolve\.surfaces: expected at most 60 surfaces"):
        Evolve(surfaces=61)
    with pytest.raises(SceneError, match=r"evolve\.every: expected an integer >= 1"):
        Evolve(every=0)
    with pytest.raises(SceneError, match="evolve: expected every= or surfaces=, not both"):
        Evolve(every=3, surfaces=4)
    # 24 steps every step: 25 surfaces, beyond a bound of 10; told when the scene is made, before training.
    with pytest.raises(SceneError, match=r"evolve\.every: expected at most 10 surfaces .* gives 25 over 24 steps"):
        _scene(evolve=Evolve(every=1, max_surfaces=10))
    with pytest.raises(SceneError, match="evolve: expected a network's scene"):
        from lossfilm import surfaces

        Scene(name="s", surface=surfaces.booth(), start=(1, 1), evolve=Evolve())
    with pytest.raises(SceneError, match="evolve: expected a plane with fixed directions"):
        from lossfilm import Interpolation

        _scene(runs=[Run(label="a"), Run(label="b", seed=2)], plane=Interpolation("a", "b"))
    with pytest.raises(SceneError, match="evolve: expected a lossfilm Evolve"):
        _scene(evolve=5)


def test_bad_evolve_input_exits_2_from_a_scene_file(rejected):
    done = rejected("too_many", "from lossfilm import *\nfrom lossfilm import datasets, models\n"
                                "scene = Scene(name='too_many', data=datasets.moons(n=200), model=models.mlp(2, (4,), 2),"
                                " runs=[Run(epochs=30, batch_size=10)], loss='cross_entropy', plane=PCAPlane(),"
                                " evolve=Evolve(every=1))\n")
    assert "evolve.every: expected at most 60 surfaces" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_every_epoch_is_the_default():
    land = compute(_scene(evolve=Evolve(), plane=PCAPlane(), grid=Grid.around_paths(points=6)))
    np.testing.assert_array_equal(land.surface_steps, [0, 4, 8, 12, 16, 20, 24])  # 4 batches an epoch


def test_with_z_follows_each_moment_fills_the_box_and_the_z_axis_tells_its_own_range():
    from lossfilm.paint.painter import Painter
    from lossfilm.paint.colors import robust_range
    from lossfilm.plan import plan
    from lossfilm.settings import Look

    land = compute(_scene())
    frame_plan = plan(land, _scene().camera, 24)
    painter = Painter(land, frame_plan, Style(z_follows=True), Look(320, 240, 20))
    zlo, zhi = painter.axes.zrange
    for i in (0, 23):
        painter.paint(i)
        k = int(frame_plan.surface_at[i])
        lo, hi = robust_range(land.surfaces[k])
        # The surface spans the box (its own lowest point at the bottom, its top at the top) ...
        assert painter.field.z.min() == pytest.approx(zlo, abs=0.05 * (zhi - zlo))
        # ... and each tick is a value of this surface at the height it is drawn.
        values = [float(s_.replace("\u2212", "-")) for s_ in (t for t in painter.axes.tick_texts)]
        assert values and all(lo - 1e-9 <= v <= hi + 1e-9 for v in values)
        for (h, _), v in zip(painter.axes.zticks, values):
            assert h == pytest.approx(zlo + (v - lo) / (hi - lo) * (zhi - zlo))
    assert np.ptp(land.surfaces[0]) > 2 * np.ptp(land.surfaces[-1]) or np.ptp(land.surfaces[-1]) > 2 * np.ptp(land.surfaces[0])
    painter.close()
    with pytest.raises(SceneError, match="style.z_follows: expected False with z_range= or colorbar=True"):
        Style(z_follows=True, colorbar=True)


def test_refitted_planes_are_each_moments_own_and_the_path_moves_between_its_projections():
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.settings import Look

    refit = compute(_scene(evolve=Evolve(every=5, refit=True)))
    # At the start: the plane filter-normalised against the start's weights, centred there, which is the
    # still scene centred at the start; at the end the still scene's own plane.
    np.testing.assert_allclose(refit.surfaces[0], compute(_scene(evolve=None, center="start")).loss, rtol=1e-5)
    np.testing.assert_allclose(refit.surfaces[-1], compute(_scene(evolve=None)).loss, rtol=1e-5)
    trace = refit.traces[0]
    assert trace.moment_alpha.shape == (6, 25)
    np.testing.assert_array_equal(trace.alpha, trace.moment_alpha[-1])
    for k, step in enumerate(refit.surface_steps):  # each moment's own weights are its plane's centre
        assert abs(trace.moment_alpha[k, step]) < 1e-4 and abs(trace.moment_beta[k, step]) < 1e-4
    frame_plan = plan(refit, _scene().camera, 24)
    painter = Painter(refit, frame_plan, Style(), Look(320, 240, 20))
    i = next(i for i in range(24) if 0.2 < frame_plan.surface_at[i] % 1 < 0.8)
    painter.paint(i)
    k, u = painter.morph.blend(frame_plan.surface_at[i])
    pts = painter.runs[0][1]
    np.testing.assert_allclose(pts[:, 0], (1 - u) * trace.moment_alpha[k] + u * trace.moment_alpha[k + 1])
    painter.close()
    with pytest.raises(SceneError, match="evolve.refit: expected a plane whose directions depend on the weights"):
        from lossfilm import WeightsPlane

        Scene(name="w", data=DATA, model=models.mlp(2, (2,), 2), plane=WeightsPlane("0.weight[0]", "0.weight[1]"),
              loss="cross_entropy", evolve=Evolve(every=5, refit=True))
