"""Every size, every panel: no text leaves the frame or covers other text, at 16:9, 1:1, 9:16, 640x360
and a blog's GIF size, for a comparison of two and of three panels and a flying camera; a small frame
reads (its text at least the least height asked), and the blog's GIF and WebP are painted at their own
size under the budget."""
import dataclasses
import subprocess

import numpy as np

import pytest

from lossfilm import Camera, Compare, Move, Run, Scene, surfaces
from lossfilm.errors import BadInput
from lossfilm.paint.layout import overlaps
from lossfilm.settings import MIN_SIZE, WEB_TEXT_PX, Look, Options

SIZES = [(1280, 720), (1080, 1080), (1080, 1920), (640, 360)]
GIF = (480, 270)
FRAMES = 6


def _surface(name, fn, start, opt="adam", lr=0.05):
    return Scene(name=name, surface=fn, start=start, runs=[Run(opt, lr=lr, steps=40)], duration=1.0, fps=FRAMES)


def _three():
    return [_surface("small_rosen", surfaces.rosenbrock(), (-1.5, 2.0)),
            _surface("small_camel", surfaces.six_hump_camel(), (1.5, 0.8), "sgd", 0.02),
            _surface("small_saddle", surfaces.saddle(), (0.1, 1.0), "sgd", 0.05)]


def _text_boxes(painter, i) -> dict:
    """Every piece of text painter's frame ``i`` shows (call after paint): the chrome's, the overlays' and
    the 3-D box's tick labels and axis names."""
    boxes = dict(painter.text_boxes(i))
    axes = getattr(painter, "axes", None)
    if axes is not None:
        boxes.update({f"floor label {k}": b for k, b in enumerate(axes.boxes)})
        boxes.update({f"z tick {k}": b for k, b in enumerate(axes.z_boxes)})
        l, t, r, b = axes.z_name_box  # noqa: E741
        if r > l:
            boxes["z name"] = axes.z_name_box
    return boxes


def _assert_readable(boxes: dict, width: int, height: int, where) -> None:
    for name, (l, t, r, b) in boxes.items():  # noqa: E741
        assert l >= -0.5 and t >= -0.5 and r <= width + 0.5 and b <= height + 0.5, (where, name, (l, t, r, b))
    items = list(boxes.items())
    for k, (a, box_a) in enumerate(items):
        for b, box_b in items[k + 1:]:
            assert not overlaps(box_a, box_b), (where, a, box_a, b, box_b)


def _panels_painter(compare, size, min_text_px=0.0, tmp_path=None):
    from lossfilm.pictures import compare_picture
    from lossfilm.scene.compare import panel_geometry
    from lossfilm.studio import landscape_for

    settings = Options(formats=("png",), size=size).check().resolve(compare)
    settings = dataclasses.replace(settings, look=dataclasses.replace(settings.look, min_text_px=min_text_px))
    look = settings.look
    geo = panel_geometry(compare, *size, look.dpi, MIN_SIZE, look.min_text_px)
    found = [landscape_for(s, cache_dir=tmp_path) for s in compare.scenes]
    return compare_picture(compare, settings, geo, found)[0].painter(), geo


