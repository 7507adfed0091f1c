"""Pictures a lecturer need not explain away: human names for the loss, the z axis's name clear of the legend."""
import dataclasses
from pathlib import Path

import pytest

from lossfilm.plan import loss_label, plan
from lossfilm.scene.view import Style
from lossfilm.scene.loader import load_scenes
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
@pytest.mark.parametrize("name", ["optimizer_race", "article"])
def test_a_long_z_axis_name_never_covers_the_text(cache_dir, size, name):
    from lossfilm.paint.layout import overlaps

    painter = _painter(cache_dir, name, size, frames=8,
                       style=dataclasses.replace(_scene(name).style, z_label="a long name for the z axis"))
    for i in range(8):
        painter.paint(i)
        boxes = painter.text_boxes(i)
        assert not any(overlaps(painter.axes.z_name_box, b) for b in boxes.values()), (i, painter.axes.z_name_box)
        l, _, r, _ = painter.axes.z_name_box
        assert l >= 0 and r <= size[0]


@pytest.mark.parametrize("cmap", ["magma", "viridis", "plasma", "cividis", "inferno", "gray", "Greys"])
@pytest.mark.parametrize("theme", ["dark", "light"])
def test_both_ends_of_the_colour_map_stand_out_from_the_background(cmap, theme):
    import matplotlib

    from lossfilm.paint.colors import MIN_CONTRAST, THEMES, contrast, contrasting

    bg = THEMES[theme]["bg"]
    trimmed = contrasting(matplotlib.colormaps[cmap], bg)
    assert contrast(trimmed(0.0), bg) >= MIN_CONTRAST and contrast(trimmed(1.0), bg) >= MIN_CONTRAST


def test_a_run_that_leaves_the_map_is_noted_and_ends_in_its_own_marker(cache_dir):
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import run_looks
    from lossfilm.pictures import off_the_map
    from lossfilm.studio import landscape_for

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
    from lossfilm.paint.painter import Painter
    from lossfilm.scene.view import Camera

    a = np.linspace(-1, 1, 11)
    wild = Trace(np.array([0.0, 0.2, 0.4]), np.zeros(3), np.array([1.0, 5.0, 1.6e38]), np.zeros(0, np.int64), 2)
    calm = Trace(np.array([0.0, -0.1, -0.2]), np.zeros(3), np.array([1.0, 0.9, 0.8]), np.zeros(0, np.int64))
    land = Landscape(a, a, np.add.outer(a**2, a**2), [wild, calm], ("a", "b"), "mse", 1)
    painter = Painter(land, plan(land, Camera(), 4), Style(), Look(854, 480, 10))
    low, high = painter.curve.lines[0][1].axes.get_ylim()
    assert high < 2


def _painter(cache_dir, name, size, frames=6, style=None):
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import run_looks
    from lossfilm.studio import landscape_for

    scene = _scene(name)
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    labels, colors = run_looks(scene)
    p = plan(land, scene.camera, frames, labels, colors, loss_label(scene))
    return Painter(land, p, style or scene.style, Look(*size, 30))


SIZES = [(1280, 720), (1080, 1080), (1080, 1920), (640, 360)]


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("name", ["optimizer_race", "spirals_pca"])
def test_no_text_meets_other_text_or_the_surface_at_any_frame(cache_dir, name, size):
    from lossfilm.paint.layout import overlaps

    painter = _painter(cache_dir, name, size)
    if size[1] >= size[0] * 0.77:  # square and tall frames keep the inset too (placed where it fits)
        assert painter.curve is not None and "inset" in painter.boxes
    for i in range(len(painter.plan)):
        painter.paint(i)
        boxes = painter.text_boxes(i)
        names = list(boxes)
        for a in range(len(names)):
            for b in range(a + 1, len(names)):
                assert not overlaps(boxes[names[a]], boxes[names[b]]), (i, names[a], names[b], boxes)
        surface = painter.surface_box()
        for n, box in boxes.items():
            assert not overlaps(box, surface), (i, n, box, surface)
        assert not any(overlaps(painter.axes.z_name_box, box) for box in boxes.values()), i
        l, t, r, b = surface  # and the picture is no postage stamp: it spans a good part of the frame
        assert max((r - l) / size[0], (b - t) / size[1]) > 0.45, surface


