"""Every output format decodes with the expected frame count and size; a race shows every run."""
import dataclasses
from pathlib import Path

import imageio_ffmpeg
import matplotlib.image
import numpy as np
import pytest

from lossfilm.scene.loader import load_scenes
from lossfilm.studio import render

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("jobs", [1, 2])
def test_every_format_decodes_with_its_frames_and_size(article, cache_dir, tmp_path, jobs):
    result = render(article, quality="low", formats=["mp4", "gif", "webm", "png"], out=tmp_path, fps=8,
                    duration=2, cache_dir=cache_dir, jobs=jobs)
    expect = {"mp4": ("h264", (854, 480)), "gif": ("gif", (480, 270)), "webm": ("vp9", (854, 480))}
    for fmt, (codec, size) in expect.items():
        gen = imageio_ffmpeg.read_frames(result.outputs[fmt])
        meta = next(gen)
        assert meta["codec"].startswith(codec) and meta["size"] == size, fmt
        assert sum(1 for _ in gen) == 16, fmt
    poster = matplotlib.image.imread(result.outputs["png"])
    assert poster.shape[:2] == (480, 854)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["article.gif", "article.mp4", "article.png",
                                                          "article.webm"]


def test_posters_are_the_same_painted_frame_serial_or_parallel(article, cache_dir, tmp_path):
    posters = []
    for jobs in (1, 2):
        out = tmp_path / str(jobs)
        result = render(article, quality="low", formats=["mp4", "png"], out=out, fps=8, duration=2,
                        cache_dir=cache_dir, jobs=jobs)
        posters.append(matplotlib.image.imread(result.outputs["png"]))
    np.testing.assert_array_equal(posters[0], posters[1])


def test_a_race_shows_every_runs_colour_in_its_last_frame(tmp_path, cache_dir):
    scene = load_scenes(ROOT / "scenes" / "optimizer_race.py")[0]
    scene = dataclasses.replace(scene, runs=[dataclasses.replace(r, epochs=3) for r in scene.runs])
    result = render(scene, quality="low", formats=["png"], out=tmp_path, fps=4, duration=1, cache_dir=cache_dir)
    frame = (matplotlib.image.imread(result.outputs["png"])[..., :3] * 255).astype(int)
    body = frame[:, 250:]  # the picture, right of the text column
    for run, color in zip(scene.runs, scene.style.path_colors):
        rgb = np.array([int(color[i:i + 2], 16) for i in (1, 3, 5)])
        assert (np.abs(body - rgb).sum(-1) < 60).sum() > 30, run.label


def test_max_mb_keeps_a_gif_under_budget_and_says_what_gave(article, cache_dir, tmp_path):
    # A small film (20 frames at 480x270, a 0.38 MB GIF unbounded) asks the same of the budget as a large one.
    small = dict(quality="low", formats=["gif"], fps=10, duration=2, size=(480, 270), cache_dir=cache_dir, jobs=1)
    result = render(article, out=tmp_path, max_mb=0.1, **small)
    size = Path(result.outputs["gif"]).stat().st_size
    assert size <= 0.1 * 2**20
    assert result.notes and "fps" in result.notes[0] and "under 0.1 MB" in result.notes[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["article.gif"]  # the master is gone
    tight = render(article, out=tmp_path / "t", max_mb=0.001, **small)
    assert any("could not get under" in n for n in tight.notes)
    roomy = render(article, out=tmp_path / "r", max_mb=50, **small)
    assert roomy.notes == []  # room to spare: nothing was given up for size


def test_a_png_sequence_has_every_frame(article, cache_dir, tmp_path):
    result = render(article, quality="low", formats=["frames"], out=tmp_path, fps=5, duration=2,
                    cache_dir=cache_dir, jobs=2)
    folder = Path(result.outputs["frames"])
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"{i:05d}.png" for i in range(10)]
    assert matplotlib.image.imread(folder / "00009.png").shape[:2] == (480, 854)
    assert [p.name for p in tmp_path.iterdir()] == ["article_frames"]