@pytest.mark.parametrize("size", SIZES + [GIF], ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("count", [2, 3])
def test_a_comparison_reads_at_every_size(size, count, tmp_path):
    scenes = _three()[:count]
    compare = Compare(scenes, layout="row")
    small = size == GIF
    if small:  # the GIF's own size: 480 px wide, or wider where the panels could not be read
        from lossfilm.output.formats import FORMATS
        from lossfilm.scene.compare import arranged

        def fits(at):
            arranged("row", count, *at, Look(*at, min_text_px=WEB_TEXT_PX).dpi, MIN_SIZE, WEB_TEXT_PX)

        size = FORMATS["gif"].fitted_size(Options(formats=("gif",)).check().resolve(compare), None, fits)
        # Two or three panels 480 px wide would be too small to read: a fifth wider, and again, until they read.
        assert size == ((690, 388) if count == 2 else (994, 560))
    placed, geo = _panels_painter(compare, size, WEB_TEXT_PX if small else 0.0, tmp_path)
    c0, c1 = placed.rows
    # A panel's text is never smaller than a single scene's on the smallest preset, nor than asked.
    assert geo.min_text_px >= min(7.0 * 100 / 72, 7.0 * Look(*size).dpi / 72) - 1e-9
    if small:
        assert geo.min_text_px >= WEB_TEXT_PX
    for painter in placed.painters:
        assert painter.look.dpi * 7 / 72 >= geo.min_text_px - 1e-9
        assert min(painter.text_px) >= geo.min_text_px - 1e-6
    for i in range(FRAMES):
        placed.paint(i)
        boxes = {f"caption {k}": box for k, box in enumerate(placed.caption_boxes)}
        for k, ((x, y), painter) in enumerate(zip(placed.origins, placed.painters)):
            for name, (l, t, r, b) in _text_boxes(painter, i).items():  # noqa: E741
                # Nothing the panel shows is in the rows the comparison leaves out ...
                assert t >= c0 - 0.5 and b <= c1 + 0.5, (i, k, name)
                boxes[f"panel {k} {name}"] = (l + x, t - c0 + y, r + x, b - c0 + y)
            # ... and its caption is right under it.
            caption = placed.caption_boxes[k]
            assert 0 <= caption[1] - (y + c1 - c0) < 0.06 * size[1]
        _assert_readable(boxes, *size, (size, count, i))
    # No band of empty frame between the panels and their captions: the block is centred, each panel's
    # rows hold its picture.
    top, bottom = min(y for _, y in placed.origins), max(b for *_, b in placed.caption_boxes)
    assert abs(top - (size[1] - bottom)) < 0.03 * size[1]
    placed.close()


def test_a_row_stacks_on_a_tall_frame_and_a_grid_takes_the_largest_pictures():
    two, three = _three()[:2], _three()
    assert Compare(two, layout="row").grid_shape(1080, 1920) == (2, 1)  # stacked: larger panels
    assert Compare(two, layout="row").grid_shape(1080, 1080) == (2, 1)
    assert Compare(two, layout="row").grid_shape(1280, 720) == (1, 2)
    assert Compare(three, layout="row").grid_shape(1080, 1920) == (3, 1)
    assert Compare(three, layout="grid").grid_shape(1080, 1080) == (2, 2)


def test_a_row_that_cannot_be_read_is_refused_with_one_line(cli, tmp_path):
    from lossfilm.scene.compare import panel_geometry

    many = [_surface(f"many_{k}", surfaces.saddle(), (0.1, 1.0)) for k in range(5)]
    with pytest.raises(BadInput, match=r"size: expected a frame whose 5 panels can be read: in 1 row\(s\) of 5"):
        panel_geometry(Compare(many, layout="row"), 854, 480, Look(854, 480).dpi, MIN_SIZE)
    scene = tmp_path / "five.py"
    scene.write_text("from lossfilm import Compare, Run, Scene, surfaces\n"
                     "scene = Compare([Scene(name=f'p{k}', surface=surfaces.saddle(), start=(0.1, 1.0),\n"
                     "                       runs=[Run('sgd', lr=0.05, steps=10)]) for k in range(5)])\n")
    done = cli(str(scene), "-q", "low", "-o", str(tmp_path / "out"))
    assert done.returncode == 2 and "panels can be read" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "p0_vs_p1_vs_p2_vs_p3_vs_p4.mp4").exists()


@pytest.mark.parametrize("size", SIZES + [GIF], ids=lambda s: f"{s[0]}x{s[1]}")
def test_a_flying_camera_keeps_every_label_inside_the_frame(size):
    from lossfilm.compute.build import compute
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.scene.view import Style
    from test_views import _line_scene

    camera = Camera(moves=(Move(1, zoom=1.8, focus=True, along=(-0.5, -0.5)), Move(4, along=(-0.5, 1.5)),
                           Move(1, zoom=1.0, focus=False)))
    frames = 12
    land = compute(_line_scene())
    look = Look(*size, 20, min_text_px=WEB_TEXT_PX if size == GIF else 0.0)
    painter = Painter(land, plan(land, camera, frames), Style(), look)
    band = painter.axes.clip
    assert band is not None  # zoomed in, the picture is seen through its frame
    for i in range(frames):
        painter.paint(i)
        boxes = _text_boxes(painter, i)
        _assert_readable(boxes, *size, (size, i))
        for name, box in boxes.items():  # the box's labels stay whole inside the picture's frame
            if name.startswith(("floor label", "z ")):
                assert box[0] >= band[0] - 0.5 and box[2] <= band[2] + 0.5, (i, name, box, band)
    painter.close()


def test_a_small_frame_takes_the_small_layout_with_text_at_least_as_tall_as_asked():
    wide = Look(1280, 720)
    assert not wide.small and wide.dpi == wide.natural_dpi == 150
    gif = Look(480, 270, min_text_px=11)
    assert gif.small and gif.dpi * 7 / 72 == pytest.approx(11)
    assert not Look(1280, 720, min_text_px=11).small  # already larger than asked


