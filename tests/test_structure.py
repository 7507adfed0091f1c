"""The shape the next features build on: one settings value, one format table, tables of plane kinds,
optimizers and losses, a derived code digest, labels outside the numbers, no process-wide side effects."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lossfilm import formats
from lossfilm.errors import BadInput
from lossfilm.settings import Options

ROOT = Path(__file__).resolve().parents[1]


def test_options_resolve_once_into_the_settings_every_stage_reads(article):
    s = Options(quality="low", formats=["gif", "mp4", "gif"], fps=10, duration=2, poster_at=1.0).check().resolve(article)
    assert s.formats == ("gif", "mp4") and s.frames == 20 and s.poster == 10
    assert s.size == (854, 480) and s.x264_preset == "ultrafast" and s.look.surface_quads == 40
    assert s.target("mp4") == Path("media") / "article.mp4"
    with pytest.raises(BadInput, match="quality: expected one of low, medium, high, 4k"):
        Options(quality="ultra").check()
    with pytest.raises(BadInput, match="format: expected one or more of"):
        Options(formats=["avi"]).check()
    with pytest.raises(BadInput, match="at most 36000 frames"):
        Options(fps=100000, duration=8).check().resolve(article)


def test_every_format_says_how_it_is_made_and_what_it_is():
    assert set(formats.FORMATS) >= {"mp4", "gif", "webm", "png", "frames", "npz"}
    kinds = {formats.STREAMED, formats.DERIVED, formats.PAINTED, formats.NUMBERS}
    for name, fmt in formats.FORMATS.items():
        assert fmt.name == name and fmt.how in kinds and "/" in fmt.mime, name
    assert [f.name for f in formats.FORMATS.values() if f.master] == ["mp4"]


def test_a_new_format_is_one_class_and_one_row(article, cache_dir, tmp_path, monkeypatch):
    """Registered here, made by the film code with no other edit, serial and with workers."""
    monkeypatch.setattr(formats, "FORMATS", dict(formats.FORMATS))

    @formats.register
    class Summary(formats.Numbers):
        name = ext = "txt"
        mime = "text/plain"

        def write_numbers(self, picture, path):
            path.write_text(f"{picture.landscape.loss.min():.6f} {len(picture.plan)} {picture.plan.labels[0]}\n")

    from lossfilm.studio import render

    for jobs in (1, 2):
        result = render(article, quality="low", formats=["mp4", "txt"], out=tmp_path / str(jobs), fps=8,
                        duration=2, cache_dir=cache_dir, jobs=jobs)
        lowest, frames, label = Path(result.outputs["txt"]).read_text().split()
        assert int(frames) == 16 and label == "SGD"
        assert list(result.outputs) == ["mp4", "txt"]


def test_a_poster_alone_paints_one_frame(article, cache_dir, tmp_path, monkeypatch):
    from lossfilm import paint
    from lossfilm.studio import render

    painted = []
    original = paint.Painter.paint
    monkeypatch.setattr(paint.Painter, "paint", lambda self, i: painted.append(i) or original(self, i))
    result = render(article, quality="low", formats=["png", "npz"], out=tmp_path, fps=10, duration=3,
                    poster_at=1.0, cache_dir=cache_dir)
    assert painted == [10]
    assert sorted(result.outputs) == ["npz", "png"]


def test_the_numbers_export_reads_back_without_pickle(article, article_landscape, cache_dir, tmp_path):
    from lossfilm.studio import render

    result = render(article, quality="low", formats=["npz"], out=tmp_path, fps=4, duration=1, cache_dir=cache_dir)
    with np.load(result.outputs["npz"], allow_pickle=False) as z:
        head = json.loads(str(z["header"]))
        np.testing.assert_array_equal(z["loss"], article_landscape.loss)
        np.testing.assert_array_equal(z["path0_alpha"], article_landscape.traces[0].alpha)
        assert head["paths"][0]["label"] == "SGD" and "path0_loss" in head["paths"][0]["arrays"]


def test_colours_and_labels_are_not_numbers(article, cache_dir, tmp_path):
    """Changing a run's label or colour, or the style's colours, is a cache hit."""
    from lossfilm.scene import Run, Style
    from lossfilm.studio import landscape_for

    landscape_for(article, cache_dir=cache_dir)
    run = dataclasses.replace(article.runs[0], label="Plain SGD", color="#00ff00")
    renamed = dataclasses.replace(article, runs=(run,), style=Style(path_colors=("#123456",)))
    assert landscape_for(renamed, cache_dir=cache_dir)[1] == "hit"
    assert landscape_for(dataclasses.replace(article, runs=(Run(lr=0.02),)), cache_dir=tmp_path)[1] == "miss"


def test_the_code_digest_is_derived_from_what_compute_imports():
    from lossfilm.cache import computing_files

    names = {p.name for p in computing_files()}
    assert {"compute.py", "evaluate.py", "losses.py", "native.py", "mlp_kernel.c", "directions.py", "scene.py",
            "optimizers.py", "landscape.py"} <= names
    assert not names & {"paint.py", "encode.py", "film.py", "studio.py", "cli.py"}


def test_a_new_plane_kind_is_one_class(tmp_path):
    """Defined in a scene file: no table elsewhere to edit."""
    f = tmp_path / "axis_plane.py"
    f.write_text('''
import dataclasses
import torch
from lossfilm import Grid, Run, Scene, datasets, models
from lossfilm.scene import Plane


@dataclasses.dataclass(frozen=True)
class FirstTwo(Plane):
    def basis(self, space, path, memory_mb):
        d1, d2 = torch.zeros(space.size), torch.zeros(space.size)
        d1[0] = d2[1] = 1.0
        return torch.zeros(space.size), d1, d2, ("first", "second")


scene = Scene(name="first_two", data=datasets.piecewise(n=400, seed=1), model=models.article_net,
              runs=[Run(epochs=1)], plane=FirstTwo(), grid=Grid(a=(-1, 1), b=(-1, 1), step=0.25, fit="fixed"))
''')
    from lossfilm.compute import compute
    from lossfilm.scene_loader import load_scenes

    land = compute(load_scenes(f)[0])
    assert land.axis_labels == ("first", "second") and land.loss.shape == (8, 8)


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_render_leaves_the_callers_backend_random_state_and_allocator_alone(tmp_path):
    """A notebook's pyplot backend survives render(), and so does torch's global random state."""
    code = f"""