def test_api_renders_files_and_shows_results_inline(cache_dir, tmp_path):
    from lossfilm import render_files, show

    results = render_files([ROOT / "scenes" / "article.py"], jobs=1, quality="low", formats=["mp4", "png"],
                           out=tmp_path, fps=4, duration=1, cache_dir=cache_dir)
    assert [r.scene for r in results] == ["article"]
    assert all(Path(p).is_file() for p in results[0].outputs.values())
    html = show(results[0])._repr_html_()
    assert html.startswith('<video src="data:video/mp4;base64,') and len(html) > 1000
    assert show(results[0], fmt="png")._repr_html_().startswith('<img src="data:image/png;base64,')
    with pytest.raises(ValueError):
        show(results[0], fmt="gif")


@pytest.fixture
def painted(article, cache_dir):
    """The last frame of a 10-frame article film painted with the given style changes."""
    from lossfilm.settings import Look
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.studio import landscape_for

    land = landscape_for(article, cache_dir=cache_dir)[0]

    def paint(**style):
        scene = dataclasses.replace(article, style=dataclasses.replace(article.style, **style))
        painter = Painter(land, plan(land, scene.camera, 10), scene.style, Look(854, 480, 30))
        paint.boxes = painter.boxes  # where the painter measured its text and inset
        return np.asarray(painter.paint(9))[..., :3].astype(int)

    return paint


def test_overlays_switch_on_and_off(painted):
    plain = painted(loss_curve=False, hud=False, colorbar=False)
    full = painted(loss_curve=True, hud=True, colorbar=True)
    run = np.array([0xFF, 0x4D, 0x6D])
    l, t, r, b = (int(v) for v in painted.boxes["inset"])
    inset = (slice(t, b), slice(l, r))
    assert (np.abs(full[inset] - run).sum(-1) < 60).sum() > 20  # the loss line, in the run's colour
    assert (np.abs(plain[inset] - run).sum(-1) < 60).sum() == 0
    hud = (slice(440, 470), slice(15, 130))  # left of the 3-D axes
    assert (full[hud] != plain[hud]).any(-1).sum() > 60 and (plain[hud] == plain[hud][0, 0]).all()
    bar = (slice(int(480 * 0.24), int(480 * 0.26)), slice(int(854 * 0.04), int(854 * 0.2)))
    assert full[bar].std(axis=(0, 1)).max() > 20  # a colour ramp
    assert (plain[bar] == plain[bar][0, 0]).all()


def test_log_z_puts_heights_in_decades(article, cache_dir):
    from lossfilm.settings import Look
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.studio import landscape_for

    land = landscape_for(article, cache_dir=cache_dir)[0]
    style = dataclasses.replace(article.style, zscale="log")
    painter = Painter(land, plan(land, article.camera, 4), style, Look(320, 180, 20))
    z = painter.field.z  # the decimated, drawn surface
    assert np.log10(land.loss.min()) - 1e-9 <= z.min() and z.max() <= np.log10(land.loss.max()) + 1e-9
    assert 2.0 < z.min() < z.max() < 2.1  # the article's losses are 105-114
    painter.paint(3)


def test_poster_at_a_chosen_time_is_that_frame_serial_or_parallel(article, cache_dir, tmp_path):
    posters = []
    for jobs, at in ((1, 1.0), (2, 1.0), (1, None)):
        result = render(article, quality="low", formats=["mp4", "png"], out=tmp_path / f"{jobs}{at}", fps=8,
                        duration=2, cache_dir=cache_dir, jobs=jobs, poster_at=at)
        posters.append(matplotlib.image.imread(result.outputs["png"]))
    np.testing.assert_array_equal(posters[0], posters[1])
    assert (posters[0] != posters[2]).any()  # one second in is not the last frame
    from lossfilm.errors import BadInput

    with pytest.raises(BadInput, match="poster-at"):
        render(article, quality="low", formats=["png"], out=tmp_path, fps=8, duration=2, cache_dir=cache_dir,
               poster_at=3.0)


