"""The flat view (Style(view="2d")): a map seen from above with the paths on it; a line's plot."""
import dataclasses

import numpy as np
import pytest

from lossfilm import Evolve, Grid, Interpolation, RandomPlane, Run, Scene, Style, datasets, models, surfaces
from lossfilm.compute.build import compute
from lossfilm.errors import SceneError
from lossfilm.paint.flat import FlatPainter
from lossfilm.plan import plan
from lossfilm.settings import Look
from lossfilm.studio import landscape_for, render

LOOK = Look(640, 360, 30)


def _rgb(frame) -> np.ndarray:
    return np.asarray(frame)[..., :3].astype(int)


def _near(img, color: str, tol: int = 40) -> np.ndarray:
    from matplotlib.colors import to_rgb

    return np.abs(img - np.round(np.array(to_rgb(color)) * 255)).sum(-1) < tol


def test_the_map_holds_the_surface_and_the_paths_grow_on_it():
    scene = Scene(name="flat", surface=surfaces.himmelblau(), start=(0.0, 0.0),
                  runs=[Run("sgd", lr=0.01, steps=80, color="#ff00ff")], style=Style(view="2d"))
    land, _ = landscape_for(scene, use_cache=False)
    frames = 12
    painter = FlatPainter(land, plan(land, scene.camera, frames, colors=["#ff00ff"]), scene.style, LOOK)
    first = _rgb(painter.paint(0)).copy()
    last = _rgb(painter.paint(frames - 1)).copy()
    assert first.shape == (360, 640, 3)
    # The path, in its colour, grows from nothing to a line across the map.
    assert _near(last, "#ff00ff").sum() > 5 * max(_near(first, "#ff00ff").sum(), 1)
    # The head sits where the run ended: the pixel under the projected end point is the run's colour.
    ax = painter.ax
    x, y = ax.transData.transform((land.traces[0].alpha[-1], land.traces[0].beta[-1]))
    row, col = int(round(360 - y)), int(round(x))
    assert _near(last[row - 2:row + 3, col - 2:col + 3], "#ff00ff", 60).any()
    # The map is the surface: a low minimum is dark (viridis' low end), the high corners bright.
    minimum = land.minima[0]
    mx, my = ax.transData.transform(minimum)
    corner_x, corner_y = ax.transData.transform((land.alphas[-1] - 0.05, land.betas[-1] - 0.05))
    dark = last[int(round(360 - my)) + 6, int(round(mx)) + 6].sum()
    bright = last[int(round(360 - corner_y)), int(round(corner_x))].sum()
    assert bright > dark + 150
    # Painting the same frame twice gives the same pixels (the background restores everything).
    np.testing.assert_array_equal(_rgb(painter.paint(frames - 1)), last)
    painter.close()


def test_an_interpolation_is_plotted_as_its_two_curves_with_the_barrier():
    data = datasets.moons(n=200, seed=0)
    scene = Scene(name="flat_line", data=data, model=models.mlp(2, (6,), 2),
                  runs=[Run("adam", lr=0.05, epochs=3, seed=1, label="a"), Run("adam", lr=0.05, epochs=3, seed=2, label="b")],
                  plane=Interpolation("a", "b", extend=0.25, points_per_unit=20), loss="cross_entropy",
                  style=Style(view="2d"))
    land = compute(scene)
    painter = FlatPainter(land, plan(land, scene.camera, 6), scene.style, LOOK)
    curves = [line for line in painter.ax.get_lines() if len(line.get_xdata()) == len(land.alphas)]
    assert len(curves) == 2
    for line, row in zip(curves, land.loss):
        np.testing.assert_allclose(line.get_ydata(), row)
    assert {t.get_text() for t in painter.ax.get_legend().get_texts()} == {"test", "training"}
    frame = _rgb(painter.paint(5))
    assert frame.std() > 10
    painter.close()


def test_an_evolving_map_lies_between_its_two_moments():
    scene = Scene(name="flat_evolving", data=datasets.moons(n=200, seed=0), model=models.mlp(2, (6,), 2),
                  runs=[Run("sgd", lr=0.3, epochs=5, batch_size=50)], plane=RandomPlane(seed=1),
                  grid=Grid(a=(-1, 1), b=(-1, 1), step=0.2, fit="fixed"), loss="cross_entropy",
                  evolve=Evolve(every=5), style=Style(view="2d"))
    land = compute(scene)
    frame_plan = plan(land, scene.camera, 20)
    painter = FlatPainter(land, frame_plan, scene.style, LOOK)
    i = next(i for i in range(20) if 0.2 < frame_plan.surface_at[i] % 1 < 0.8)
    painter.paint(i)
    k = int(frame_plan.surface_at[i])
    shown = np.asarray(painter.image.get_array())
    lo = np.minimum(painter.morph_grids[k], painter.morph_grids[k + 1])
    hi = np.maximum(painter.morph_grids[k], painter.morph_grids[k + 1])
    assert np.all(shown >= lo - 1e-9) and np.all(shown <= hi + 1e-9)
    painter.close()


def test_a_flat_film_renders_every_frame_and_a_bad_view_is_told(tmp_path):
    import imageio_ffmpeg

    scene = Scene(name="flat_film", surface=surfaces.rosenbrock(), start=(-1.5, 2.0),
                  runs=[Run("adam", lr=0.05, steps=100), Run("sgd", lr=1e-3, steps=100)],
                  style=Style(view="2d", zscale="log"), duration=1.0, fps=10)
    result = render(scene, formats=["mp4", "png"], size=(640, 360), out=tmp_path, use_cache=False, jobs=2)
    assert imageio_ffmpeg.count_frames_and_secs(result.outputs["mp4"])[0] == 10
    with pytest.raises(SceneError, match="style.view: expected '3d' or '2d', got 'top'"):
        Style(view="top")
    # A 2-D comparison is pixel for pixel its panels too.
    from lossfilm import Compare

    other = dataclasses.replace(scene, name="flat_film_b", runs=(Run("adam", lr=0.2, steps=100),))
    both = render(Compare([scene, other], shared_z=False), formats=["png"], size=(640, 360), out=tmp_path,
                  use_cache=False)
    assert both.frames == 10