import matplotlib
matplotlib.use("svg")
import matplotlib.pyplot as plt
import torch
torch.manual_seed(1234)
before = torch.get_rng_state().clone()
from lossfilm.scene_loader import load_scenes
from lossfilm.studio import render
scene = load_scenes("scenes/article.py")[0]
render(scene, quality="low", formats=["png"], out=r"{tmp_path}", fps=4, duration=1, use_cache=False)
print(matplotlib.get_backend(), bool(torch.equal(before, torch.get_rng_state())))
"""
    p = _run(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["svg", "True"]


def test_importing_the_library_imports_no_pyplot_and_sets_no_backend():
    p = _run("import sys, lossfilm, lossfilm.paint, lossfilm.studio; import matplotlib; "
             "print('matplotlib.pyplot' in sys.modules, matplotlib.rcParams._get_backend_or_none())")
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["False", "None"]


def test_an_error_of_several_lines_is_told_in_one(tmp_path):
    f = tmp_path / "noisy.py"
    f.write_text("raise ValueError('first line\\nsecond line\\n  third')\n")
    p = subprocess.run([sys.executable, str(ROOT / "render.py"), str(f), "-o", str(tmp_path / "out")],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip().splitlines() == [
        f"error: {f}:1: the scene file raised ValueError: first line second line third"]