@pytest.fixture(scope="module")
def blog_film(tmp_path_factory):
    from lossfilm.studio import render

    out = tmp_path_factory.mktemp("blog")
    scene = _three()[0]
    scene = dataclasses.replace(scene, duration=4.0, fps=30)
    return render(scene, formats=["gif", "webp"], out=out, cache_dir=out / "cache", jobs=1)


def test_the_blog_gif_is_painted_at_its_own_size_with_text_a_reader_can_read(blog_film):
    from lossfilm.paint.painter import Painter
    from lossfilm.paint.sprites import MonoLine

    gif = blog_film.outputs["gif"]
    with open(gif, "rb") as f:
        head = f.read(10)
    assert head[:6] == b"GIF89a"
    width, height = int.from_bytes(head[6:8], "little"), int.from_bytes(head[8:10], "little")
    assert (width, height) == (480, 270)
    from pathlib import Path

    assert Path(gif).stat().st_size < 2 * 2**20
    # The smallest text it shows, measured from the painted boxes of the same painter the GIF was made by.
    from lossfilm.compute.build import compute
    from lossfilm.pictures import view_of

    scene = dataclasses.replace(_three()[0], duration=4.0, fps=30)
    settings = Options(formats=("gif",)).check().resolve(scene)
    picture = view_of(scene, compute(scene), settings)[0].resized(480, 270, WEB_TEXT_PX)
    painter = picture.painter()
    assert isinstance(painter, Painter) and painter.look.small
    heights = []
    for i in (0, 60, 119):
        painter.paint(i)
        for name, (l, t, r, b) in _text_boxes(painter, i).items():  # noqa: E741
            heights.append((b - t, name))
        _assert_readable(_text_boxes(painter, i), 480, 270, i)
    assert min(painter.text_px) >= WEB_TEXT_PX - 1e-6  # title, legend
    for key in painter.sprites._cache:  # tick labels
        assert key[2] * painter.look.dpi / 72 >= WEB_TEXT_PX - 1e-6, key
    hud = next(o for o in painter.overlays if type(o).__name__ == "HUD")
    assert isinstance(hud.line, MonoLine) and hud.line.prop.get_size_in_points() * painter.look.dpi / 72 >= WEB_TEXT_PX
    # The small layout: title, legend and one HUD line; no subtitle, colour bar, inset or axis names.
    assert set(painter.text_boxes(119)) <= {"title", "legend", "hud"}
    assert min(h for h, name in heights if not name.startswith(("floor", "z "))) >= WEB_TEXT_PX
    painter.close()


def test_an_animated_webp_has_a_larger_frame_than_the_gif_in_the_same_budget(blog_film):
    import imageio_ffmpeg
    from pathlib import Path

    webp = Path(blog_film.outputs["webp"])
    assert webp.read_bytes()[:4] == b"RIFF" and webp.read_bytes()[8:12] == b"WEBP"
    assert webp.stat().st_size < 2 * 2**20
    probe = subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-hide_banner", "-i", str(webp)],
                           capture_output=True, text=True).stderr
    assert "720x404" in probe, probe
    assert sorted(p.name for p in webp.parent.iterdir() if not p.name.startswith("cache")) == [
        "small_rosen.gif", "small_rosen.webp"]  # the films painted for them are gone


@pytest.mark.parametrize("dpi", [75, 113.14, 150, 225])
def test_a_text_lines_ink_lies_inside_its_box(dpi):
    """The HUD and the loss lines are pasted where their boxes say: the glyphs once landed a whole em
    above them, and a HUD line printed over a title its box kept clear of."""
    from lossfilm.paint.sprites import MonoLine

    line = MonoLine(dpi, "#ffffff", 9)
    frame = np.zeros((200, 400, 4), np.uint8)
    text = "step 1375/1375  loss 0.0688 (gjpqy)"
    line.paste(frame, text, 10, 120.0)
    rows = np.nonzero((frame[..., :3].max(2) > 0).any(1))[0]
    cols = np.nonzero((frame[..., :3].max(2) > 0).any(0))[0]
    left, top, right, bottom = line.box(text, 10, 120.0)
    assert top - 1 <= rows.min() and rows.max() <= bottom + 1, (rows.min(), rows.max(), top, bottom)
    assert rows.max() > 120  # the descenders reach below the baseline
    assert left - 1 <= cols.min() and cols.max() <= right + 1
