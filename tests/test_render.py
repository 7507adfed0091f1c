"""Films: frame counts, sizes, codecs, the path's pixels, atomic writes."""
import os

import imageio_ffmpeg
import numpy as np
import pytest

from lossfilm.output.encode import GIFWriter, MP4Writer, clean_stale_parts
from lossfilm.errors import RenderError
from lossfilm.studio import render

PATH_RGB = np.array([0xFF, 0x4D, 0x6D])  # the first run's colour in the default style


@pytest.fixture(scope="module")
def film(article, cache_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("film")
    result = render(article, quality="low", formats=["mp4", "gif"], out=out, fps=10, duration=2.0,
                    cache_dir=cache_dir)
    return result, out


def frames_of(path):
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return meta, [np.frombuffer(f, np.uint8).reshape(h, w, 3) for f in gen]


def path_pixels(frame):
    return int((np.abs(frame.astype(int) - PATH_RGB).sum(-1) < 60).sum())


def test_mp4_is_h264_yuv420p_faststart_with_the_expected_frames(film):
    result, out = film
    path = out / "article.mp4"
    assert result.outputs["mp4"] == str(path) and result.frames == 20 and result.size == (854, 480)
    meta, frames = frames_of(path)
    assert meta["codec"] == "h264" and meta["pix_fmt"].startswith("yuv420p")
    assert meta["size"] == (854, 480) and meta["fps"] == 10
    assert len(frames) == 20
    data = path.read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")  # index first: plays while downloading


def test_gif_is_web_sized_looping_and_has_every_frame(film):
    _, out = film
    path = out / "article.gif"
    meta, frames = frames_of(path)
    assert meta["size"] == (480, 270)
    assert len(frames) == 20  # 10 fps is under the GIF cap, so no frame is dropped
    assert b"NETSCAPE2.0" in path.read_bytes()[:2000]  # the loop extension


def test_the_path_grows_and_is_visible_on_the_surface(film):
    _, out = film
    _, frames = frames_of(out / "article.mp4")
    counts = [path_pixels(f) for f in frames]
    assert counts[0] > 0  # the start marker
    assert counts[10] > counts[0] and counts[-1] > 3 * counts[0]
    # the path is painted over the surface, not only on the floor or in the legend: look inside the box
    body = frames[-1][60:420, 250:800]
    assert path_pixels(body) > 300


def test_json_report_has_stage_timings_and_cache_state(film):
    result, _ = film
    report = result.as_json()
    assert report["cache"] in ("hit", "miss")
    assert set(report["seconds"]) == {"compute", "paint", "encode", "total"}
    assert report["fps"] == 10 and report["size"] == [854, 480]


def _writer_with_frames(cls, folder, n=3):
    w = cls(folder / f"clip.{cls.ext}", (64, 48), 10).setup()
    frame = np.zeros((48, 64, 4), np.uint8)
    frame[..., 3] = 255
    for i in range(n):
        frame[..., 0] = 40 * i
        w.grab_frame(frame.tobytes())
    return w


@pytest.mark.parametrize("cls", [MP4Writer, GIFWriter])
def test_an_aborted_render_leaves_nothing_under_the_final_name(tmp_path, cls):
    w = _writer_with_frames(cls, tmp_path)
    w.abort()
    assert list(tmp_path.iterdir()) == []


def test_an_ffmpeg_failure_is_a_render_error_and_leaves_no_file(tmp_path):
    class Broken(MP4Writer):
        def output_args(self):
            return ["-c:v", "no_such_codec"]

    with pytest.raises(RenderError, match="ffmpeg"):
        w = _writer_with_frames(Broken, tmp_path)
        w.finish()
    assert not (tmp_path / "clip.mp4").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".mp4")]


def test_parts_left_by_a_killed_render_are_cleaned_up(tmp_path):
    dead = tmp_path / ".article.999999999.part.mp4"
    mine = tmp_path / f".article.{os.getpid()}.part.mp4"
    dead.write_bytes(b"x")
    mine.write_bytes(b"x")
    assert clean_stale_parts(tmp_path) == [dead]
    assert mine.exists() and not dead.exists()
