"""Frame ranges painted by worker processes give the film a single painter gives."""
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

from lossfilm._plumbing.executor import split
from lossfilm.settings import Look
from lossfilm.paint.painter import Painter
from lossfilm.plan import plan
from lossfilm.studio import render


def test_split_covers_every_frame_once_in_order():
    for frames, parts in [(120, 2), (7, 3), (5, 8), (1, 4)]:
        ranges = split(frames, parts)
        assert ranges[0][0] == 0 and ranges[-1][1] == frames
        assert all(a < b for a, b in ranges) and all(r[1] == n[0] for r, n in zip(ranges, ranges[1:]))
        assert max(b - a for a, b in ranges) - min(b - a for a, b in ranges) <= 1


def test_a_frame_is_pixel_identical_whatever_was_painted_before(article, article_landscape):
    """What makes segments safe: a frame depends on its index alone, not on the painter's history."""
    frame_plan = plan(article_landscape, article.camera, 12)
    look = Look(320, 180, 30)
    sequential = Painter(article_landscape, frame_plan, article.style, look)
    frames = [bytes(sequential.paint(i)) for i in range(12)]
    jumping = Painter(article_landscape, frame_plan, article.style, look)
    for i in (9, 3, 11, 0):
        assert bytes(jumping.paint(i)) == frames[i]


def decoded(path):
    gen = imageio_ffmpeg.read_frames(str(path))
    meta = next(gen)
    w, h = meta["size"]
    return meta, [np.frombuffer(f, np.uint8).reshape(h, w, 3).astype(np.float64) for f in gen]


@pytest.fixture(scope="module")
def serial_and_parallel(article, cache_dir, tmp_path_factory):
    out = {}
    for jobs in (1, 2):
        folder = tmp_path_factory.mktemp(f"j{jobs}")
        result = render(article, quality="low", formats=["mp4", "gif"], out=folder, fps=10, duration=3,
                        cache_dir=cache_dir, jobs=jobs)
        out[jobs] = (result, folder)
    return out


def test_parallel_render_keeps_frame_count_duration_and_size(serial_and_parallel):
    for jobs, (result, folder) in serial_and_parallel.items():
        assert sorted(p.name for p in folder.iterdir()) == ["article.gif", "article.mp4"], jobs
        assert imageio_ffmpeg.count_frames_and_secs(str(folder / "article.mp4")) == (30, 3.0)
        assert imageio_ffmpeg.count_frames_and_secs(str(folder / "article.gif"))[0] == 30
        meta, _ = decoded(folder / "article.mp4")
        assert meta["size"] == (854, 480) and meta["codec"] == "h264"
    data = (serial_and_parallel[2][1] / "article.mp4").read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")


def test_parallel_and_serial_films_differ_only_by_codec_noise(serial_and_parallel):
    """Pixel-identical before encoding (above); after H.264 each segment starts on its own key frame,
    so decoded frames match within codec noise: every frame above 38 dB PSNR."""
    _, a = decoded(serial_and_parallel[1][1] / "article.mp4")
    _, b = decoded(serial_and_parallel[2][1] / "article.mp4")
    for i, (x, y) in enumerate(zip(a, b)):
        mse = ((x - y) ** 2).mean()
        assert mse == 0 or 10 * np.log10(255**2 / mse) > 38, i


def test_several_scenes_are_in_flight_together(article, cache_dir, tmp_path):
    """render_many hands the next scene's segments to the workers before joining the previous one."""
    import dataclasses

    from lossfilm._plumbing.executor import Inline, Pending
    from lossfilm.studio import render_many

    log = []

    class Recording(Inline):
        workers = 2

        def start(self, fn, tasks):
            name = tasks[0].key.split("-")[0]
            log.append(("start", name))
            pending = super().start(fn, tasks)
            return Pending(lambda done: (log.append(("wait", name)), pending.wait(done))[1])

    scenes = [dataclasses.replace(article, name=n) for n in ("a", "b", "c")]
    results = list(render_many(scenes, Recording(), quality="low", formats=["mp4"], out=tmp_path, fps=8,
                               duration=2, cache_dir=cache_dir, jobs=2))
    assert [s.name for s, _ in results] == ["a", "b", "c"]
    assert all(r.frames == 16 and Path(r.outputs["mp4"]).exists() for _, r in results)
    assert log == [("start", "a"), ("start", "b"), ("wait", "a"), ("start", "c"), ("wait", "b"), ("wait", "c")]