def test_the_medium_presets_x264_options_reach_the_encoder(tmp_path):
    """-q medium encodes with veryfast + subme=1 (settings.QUALITIES): the options are in the file's own
    x264 header, and the film still decodes to its frames."""
    from lossfilm.output.encode import MP4Writer
    from lossfilm.settings import QUALITIES

    q = QUALITIES["medium"]
    assert q.x264_preset == "veryfast" and q.x264_params == "subme=1"
    rng = np.random.default_rng(0)
    path = tmp_path / "m.mp4"
    writer = MP4Writer(path, (64, 48), 10, q.x264_preset, params=q.x264_params).setup()
    for _ in range(6):
        writer.grab_frame(rng.integers(0, 255, (48, 64, 4), dtype=np.uint8))
    writer.finish()
    assert b"subme=1 " in path.read_bytes()
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    assert meta["size"] == (64, 48) and sum(1 for _ in reader) == 6


def test_the_encoders_threads_share_the_cores_with_the_painters(monkeypatch, tmp_path):
    """x264's threads follow the thread budget: each painter keeps a core, the encoders share the rest
    (one thread each at the least), and the count reaches x264 (its header in the file says so)."""
    from lossfilm.output import film
    from lossfilm._plumbing import threads
    from lossfilm.output.encode import MP4Writer

    for cores, jobs, want in [(2, 2, 1), (2, 1, 1), (16, 4, 3), (16, 1, 15), (16, 16, 1), (1, 1, 1)]:
        monkeypatch.setattr(threads, "cores", lambda c=cores: c)
        assert film.encoder_threads(jobs) == want, (cores, jobs)
    path = tmp_path / "t.mp4"
    writer = MP4Writer(path, (64, 48), 10, "veryfast", threads=1).setup()
    for _ in range(3):
        writer.grab_frame(np.zeros((48, 64, 4), np.uint8))
    writer.finish()
    assert b" threads=1 " in path.read_bytes()


@pytest.mark.parametrize("ours", [True, False], ids=["raster.yuv420", "ffmpeg"])
def test_the_mp4_is_bt709_and_says_so(tmp_path, ours):
    """The film's colours are converted with BT.709's matrix (HD's) and the stream is tagged with it, so
    no player has to guess: a flat green's luma is BT.709's, not BT.601's, and flat patches decode to
    the painted colours; by our conversion and by ffmpeg's (without a C compiler) alike."""
    import subprocess

    from lossfilm.paint import raster
    from lossfilm.output.encode import MP4Writer, ffmpeg_exe

    if ours and raster.load() is None:
        pytest.skip(f"no C kernel: {raster.status}")

    colours = [(0, 255, 0), (255, 0, 0), (0, 0, 255), (200, 120, 40), (30, 60, 200), (128, 128, 128),
               (250, 250, 250), (10, 10, 10)]
    frame = np.full((96, 128, 4), 255, np.uint8)
    for k, rgb in enumerate(colours):
        frame[32 * (k // 4):32 * (k // 4) + 32, 32 * (k % 4):32 * (k % 4) + 32, :3] = rgb
    path = tmp_path / "c.mp4"
    writer = MP4Writer(path, (128, 96), 10, "veryfast")
    writer._yuv = ours
    writer.setup()
    for _ in range(3):
        writer.grab_frame(memoryview(frame))
    writer.finish()
    probe = subprocess.run([ffmpeg_exe(), "-hide_banner", "-i", str(path)], capture_output=True, text=True).stderr
    assert "yuv420p(tv, bt709" in probe, probe

    def decoded(pix_fmt, channels):
        raw = subprocess.run([ffmpeg_exe(), "-v", "error", "-i", str(path), "-frames:v", "1", "-f", "rawvideo",
                              "-pix_fmt", pix_fmt, "-"], capture_output=True, check=True).stdout
        return np.frombuffer(raw, np.uint8)[:96 * 128 * channels]

    luma = decoded("yuv420p", 1).reshape(96, 128)  # the Y plane as stored (the chroma planes follow)
    assert abs(int(luma[16, 16]) - round(16 + 219 * 0.7152)) <= 1  # BT.709's green (BT.601's is 145)
    rgb = decoded("rgb24", 3).reshape(96, 128, 3).astype(int)
    for k, want in enumerate(colours):
        got = rgb[32 * (k // 4) + 16, 32 * (k % 4) + 16]
        assert np.abs(got - want).max() <= 3, (want, got)
