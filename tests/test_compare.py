"""Compare: several scenes side by side on one clock, each panel exactly the scene rendered alone."""
import dataclasses
import json
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest

from lossfilm import Compare, Grid, RandomPlane, Run, Scene, Style, datasets, models, surfaces
from lossfilm.scene.compare import panel_geometry
from lossfilm.errors import BadInput, SceneError
from lossfilm.settings import MIN_SIZE, Look
from lossfilm.studio import landscape_for, render

SIZE = (640, 360)


def _surface_scenes():
    a = Scene(name="cmp_rosen", surface=surfaces.rosenbrock(), start=(-1.5, 2.0),
              runs=[Run("adam", lr=0.05, steps=60)], duration=1.0, fps=6)
    b = Scene(name="cmp_camel", surface=surfaces.six_hump_camel(), start=(1.5, 0.8),
              runs=[Run("sgd", lr=0.02, steps=60)], duration=1.0, fps=6)
    return a, b


def _net(name: str, batch: int) -> Scene:
    return Scene(name=name, data=datasets.moons(n=200, seed=0), model=models.mlp(inputs=2, hidden=(8,), outputs=2),
                 runs=[Run("sgd", lr=0.1, epochs=2, batch_size=batch)], plane=RandomPlane(seed=0),
                 grid=Grid(a=(-1, 1), b=(-1, 1), step=0.25, fit="fixed"), loss="cross_entropy", duration=1.0, fps=6)


def _png(path) -> np.ndarray:
    return np.round(matplotlib.image.imread(str(path)) * 255).astype(np.uint8)


@pytest.mark.parametrize("poster_at", [0.5, None])
def test_each_panel_is_pixel_identical_to_its_scene_rendered_alone_at_the_panel_size(tmp_path, poster_at):
    """Alone at the panel's size and text size, less the rows that are background all through the film."""
    from lossfilm.pictures import compare_picture, view_of
    from lossfilm.settings import Options

    a, b = _surface_scenes()
    both = Compare([a, b], layout="row", shared_z=True)
    result = render(both, formats=["png"], size=SIZE, out=tmp_path / "both", use_cache=False, poster_at=poster_at)
    frame = _png(result.outputs["png"])
    assert frame.shape[:2] == (SIZE[1], SIZE[0])
    settings = Options(formats=("png",), size=SIZE, poster_at=poster_at).check().resolve(both)
    geo = panel_geometry(both, *SIZE, settings.look.dpi, MIN_SIZE)
    found = [landscape_for(s, use_cache=False) for s in (a, b)]
    placed = compare_picture(both, settings, geo, found)[0].painter()
    np.testing.assert_array_equal(np.asarray(placed.paint(settings.poster)), frame)
    c0, c1 = placed.rows
    assert 0 < c1 - c0 <= geo.height
    z_range = tuple(result.facts["z_range"])
    look = dataclasses.replace(settings.look, width=geo.width, height=geo.height, min_text_px=geo.min_text_px)
    for scene, (landscape, _), (x, y) in zip((a, b), found, placed.origins):
        alone_scene = dataclasses.replace(scene, style=dataclasses.replace(scene.style, z_range=z_range))
        alone_settings = dataclasses.replace(Options(formats=("png",), poster_at=poster_at).check().resolve(alone_scene),
                                             look=look)
        painter = view_of(alone_scene, landscape, alone_settings)[0].painter()
        alone = np.asarray(painter.paint(alone_settings.poster))
        painter.close()
        np.testing.assert_array_equal(frame[y:y + c1 - c0, x:x + geo.width], alone[c0:c1])
        bg = alone[0, 0, :3]
        assert (alone[:c0, :, :3] == bg).all() and (alone[c1:, :, :3] == bg).all()  # only background was cut
    placed.close()
    # Right under each panel its caption (ink in the band below it), between the panels only background.
    x, y = placed.origins[0]
    below = frame[y + c1 - c0:y + c1 - c0 + int(0.1 * SIZE[1]), x:x + geo.width, :3].astype(int)
    assert np.abs(below - below[0, 0]).max() > 100


def test_a_shared_z_range_is_the_union_of_the_panels_ranges_and_heights_compare(tmp_path):
    from lossfilm.paint.colors import robust_range

    a, b = _surface_scenes()
    result = render(Compare([a, b]), formats=["npz"], size=SIZE, out=tmp_path, use_cache=False)
    lows, highs = [], []
    for scene in (a, b):  # each panel's own range, from its surface's grid
        land, _ = landscape_for(scene, use_cache=False)
        lo, hi = robust_range(land.loss)
        lows.append(lo)
        highs.append(hi)
    assert result.facts["z_range"] == pytest.approx([min(lows), max(highs)])
    assert min(lows) < max(lows) and min(highs) < max(highs)  # neither panel's range holds the other's
    # Each panel keeps its own numbers: runs are reported per panel, the npz holds both.
    assert [r["scene"] for r in result.runs] == ["cmp_rosen", "cmp_camel"]
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        head = json.loads(str(z["header"]))
        assert [p["scene"] for p in head["panels"]] == ["cmp_rosen", "cmp_camel"]
        land, _ = landscape_for(b, use_cache=False)
        np.testing.assert_array_equal(z["cmp_camel/loss"], land.loss)


def test_without_shared_z_each_panel_keeps_its_own_colours(tmp_path):
    a, b = _surface_scenes()
    result = render(Compare([a, b], shared_z=False), formats=["png"], size=SIZE, out=tmp_path, use_cache=False)
    assert "z_range" not in result.facts


