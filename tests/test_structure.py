"""The shape the next features build on: one settings value, one format table, tables of plane kinds,
optimizers and losses, a derived code digest, labels outside the numbers, no process-wide side effects."""
import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lossfilm.output import formats
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
    kinds = {formats.STREAMED, formats.DERIVED, formats.PAINTED, formats.RESIZED, formats.NUMBERS}
    for name, fmt in formats.FORMATS.items():
        assert fmt.name == name and fmt.how in kinds and "/" in fmt.mime, name
    assert [f.name for f in formats.FORMATS.values() if f.master] == ["mp4"]


def test_a_new_format_is_one_class_and_one_row(article, cache_dir, tmp_path, monkeypatch):
    """Registered here, made by the film code with no other edit, serial and with workers; its own
    option becomes a command-line flag from its row; on a comparison it is given every panel's view."""
    monkeypatch.setattr(formats, "FORMATS", dict(formats.FORMATS))

    @formats.register
    class Summary(formats.Numbers):  # DESIGN.md's example
        name = ext = "txt"
        mime = "text/plain"
        options = (formats.Option("digits", "6", ("3", "6"), "decimals of the lowest loss"),)

        def write_numbers(self, views, path):  # one view per panel; one for a scene
            digits = int(self.option(views[0].settings, "digits"))
            path.write_text("".join(f"{v.name} {v.landscape.loss.min():.{digits}f} {len(v.plan)} {v.plan.labels[0]}\n"
                                    for v in views))

    from lossfilm.cli import parser
    from lossfilm.scene.compare import Compare
    from lossfilm.studio import render

    for jobs in (1, 2):
        result = render(article, quality="low", formats=["mp4", "txt"], out=tmp_path / str(jobs), fps=8,
                        duration=2, cache_dir=cache_dir, jobs=jobs)
        name, lowest, frames, label = Path(result.outputs["txt"]).read_text().split()
        assert name == "article" and int(frames) == 16 and label == "SGD" and len(lowest.split(".")[1]) == 6
        assert list(result.outputs) == ["mp4", "txt"]
    assert parser().parse_args(["--txt-digits", "3"]).__dict__["option:txt.digits"] == "3"
    with pytest.raises(BadInput, match="--txt-digits"):
        render(article, formats=["txt"], out=tmp_path, format_options={"txt": {"digits": "4"}})

    from test_compare import _surface_scenes

    both = Compare(list(_surface_scenes()))
    result = render(both, formats=["txt"], size=(640, 360), out=tmp_path / "cmp", cache_dir=cache_dir,
                    format_options={"txt": {"digits": "3"}})
    rows = [line.split() for line in Path(result.outputs["txt"]).read_text().splitlines()]
    assert [r[0] for r in rows] == ["cmp_rosen", "cmp_camel"] and all(len(r[1].split(".")[1]) == 3 for r in rows)


def test_a_poster_alone_paints_one_frame(article, cache_dir, tmp_path, monkeypatch):
    from lossfilm.paint import painter as paint
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
    from lossfilm.scene.runs import Run
    from lossfilm.scene.view import Style
    from lossfilm.studio import landscape_for

    landscape_for(article, cache_dir=cache_dir)
    run = dataclasses.replace(article.runs[0], label="Plain SGD", color="#00ff00")
    renamed = dataclasses.replace(article, runs=(run,), style=Style(path_colors=("#123456",)))
    assert landscape_for(renamed, cache_dir=cache_dir)[1] == "hit"
    assert landscape_for(dataclasses.replace(article, runs=(Run(lr=0.02),)), cache_dir=tmp_path)[1] == "miss"


def test_the_code_digest_is_derived_from_what_compute_imports():
    from lossfilm.compute.cache import PACKAGE, computing_files

    names = {p.relative_to(PACKAGE).as_posix() for p in computing_files()}
    assert {"compute/build.py", "compute/evaluate.py", "scene/losses.py", "compute/native.py", "compute/mlp_kernel.c",
            "compute/directions.py", "scene/scene.py", "scene/planes.py", "scene/optimizers.py",
            "landscape.py"} <= names
    assert not names & {"paint/painter.py", "output/encode.py", "output/film.py", "studio.py", "cli.py",
                        "scene/view.py"}