@pytest.mark.parametrize("size", [(1280, 720), (1080, 1080), (1080, 1920), (640, 360)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_long_subtitle_wraps_inside_the_frame_clear_of_the_legend(cache_dir, size):
    from lossfilm.paint.layout import overlaps

    long = ("Adam with lr 0.005 over 300 epochs of 128-point batches, shuffled · PCA plane of the whole path · "
            "training cross-entropy on all 1,083 points")
    style = dataclasses.replace(_scene("spirals_pca").style, subtitle=long)
    painter = _painter(cache_dir, "spirals_pca", size, style=style)
    painter.paint(3)
    boxes = painter.text_boxes(3)
    subtitle = painter.chrome.subtitle
    assert subtitle.count("\n") >= 1 and subtitle.replace("\n", " ") == long
    left, top, right, bottom = boxes["subtitle"]
    assert left >= 0 and right <= size[0] and not overlaps(boxes["subtitle"], boxes["legend"])
    names = list(boxes)
    for a in range(len(names)):
        for b in range(a + 1, len(names)):
            assert not overlaps(boxes[names[a]], boxes[names[b]]), (names[a], names[b])
    assert not any(overlaps(box, painter.surface_box()) for box in boxes.values())


def test_a_tall_frame_reads_as_one_block_header_picture_and_inset_close_together(cache_dir):
    painter = _painter(cache_dir, "spirals_pca", (1080, 1920))
    painter.paint(5)
    boxes = painter.text_boxes(5)
    left, top, right, bottom = painter.picture_box()
    header = max(boxes["title"][3], boxes.get("subtitle", boxes["title"])[3])
    inset_top = boxes["inset"][1]
    # The band between the header and the inset holds the picture with little to spare, and the empty
    # space goes to the frame's top and bottom edges, evenly.
    assert (inset_top - header) - (bottom - top) < 0.1 * 1920
    assert abs(boxes["title"][1] - (1920 - boxes["hud"][3])) < 0.06 * 1920


@pytest.mark.parametrize("quality", ["low", "medium", "high"])
def test_no_text_is_smaller_than_14_px_at_720p(cache_dir, quality):
    from lossfilm.paint.layout import MIN_POINTS, POINTS
    from lossfilm.settings import QUALITIES

    q = QUALITIES[quality]
    painter = _painter(cache_dir, "optimizer_race", (q.width, q.height), frames=2,
                       style=dataclasses.replace(_scene("optimizer_race").style, colorbar=True))
    smallest = 14.0 * q.height / 720  # the same share of the frame at every preset
    assert painter.text_px and min(painter.text_px) >= smallest - 1e-6, sorted(painter.text_px)[:3]
    for sprite_key in painter.sprites._cache:  # tick labels and axis names on the box
        assert sprite_key[2] * painter.look.dpi / 72 >= smallest - 1e-6, sprite_key
    assert MIN_POINTS == min(POINTS.values())


def _picture_only(painter, i, shape):
    """True where frame ``i`` shows the picture: inside the surface's box, outside every text's box."""
    import numpy as np

    mask = np.zeros(shape[:2], bool)
    left, top, right, bottom = (int(round(v)) for v in painter.surface_box())
    mask[max(top, 0):bottom, max(left, 0):right] = True
    axes = painter.axes
    for l, t, r, b in [*painter.text_boxes(i).values(), *axes.boxes, *axes.z_boxes, axes.z_name_box]:  # noqa: E741
        mask[max(int(t) - 2, 0):int(b) + 3, max(int(l) - 2, 0):int(r) + 3] = False
    return mask


def test_every_runs_colour_is_in_the_last_frame(cache_dir):
    """Counted in the picture only: a race's loss lines print each run's colour too, and passed this
    test alone with every path hidden."""
    import matplotlib.colors
    import numpy as np

    painter = _painter(cache_dir, "optimizer_race", (854, 480), frames=4)

    def counts():
        frame = np.asarray(painter.paint(3))[..., :3].astype(int)
        inside = _picture_only(painter, 3, frame.shape)
        return [int(((np.abs(frame - np.array(matplotlib.colors.to_rgb(c)) * 255).max(axis=2) < 12) & inside).sum())
                for c in painter.plan.colors]

    shown = counts()
    assert all(n > 50 for n in shown), shown
    for _, _, *artists in painter.runs:  # every path, shadow and marker hidden: the picture lacks them
        for artist in artists:
            artist.set_visible(False)
    painter.paths.update = lambda i: None  # (update sets the ghost's visibility again)
    hidden = counts()
    assert all(n < 50 for n in hidden), hidden


def test_a_diverged_run_reads_diverged_in_its_loss_line():
    import numpy as np

    from lossfilm.landscape import Landscape, Trace
    from lossfilm.paint.painter import Painter
    from lossfilm.scene.view import Camera

    a = np.linspace(-1, 1, 11)
    wild = Trace(np.array([0.0, 0.2, 0.4]), np.zeros(3), np.array([1.0, 5.0, 1.6e38]), np.zeros(0, np.int64), 2)
    calm = Trace(np.array([0.0, -0.1, -0.2]), np.zeros(3), np.array([1.0, 0.9, 0.8]), np.zeros(0, np.int64))
    land = Landscape(a, a, np.add.outer(a**2, a**2), [wild, calm], ("a", "b"), "mse", 1)
    painter = Painter(land, plan(land, Camera(), 4, ["wild", "calm"]), Style(), Look(854, 480, 10))
    painter.paint(3)
    texts = next(o for o in painter.overlays if type(o).__name__ == "RunLines").texts
    assert texts[0].endswith("diverged") and "0.8" in texts[1]


@pytest.mark.parametrize("size", [(1280, 720), (1080, 1080), (1080, 1920)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_race_shows_one_loss_line_per_run_with_a_subtitle(cache_dir, size):
    """Each run's loss line is on the frame (a subtitle's line count once took the runs' place)."""
    painter = _painter(cache_dir, "optimizer_race", size)
    painter.paint(5)
    runs = len(painter.landscape.traces)
    assert runs == 4 and painter.style.subtitle
    assert len(painter.layout.run_lines) == runs
    assert [k for k in painter.text_boxes(5) if k.startswith("run ")] == [f"run {k}" for k in range(runs)]


@pytest.mark.parametrize("size", [(1280, 720), (640, 360)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_the_z_axis_name_stays_clear_of_a_surface_rising_beside_it(size):
    """Seen from the side, a surface's high corner next to the z axis rose into its name (skip_vs_plain):
    the frame under the name, as drawn before the labels go on, holds no pixel of the picture."""
    import numpy as np

    from lossfilm.landscape import Landscape, Trace
    from lossfilm.paint.painter import Painter
    from lossfilm.scene.view import Camera

    a = np.linspace(-1, 1, 41)
    z = np.exp(2.5 * np.add.outer(a, a))  # one corner towers over the rest
    run = Trace(np.array([0.0, 0.1, 0.2]), np.zeros(3), np.ones(3), np.zeros(0, np.int64))
    land = Landscape(a, a, z, [run], ("a", "b"), "mse", 1)
    painter = Painter(land, plan(land, Camera(), 12), Style(z_label="a rather long loss name"), Look(*size, 10))
    import matplotlib.colors
    bg = np.round(np.asarray(matplotlib.colors.to_rgb(painter.theme["bg"])) * 255).astype(int)
    drawn = []
    paste = painter.axes.paste
    painter.axes.paste = lambda frame: (drawn.append(frame.copy()), paste(frame))
    for i in range(len(painter.plan)):
        painter.paint(i)
        l, t, r, b = (int(round(v)) for v in painter.axes.z_name_box)
        under = drawn[-1][max(t, 0):b, max(l, 0):r, :3].astype(int)
        ink = (np.abs(under - bg).max(axis=2) > 24).sum()
        assert ink < 3, (i, painter.axes.z_name_box, ink)


def test_the_users_parts_are_named_as_people_read_them():
    """torch's functional losses by their usual names (it once read 'test nll_loss'), and one (x, y) set that
    both trains and evaluates called the training loss, not 'test' (part of the picture issue)."""
    import numpy as np
    import torch

    from lossfilm import RandomPlane, Scene, datasets, models

    x = np.random.default_rng(0).normal(size=(40, 2)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    pair = Scene(name="pair", data=(x, y), model=models.mlp(2, 4, 2), loss=torch.nn.functional.nll_loss,
                 plane=RandomPlane())
    assert pair.data.one_split and loss_label(pair) == "training NLL loss"
    split = dataclasses.replace(pair, data=datasets.moons(n=100, seed=0), loss=torch.nn.functional.smooth_l1_loss)
    assert not split.data.one_split and loss_label(split) == "test smooth L1 loss"
    assert loss_label(dataclasses.replace(split, loss=torch.nn.KLDivLoss())) == "test KL divergence"

    def my_hinge(out, target):
        return (1 - out).clamp(min=0).mean()

    assert loss_label(dataclasses.replace(split, loss=my_hinge)) == "test my hinge"


@pytest.mark.parametrize("size", [(1080, 1080), (1080, 1920), (1280, 720)], ids=lambda s: f"{s[0]}x{s[1]}")
def test_long_run_labels_keep_their_loss_lines_apart(cache_dir, size):
    """Beale's labels carry their tuned lr: two columns of loss lines ran into each other at 1:1 and 9:16."""
    from lossfilm.paint.layout import overlaps

    from lossfilm.paint.painter import Painter
    from lossfilm.plan import run_looks
    from lossfilm.studio import landscape_for

    scene = _scene("beale")
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    labels, colors = run_looks(scene)
    labels = [f"{label} (lr 0.0032)" for label in labels]  # as the film names its tuned runs
    painter = Painter(land, plan(land, scene.camera, 4, labels, colors, loss_label(scene)), scene.style, Look(*size, 30))
    painter.paint(3)
    boxes = painter.text_boxes(3)
    lines = [box for name, box in boxes.items() if name.startswith("run ")]
    assert len(lines) == 4
    for k, a in enumerate(lines):
        assert a[0] >= 0 and a[2] <= size[0], a
        for b in lines[k + 1:]:
            assert not overlaps(a, b), (a, b)
    painter.close()


@pytest.mark.parametrize("name", ["optimizer_race", "spirals_pca"])
def test_a_tall_frame_gives_its_spare_room_to_the_inset_not_to_empty_bands(cache_dir, name):
    """At 9:16 the picture is as wide as the frame: the room it leaves went to bands of empty frame above
    and below the text; it goes to the loss inset."""
    painter = _painter(cache_dir, name, (1080, 1920), frames=4)
    painter.paint(3)
    boxes = painter.text_boxes(3)
    assert painter.layout.inset[3] > 0.16  # taller than the tall layout's own inset
    assert min(b[1] for b in boxes.values()) < 0.12 * 1920 and max(b[3] for b in boxes.values()) > 0.88 * 1920
    painter.close()
