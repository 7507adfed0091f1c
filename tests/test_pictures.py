"""Pictures a lecturer need not explain away: human names for the loss, the z axis's name clear of the legend."""
import dataclasses
from pathlib import Path

import pytest

from lossfilm.plan import loss_label, plan
from lossfilm.scene import Style
from lossfilm.scene_loader import load_scenes
from lossfilm.settings import Look

ROOT = Path(__file__).resolve().parents[1]


def _scene(name):
    return load_scenes(ROOT / "scenes" / f"{name}.py")[0]


def test_the_loss_has_a_human_name_by_default_and_can_be_renamed():
    assert loss_label(_scene("article")) == "test MSE"
    assert loss_label(_scene("article_as_published")) == "test MSE as published"
    assert loss_label(_scene("spirals_pca")) == "training cross-entropy"
    renamed = dataclasses.replace(_scene("article"), style=Style(loss_label="held-out error"))
    assert loss_label(renamed) == "held-out error"


@pytest.mark.parametrize("size", [(854, 480), (640, 360), (1080, 1080)])
def test_the_z_axis_name_never_covers_the_legend(cache_dir, size):
    from lossfilm.paint import Painter
    from lossfilm.plan import run_looks
    from lossfilm.studio import landscape_for

    scene = _scene("optimizer_race")
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    labels, colors = run_looks(scene)
    p = plan(land, scene.camera, 8, labels, colors, loss_label(scene))
    painter = Painter(land, p, dataclasses.replace(scene.style, z_label="a long name for the z axis"), Look(*size, 30))
    (legend,) = painter.static.boxes
    for i in range(8):
        painter.paint(i)
        l, t, r, b = painter.axes.z_name_box
        assert r <= legend[0] or l >= legend[2] or b <= legend[1] or t >= legend[3], (i, painter.axes.z_name_box, legend)


@pytest.mark.parametrize("cmap", ["magma", "viridis", "plasma", "cividis", "inferno", "gray", "Greys"])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_both_ends_of_the_colour_map_stand_out_from_the_background(cmap, theme):
    import matplotlib

    from lossfilm.paint import MIN_CONTRAST, THEMES, contrast, contrasting

    bg = THEMES[theme]["bg"]
    trimmed = contrasting(matplotlib.colormaps[cmap], bg)
    assert contrast(trimmed(0.0), bg) >= MIN_CONTRAST and contrast(trimmed(1.0), bg) >= MIN_CONTRAST


def test_a_run_that_leaves_the_map_is_noted_and_ends_in_its_own_marker(cache_dir):
    from lossfilm.paint import Painter
    from lossfilm.plan import run_looks
    from lossfilm.studio import landscape_for, off_the_map

    scene = _scene("optimizer_race")
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    labels, colors = run_looks(scene)
    notes = off_the_map(land, labels)
    assert len(notes) == 1 and "run 'RMSprop' leaves the map at step" in notes[0]
    painter = Painter(land, plan(land, scene.camera, 4, labels, colors), scene.style, Look(640, 360, 20))
    painter.paint(3)
    markers = {label: run[-1].get_marker() for label, run in zip(labels, painter.runs)}
    assert markers["RMSprop"] == "s" and markers["SGD"] == "o"


def test_the_loss_inset_ignores_a_diverged_runs_astronomic_losses():
    import numpy as np

    from lossfilm.landscape import Landscape, Trace
    from lossfilm.paint import Painter
    from lossfilm.scene import Camera

    a = np.linspace(-1, 1, 11)
    wild = Trace(np.array([0.0, 0.2, 0.4]), np.zeros(3), np.array([1.0, 5.0, 1.6e38]), np.zeros(0, np.int64), 2)
    calm = Trace(np.array([0.0, -0.1, -0.2]), np.zeros(3), np.array([1.0, 0.9, 0.8]), np.zeros(0, np.int64))
    land = Landscape(a, a, np.add.outer(a**2, a**2), [wild, calm], ("a", "b"), "mse", 1)
    painter = Painter(land, plan(land, Camera(), 4), Style(), Look(854, 480, 10))
    low, high = painter.curve.lines[0][1].axes.get_ylim()
    assert high < 2