def test_editing_the_view_keeps_the_cache_and_editing_a_plane_does_not(tmp_path):
    """The camera, moves and style change no number: an edit of their module (a Style docstring, a new
    field) leaves the code digest, so every cached landscape, as it was; an edit of the planes' does not."""
    import shutil

    def digest_after(edit: str | None) -> str:
        tree = tmp_path / (edit or "none").replace("/", "_")
        shutil.copytree(ROOT / "lossfilm", tree / "lossfilm", ignore=shutil.ignore_patterns("__pycache__"))
        if edit:
            with open(tree / "lossfilm" / edit, "a") as f:
                f.write("\n# edited\n")
        code = "from lossfilm.compute.cache import code_digest; print(code_digest())"
        p = subprocess.run([sys.executable, "-c", code], cwd=tree, capture_output=True, text=True, timeout=120,
                           env={**os.environ, "PYTHONPATH": str(tree)})
        assert p.returncode == 0, p.stderr
        return p.stdout.strip()

    before = digest_after(None)
    assert digest_after("scene/view.py") == before
    assert digest_after("scene/planes.py") != before
    assert digest_after("compute/mlp_kernel.c") != before


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
    from lossfilm.compute.build import compute
    from lossfilm.scene.loader import load_scenes

    land = compute(load_scenes(f)[0])
    assert land.axis_labels == ("first", "second") and land.loss.shape == (8, 8)


def test_a_new_view_through_models_is_one_class_too(tmp_path):
    """A ThroughModels subclass of the user's own (the plane through two models and the origin) is
    resolved by its base class, not by name: it once failed with a TypeError in compute."""
    f = tmp_path / "through_two.py"
    f.write_text('''
import dataclasses
from lossfilm import Grid, Run, Scene, datasets, models
from lossfilm.scene import ThroughModels


@dataclasses.dataclass(frozen=True)
class ThroughTwo(ThroughModels):
    a: str
    b: str
    indices: tuple | None = None
    PARTS = ("a", "b")

    def __post_init__(self):
        self._check_parts()

    def basis(self, space, path, memory_mb, problem=None):
        a, b = self.ends(problem)
        return (0 * a).float(), a.float(), b.float(), ("towards a", "towards b")


scene = Scene(name="through_two", data=datasets.moons(n=200, seed=0), model=models.mlp(2, (4,), 2),
              loss="cross_entropy", runs=[Run("adam", lr=0.01, epochs=2, seed=s, label=f"s{s}") for s in (1, 2)],
              plane=ThroughTwo("s1", "s2"), grid=Grid(a=(-0.5, 1.5), b=(-0.5, 1.5), step=0.5, fit="fixed"))
''')
    from lossfilm.compute.build import compute
    from lossfilm.scene.loader import load_scenes

    scene = load_scenes(f)[0]
    assert scene.plane.indices == (0, 1)
    land = compute(scene)
    assert land.axis_labels == ("towards a", "towards b") and land.loss.shape == (4, 4)
    # The first model sits at (1, 0) of its own plane: its end point projects there.
    assert abs(land.traces[0].alpha[-1] - 1) < 1e-4 and abs(land.traces[0].beta[-1]) < 1e-4


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
from lossfilm.scene.loader import load_scenes
from lossfilm.studio import render
scene = load_scenes("scenes/article.py")[0]
render(scene, quality="low", formats=["png"], out=r"{tmp_path}", fps=4, duration=1, use_cache=False)
print(matplotlib.get_backend(), bool(torch.equal(before, torch.get_rng_state())))
"""
    p = _run(code)
    assert p.returncode == 0, p.stderr
    assert p.stdout.split() == ["svg", "True"]


def test_importing_the_library_imports_no_pyplot_and_sets_no_backend():
    p = _run("import sys, lossfilm, lossfilm.paint.painter, lossfilm.studio; import matplotlib; "
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