def test_each_panel_is_cached_as_its_own_scene(tmp_path):
    a, b = _net("cmp_small_batch", 16), _net("cmp_large_batch", 140)
    cache = tmp_path / "cache"
    first = render(Compare([a, b]), formats=["png"], size=SIZE, out=tmp_path, cache_dir=cache)
    assert first.cache == "miss" and [p["cache"] for p in first.facts["panels"]] == ["miss", "miss"]
    again = render(Compare([a, b]), formats=["png"], size=SIZE, out=tmp_path, cache_dir=cache)
    assert again.cache == "hit"
    alone = render(b, formats=["png"], size=SIZE, out=tmp_path / "alone", cache_dir=cache)
    assert alone.cache == "hit"  # the panel's numbers are the scene's
    # A new panel beside a cached one computes only the new one.
    c = _net("cmp_medium_batch", 50)
    mixed = render(Compare([a, c]), formats=["png"], size=SIZE, out=tmp_path, cache_dir=cache)
    assert [p["cache"] for p in mixed.facts["panels"]] == ["hit", "miss"]


def test_a_grid_of_three_panels_in_every_format_and_with_workers(tmp_path):
    import meshio

    from lossfilm.output.formats import FORMATS
    from lossfilm.output.page import embedded_figure

    a, b = _surface_scenes()
    c = Scene(name="cmp_saddle", surface=surfaces.saddle(), start=(0.1, 1.0), runs=[Run("sgd", lr=0.05, steps=40)],
              duration=1.0, fps=6)
    both = Compare([a, b, c], layout="grid", captions=["Rosenbrock", "camel", "saddle"])
    assert both.grid_shape(640, 640) == (2, 2) and both.grid_shape(1080, 1920) == (3, 1)
    assert both.grid_shape(1920, 600) == (1, 3)
    formats = [f for f in ("mp4", "gif", "png", "npz", "html", "ply", "webm", "frames") if not FORMATS[f].unavailable()]
    result = render(both, formats=formats, size=(640, 640), out=tmp_path, use_cache=False, jobs=2)
    assert result.frames == 6 and result.size == (640, 640)
    assert set(result.outputs) == set(formats)
    html = Path(result.outputs["html"]).read_text(encoding="utf-8")
    assert [embedded_figure(html, k)["data"][0]["type"] for k in range(3)] == ["surface"] * 3
    assert "camel" in html
    mesh = meshio.read(result.outputs["ply"])
    assert len(mesh.cells_dict["quad"]) > 3 * 100
    import imageio_ffmpeg

    frames, _ = imageio_ffmpeg.count_frames_and_secs(result.outputs["mp4"])
    assert frames == 6
    png = _png(result.outputs["png"])
    geo = panel_geometry(both, 640, 640, Look(640, 640).dpi, MIN_SIZE)
    # The short last row is centred: its one panel sits in the middle.
    (x, y) = geo.origins[2]
    assert abs((x + geo.width / 2) - 320) <= 1 and y > geo.origins[0][1]
    assert png[y:y + geo.height, x:x + geo.width].std() > 10


def test_bad_comparisons_are_told_by_field():
    a, b = _surface_scenes()
    with pytest.raises(SceneError, match=r"scenes\[1\]\.duration: expected 1 s, the duration of scenes\[0\]"):
        Compare([a, dataclasses.replace(b, duration=2.0)])
    with pytest.raises(SceneError, match=r"scenes\[1\]\.fps"):
        Compare([a, dataclasses.replace(b, fps=12)])
    with pytest.raises(SceneError, match="layout: expected 'row' or 'grid'"):
        Compare([a, b], layout="column")
    with pytest.raises(SceneError, match="scenes: expected two or more Scene objects"):
        Compare([a])
    with pytest.raises(SceneError, match="captions: expected 2 strings"):
        Compare([a, b], captions=["one"])
    with pytest.raises(SceneError, match="scenes: expected scenes with names of their own"):
        Compare([a, a])
    with pytest.raises(SceneError, match=r"scenes\[1\]\.style\.zscale"):
        Compare([a, dataclasses.replace(b, style=Style(zscale="log"))])
    with pytest.raises(BadInput, match="size: expected a frame that holds 2 panels of at least 160 px"):
        render(Compare([a, b]), formats=["png"], size=(320, 200), use_cache=False)


def test_the_command_line_films_a_comparison_and_not_its_panels_alone(cli, tmp_path, rejected):
    scene = tmp_path / "pair.py"
    scene.write_text(
        "from lossfilm import Compare, Run, Scene, surfaces\n"
        "a = Scene(name='pa', surface=surfaces.booth(), start=(-5, 5), runs=[Run('adam', lr=0.3, steps=30)],"
        " duration=1, fps=4)\n"
        "b = Scene(name='pb', surface=surfaces.booth(), start=(5, -5), runs=[Run('sgd', lr=0.02, steps=30)],"
        " duration=1, fps=4)\n"
        "film = Compare([a, b], name='pair')\n")
    done = cli(str(scene), "-q", "low", "--format", "png", "-o", str(tmp_path / "out"), "--no-cache", "--json")
    assert done.returncode == 0, done.stderr
    assert [json.loads(line)["scene"] for line in done.stdout.splitlines()] == ["pair"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["pair.png"]
    bad = rejected("clocks", scene.read_text().replace("duration=1, fps=4)\nfilm", "duration=2, fps=4)\nfilm"))
    assert "scenes[1].duration: expected 1 s" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
