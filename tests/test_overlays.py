"""The overlay seam: a new overlay is one class (here, in this test file) and one line in a scene's style,
drawn in the 3-D and the flat view, by this process and by worker processes alike."""
import dataclasses

import imageio_ffmpeg
import numpy as np
import pytest

from lossfilm import Style
from lossfilm.errors import SceneError
from lossfilm.paint.overlays import Overlay

MAGENTA = np.array([255, 0, 255])
HALF = 7  # the mark's half width, in pixels


class HeadMark(Overlay):
    """A solid square on the first run's current point, and its box as text would report one."""

    def setup(self, painter):
        self.painter = painter
        self.trace = painter.landscape.traces[0]

    def update(self, i):
        s = int(self.painter.plan.steps[i, 0])
        self.at = self.painter.to_pixels(self.trace.alpha[s], self.trace.beta[s])[0]

    def paste(self, pixels, i):
        x, y = np.round(self.at).astype(int)
        pixels[y - HALF:y + HALF, x - HALF:x + HALF] = (*MAGENTA, 255)

    def boxes(self, i):
        x, y = self.at
        return {"head mark": (x - HALF, y - HALF, x + HALF, y + HALF)}


def _last_mp4_frame(path, size):
    frames = imageio_ffmpeg.read_frames(str(path))
    meta = next(frames)
    assert tuple(meta["size"]) == size
    last = None
    for last in frames:
        pass
    return np.frombuffer(last, np.uint8).reshape(size[1], size[0], 3)


@pytest.mark.parametrize("view", ["3d", "2d"])
def test_an_overlay_of_the_users_is_drawn_in_both_views_and_by_workers(view, article, cache_dir, tmp_path):
    from lossfilm.settings import Options
    from lossfilm.pictures import view_of
    from lossfilm.studio import landscape_for, render

    style = dataclasses.replace(article.style, view=view, overlays=[HeadMark()])
    scene = dataclasses.replace(article, style=style)
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    size, frames = (640, 360), 8
    # Where the mark belongs at the last frame, from the film's painter made in this process.
    settings = Options(quality="low", size=size, fps=4, duration=2).check().resolve(scene)
    painter = view_of(scene, land, settings)[0].painter()
    pixels = np.asarray(painter.paint(frames - 1))
    x, y = np.round(painter.text_boxes(frames - 1)["head mark"][:2]).astype(int) + HALF
    assert 0 < x < size[0] and 0 < y < size[1]
    assert (pixels[y, x, :3] == MAGENTA).all()
    for jobs in (1, 2):
        result = render(scene, quality="low", formats=["mp4", "png"], size=size, fps=4, duration=2,
                        out=tmp_path / f"{view}{jobs}", cache_dir=cache_dir, jobs=jobs)
        frame = _last_mp4_frame(result.outputs["mp4"], size).astype(int)
        patch = frame[y - HALF + 2:y + HALF - 2, x - HALF + 2:x + HALF - 2].reshape(-1, 3)
        assert np.abs(patch - MAGENTA).max() < 40, (jobs, patch.mean(0))
        import matplotlib.image

        poster = np.round(matplotlib.image.imread(result.outputs["png"]) * 255).astype(int)
        assert (poster[y, x, :3] == MAGENTA).all()


def test_a_bad_overlay_is_told_by_field():
    with pytest.raises(SceneError, match=r"style\.overlays\[1\]"):
        Style(overlays=[HeadMark(), HeadMark])
    with pytest.raises(SceneError, match=r"style\.overlays"):
        Style(overlays=HeadMark())
