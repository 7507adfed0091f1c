"""Every output format decodes with the expected frame count and size; a race shows every run."""
import dataclasses
from pathlib import Path

import imageio_ffmpeg
import matplotlib.image
import numpy as np
import pytest

from lossfilm.scene_loader import load_scenes
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
