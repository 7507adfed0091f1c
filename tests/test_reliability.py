"""Every mistake gets a clear answer before anything is trained or written, and the cache is never stale."""
import dataclasses
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from lossfilm.compute import cache
from lossfilm.scene.view import Camera, Move, Style
from lossfilm.scene.planes import Grid, WeightsPlane
from lossfilm.scene.runs import Run
from lossfilm.scene.scene import Scene
from lossfilm.scene.story import Beat
from lossfilm.scene.loader import load_scenes

ROOT = Path(__file__).resolve().parents[1]


# --- 1. the cache key covers every field that changes the numbers ----------------------------------------

def _base():
    return load_scenes(ROOT / "scenes" / "article.py")[0]


# Another valid value for every field of a Scene; the test below fails when a field is added to Scene
# without being given one here or declared NOT_NUMBERS, so no new field can be forgotten by the key.
ALTERNATIVES = {
    "data": lambda s: dataclasses.replace(s.data, y_test=s.data.y_test + 1),
    "model": lambda s: (lambda: __import__("torch").nn.Sequential(
        __import__("torch").nn.Linear(1, 1, bias=False), __import__("torch").nn.Sigmoid(),
        __import__("torch").nn.Linear(1, 1, bias=False))),
    "runs": lambda s: (Run(lr=0.02),),
    "plane": lambda s: WeightsPlane("2.weight", "0.weight"),
    "grid": lambda s: Grid(step=0.1),
    "loss": lambda s: "as_published",
    "init": lambda s: {"0.weight": -1.0, "2.weight": -0.5},
    "seed": lambda s: 7,
    "memory_mb": lambda s: 128.0,
    "evaluate_on": lambda s: "train",
    "paths": lambda s: (__import__("lossfilm").Trajectory(np.zeros((3, 2), np.float32), ("0.weight", "2.weight"),
                                                         ((1, 1), (1, 1))),),
    "eval_batches": lambda s: 2,
    "surface": lambda s: __import__("lossfilm").surfaces.rosenbrock(b=50.0),
    "start": lambda s: (0.5, 0.5),
    "evolve": lambda s: __import__("lossfilm").Evolve(surfaces=5),
    "track": lambda s: __import__("lossfilm").Sharpness(every=300),
    "metric": lambda s: "error",
    "metrics": lambda s: ("accuracy",),
}


def _loader_base(s):
    import torch

    x, y = torch.as_tensor(s.data.x_test[:300]), torch.as_tensor(s.data.y_test[:300])
    return dataclasses.replace(s, data=torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=100))


def _surface_base(s):
    from lossfilm import surfaces

    return Scene(name="s", surface=surfaces.rosenbrock(), start=(-1.0, 1.0), runs=[Run("adam", lr=0.05, steps=20)])


BASES = {"eval_batches": _loader_base, "surface": _surface_base, "start": _surface_base}  # fields that only mean something with other fields
IRRELEVANT = {
    "name": "another_name", "camera": Camera(turns=2), "style": Style(theme="light"), "duration": 3.0,
    "fps": 12, "device": "auto", "story": (Beat(2, title="a storyboard is how a film is told"), Beat(1, grow_to="end")),
}


def test_every_scene_field_changes_the_key_or_is_declared_not_a_number():
    fields = {f.name for f in dataclasses.fields(Scene)}
    assert set(Scene.NOT_NUMBERS) == set(IRRELEVANT)
    assert fields == set(ALTERNATIVES) | set(IRRELEVANT), "a new Scene field needs a line in this test"
    base = _base()
    k0 = cache.key(base)
    for name, make in ALTERNATIVES.items():
        before = BASES.get(name, lambda s: s)(base)
        assert cache.key(dataclasses.replace(before, **{name: make(base)})) != cache.key(before), name
    for name, value in IRRELEVANT.items():
        assert cache.key(dataclasses.replace(base, **{name: value})) == k0, name


@settings(max_examples=25)
@given(lr=st.floats(1e-4, 1.0), epochs=st.integers(0, 30), batch=st.integers(1, 512), momentum=st.floats(0, 0.99),
       label=st.text(max_size=8))
def test_every_run_field_counts_unless_it_only_names_or_colours(lr, epochs, batch, momentum, label):
    base = _base()
    run = Run(lr=lr, epochs=epochs, batch_size=batch, options={"momentum": momentum})
    k = cache.key(dataclasses.replace(base, runs=(run,)))
    assert k == cache.key(dataclasses.replace(base, runs=(dataclasses.replace(run, label=label or None,
                                                                                 color="#00ff00"),)))
    for change in ({"lr": lr * 1.5}, {"epochs": epochs + 1}, {"batch_size": batch + 1},
                   {"options": {"momentum": momentum / 2 + 0.001}}, {"shuffle": True}, {"optimizer": "adam"}):
        assert cache.key(dataclasses.replace(base, runs=(dataclasses.replace(run, **change),))) != k, change


MODEL_SCENE = '''
import torch
from torch import nn
from lossfilm import Grid, Run, Scene, WeightsPlane, datasets


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.a, self.b = nn.Linear(1, 1, bias=False), nn.Linear(1, 1, bias=False)

    def forward(self, x):
        return self.b(torch.ACT(self.a(x)))


scene = Scene(name="own", data=datasets.piecewise(n=300, seed=2), model=Net, runs=[Run(epochs=1)],
              plane=WeightsPlane("a.weight", "b.weight"), grid=Grid(step=0.5, fit="fixed"))
'''


def test_a_change_in_the_models_own_code_changes_the_key(tmp_path):
    keys = []
    for act in ("tanh", "sigmoid"):
        f = tmp_path / f"{act}" / "own.py"
        f.parent.mkdir()
        f.write_text(MODEL_SCENE.replace("ACT", act))
        keys.append(cache.key(load_scenes(f)[0]))
    assert keys[0] != keys[1]


def test_a_cache_file_of_the_wrong_shapes_is_recomputed(tmp_path, article_landscape, article):
    from lossfilm.landscape import Landscape
    from lossfilm.studio import landscape_for

    wrong = Landscape(article_landscape.alphas[:5], article_landscape.betas[:5], article_landscape.loss[:5, :5],
                      article_landscape.traces * 2, article_landscape.axis_labels, "mse", 25)
    cache.save(wrong, cache.path_for(article, tmp_path))
    with pytest.warns(RuntimeWarning, match=r"2 paths for 1 runs and paths\); recomputing"):
        land, state = landscape_for(article, cache_dir=tmp_path)
    assert state == "miss" and land.loss.shape == article_landscape.loss.shape


# --- 2. mistakes in the user's own parts: exit 2 before any training, one line, no file -----------------

BROKEN = [
    ("model=lambda: nn.Linear(1, 3)", "model (with loss='mse' and data.y_train): expected an output of 1 value(s) per row"),
    ("loss='cross_entropy', model=lambda: nn.Linear(1, 2), data=classes(5)",
     "expected class labels from 0 to 1 for a model with 2 outputs, got labels from 0 to 4"),
    ("model=lambda: nn.Linear(2, 1)", "model: expected a module that takes rows of data.x_train"),
    ("runs=[Run(options={'momentum': -1})]", "run.options: expected options that SGD accepts (Invalid momentum value: -1"),
    ("runs=[Run(options={'nesterov_typo': True})]", "run.options: expected options that SGD accepts"),
    ("init={'nope': 1.0}", "init['nope']: expected a parameter of the model"),
    ("model=lambda: 1 / 0", "model: expected a factory that builds a module (it raised ZeroDivisionError"),
    ("style=Style(title='$\\\\frac{1}{$')", "style.title: expected text matplotlib can draw"),
    ("style=Style(path_colors=())", "style.path_colors: expected one or more matplotlib colours"),
    ("name='n' * 300", "name: expected a name of at most 120 characters"),
    ("data=with_nan()", "data.y_train: expected finite numbers (no NaN or inf), got '1 non-finite values'"),
]


def _scene_file(tmp_path, extra: str) -> Path:
    f = tmp_path / "mine.py"
    f.write_text(f'''
import numpy as np
from torch import nn
from lossfilm import Data, Grid, Run, Scene, Style, WeightsPlane


def data():
    x = np.linspace(-1, 1, 64)[:, None]  # numpy's default float64: converted, never an error
    return Data(x, np.sin(x[:, 0]), x, np.sin(x[:, 0]))


def classes(k):
    x = np.linspace(-1, 1, 60)[:, None]
    y = np.arange(60) % k
    return Data(x, y, x, y)


def with_nan():
    d = data()
    y = d.y_train.copy()
    y[3] = np.nan
    return Data(d.x_train, y, d.x_test, d.y_test)


def net():
    return nn.Sequential(nn.Linear(1, 4), nn.Tanh(), nn.Linear(4, 1))


options = dict(name="mine", data=data(), model=net, runs=[Run(epochs=1)], plane=RandomPlane(),
               grid=Grid.around_paths(points=6))
options.update(dict({extra}))
scene = Scene(**options)
'''.replace("plane=RandomPlane()", "plane=__import__('lossfilm').RandomPlane()"))
    return f


def test_float64_numpy_data_just_works(cli, tmp_path):
    f = _scene_file(tmp_path, "")
    code, out, err = cli(str(f), "-q", "low", "--fps", "4", "--duration", "1", "--format", "png", "-o",
                         str(tmp_path / "out"), "--no-cache")
    assert code == 0, err
    assert (tmp_path / "out" / "mine.png").is_file()


@pytest.mark.parametrize("extra,message", BROKEN)
def test_broken_user_parts_are_told_before_training_in_one_line(cli, tmp_path, monkeypatch, extra, message):
    from lossfilm.compute import build as compute

    trained = []
    monkeypatch.setattr(compute, "_train", lambda *a: trained.append(1) or (_ for _ in ()).throw(AssertionError))
    f = _scene_file(tmp_path, extra)
    code, out, err = cli(str(f), "-q", "low", "-o", str(tmp_path / "out"), "--no-cache")
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and str(f) in lines[0] and message in lines[0], err
    assert not trained
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_scene_file_that_exits_is_bad_input(cli, tmp_path):
    f = tmp_path / "quits.py"
    f.write_text("import sys\nsys.exit(0)\n")
    code, _, err = cli(str(f), "-o", str(tmp_path / "out"))
    assert code == 2 and f"{f}:2: the scene file called sys.exit(0)" in err


@pytest.mark.parametrize("args,message", [
    (["--duration", "1e9"], "expected at most 36000 frames"),
    (["--fps", "100000"], "expected at most 36000 frames"),
])
def test_frame_counts_are_bounded_before_any_work(cli, tmp_path, args, message):
    code, _, err = cli("-q", "low", *args, "-o", str(tmp_path / "out"), "--no-cache")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1, err


# --- 3. nothing is written before every scene is checked ---------------------------------------------------

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bad_scene_later_in_the_list_stops_everything_before_the_first_film(cli, tmp_path, cache_dir, jobs):
    bad = tmp_path / "later.py"
    bad.write_text("import dataclasses, article\nscene = dataclasses.replace(article.scene, name='later', "
                   "init={'nope': 1.0})\n")
    (tmp_path / "article.py").write_text((ROOT / "scenes" / "article.py").read_text())
    code, _, err = cli(str(tmp_path / "article.py"), str(bad), "-q", "low", "--duration", "1", "-j", jobs,
                       "-o", str(tmp_path / "out"), "--cache-dir", str(cache_dir))
    assert code == 2 and "init['nope']" in err and str(bad) in err, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_plane_naming_a_parameter_the_model_lacks_stops_everything_before_the_first_film(cli, tmp_path, cache_dir,
                                                                                          jobs):
    """Found in the preflight (it needs the model), not when the second scene's numbers are computed:
    with -j 1 the first film was once written before the error."""
    bad = tmp_path / "later.py"
    bad.write_text("import dataclasses, article\nfrom lossfilm import WeightsPlane\n"
                   "scene = dataclasses.replace(article.scene, name='later', plane=WeightsPlane('0.weight', 'fc.bias'))\n")
    (tmp_path / "article.py").write_text((ROOT / "scenes" / "article.py").read_text())
    code, _, err = cli(str(tmp_path / "article.py"), str(bad), "-q", "low", "--duration", "1", "-j", jobs,
                       "-o", str(tmp_path / "out"), "--no-cache")
    assert code == 2 and "plane.b: expected a scalar parameter or name[i] of the model" in err and str(bad) in err, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_a_model_that_fails_on_a_full_batch_is_the_scenes_error(cli, tmp_path):
    """It passes the preflight's few rows, then raises on the first batch of 128: exit 2, one line naming
    the scene file and the model, nothing written (it once said only 'error: RuntimeError: ...', exit 1)."""
    f = tmp_path / "fixed_batch.py"
    f.write_text("""
import torch
from lossfilm import RandomPlane, Run, Scene, datasets


class FixedBatch(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = torch.nn.Linear(2, 2)

    def forward(self, x):
        return self.fc(x.reshape(8, 2))  # written for the few rows it was tried on


scene = Scene(name="fixed_batch", data=datasets.moons(n=400, seed=0), model=FixedBatch, loss="cross_entropy",
              runs=[Run("sgd", lr=0.1, epochs=1, batch_size=128)], plane=RandomPlane(seed=0))
""")
    code, _, err = cli(str(f), "-q", "low", "--duration", "1", "-o", str(tmp_path / "out"), "--no-cache")
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{f} (scene 'fixed_batch'): model: expected a module that takes every training batch (here 128 rows)" in err
    assert "RuntimeError" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_mlp_takes_one_width_or_names_what_it_expects():
    from lossfilm import models
    from lossfilm.errors import SceneError

    assert [m.out_features for m in models.mlp(2, 16, 2)() if hasattr(m, "out_features")] == [16, 2]
    assert [m.out_features for m in models.mlp(2, (16, 8), 2)() if hasattr(m, "out_features")] == [16, 8, 2]
    with pytest.raises(SceneError, match=r"models.mlp\(hidden=...\): expected a layer width"):
        models.mlp(2, "16", 2)
    with pytest.raises(SceneError, match=r"models.mlp\(outputs=...\)"):
        models.mlp(2, 16, 0)


# --- 4. collisions and paths -------------------------------------------------------------------------------

def test_the_same_scene_twice_is_refused(cli, tmp_path):
    """Named by file, both of them: the line once named no scene file at all."""
    copy = tmp_path / "again.py"
    copy.write_text((ROOT / "scenes" / "article.py").read_text())
    code, _, err = cli("scenes/article.py", str(copy), "-o", str(tmp_path / "out"))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{copy} (scene 'article'): name: expected each scene of one command to have its own name" in err
    assert "the other: scenes/article.py" in err or f"the other: {ROOT / 'scenes' / 'article.py'}" in err, err


def test_an_apostrophe_in_the_output_folder_joins_segments(cli, tmp_path, cache_dir):
    out = tmp_path / "Bob's films"
    code, _, err = cli("scenes/article.py", "-q", "low", "--fps", "8", "--duration", "4", "-j", "2", "--format",
                       "mp4", "-o", str(out), "--cache-dir", str(cache_dir))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["article.mp4"]


# --- 5. pictures that were wrong without an error ------------------------------------------------------------

def test_log_z_draws_a_zero_loss_at_the_bottom():
    from lossfilm.paint.colors import log_heights

    z = np.array([[0.0, 1.0], [10.0, 100.0]])
    h = log_heights(z)
    assert h[0, 0] < h[0, 1] == 0.0 and np.isfinite(h).all()
    assert np.isnan(log_heights(np.array([[np.nan, 1.0]])))[0, 0]


def _diverged_landscape():
    from lossfilm.landscape import Landscape, Trace

    a = np.linspace(-1, 1, 11)
    alpha = np.array([0.0, 0.2, 0.5, 1e30])
    trace = Trace(alpha, alpha * 0, np.array([1.0, 2.0, 50.0, 1.389e37]), np.zeros(0, np.int64), diverged_at=3)
    calm = Trace(np.array([0.0, -0.1, -0.2]), np.zeros(3), np.array([1.0, 0.9, 0.8]), np.zeros(0, np.int64))
    return Landscape(a, a, np.add.outer(a**2, a**2), [trace, calm], ("a", "b"), "mse", 1)


def test_a_diverged_run_reads_diverged_and_hud_off_hides_the_race_lines():
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import loss_text, plan
    from lossfilm.settings import Look

    land = _diverged_landscape()
    assert loss_text(land.traces[0], 3) == "diverged" and loss_text(land.traces[0], 2) == "50"
    assert loss_text(land.traces[1], 2) == "0.8"
    single = dataclasses.replace(land, traces=land.traces[:1])
    assert plan(single, Camera(), 4).text[-1].endswith("mse diverged")
    p = plan(land, Camera(moves=(Move(1, focus=True, zoom=1.5),)), 6)
    quiet = Painter(land, p, Style(hud=False), Look(320, 180, 10))
    assert not [o for o in quiet.overlays if type(o).__name__ in ("RunLines", "HUD")]
    loud = Painter(land, p, Style(), Look(320, 180, 10))
    loud.paint(5)
    assert "diverged" in next(o for o in loud.overlays if type(o).__name__ == "RunLines").texts[0]
    # Focused on a run that flew off to 1e30: the picture stays where the run was last on the map.
    x, y, w, h = loud.ax.get_position().bounds
    assert -0.5 < x < 0.5 and -0.5 < y < 0.5


# --- 6. interruptions: workers leave quietly --------------------------------------------------------------

@pytest.mark.parametrize("sig,word", [(signal.SIGINT, "interrupted"), (signal.SIGTERM, "terminated")])
def test_a_signal_to_the_whole_process_group_is_answered_in_one_word(tmp_path, cache_dir, article_landscape, sig, word):
    for k in range(2):
        out = tmp_path / f"{k}"
        p = subprocess.Popen([sys.executable, str(ROOT / "render.py"), "scenes/article.py", "-q", "low", "--duration",
                              "60", "-j", "2", "--format", "mp4", "gif", "-o", str(out), "--cache-dir", str(cache_dir)],
                             cwd=ROOT, stderr=subprocess.PIPE, text=True, start_new_session=True)
        deadline = time.time() + 90
        while time.time() < deadline and not (out.exists() and any(".part." in q.name for q in out.iterdir())):
            time.sleep(0.05)
        time.sleep(0.3 + 0.4 * k)
        os.killpg(p.pid, sig)
        _, err = p.communicate(timeout=60)
        assert err.strip() == word, err
        assert list(out.iterdir()) == []


def test_a_sigterm_that_lands_in_a_finaliser_is_delivered_again_and_not_printed(monkeypatch, capsys):
    """A signal raised inside a Popen.__del__ cannot unwind it: Python would print "Exception ignored"
    beside the CLI's one word and carry on. The hooks stay silent and deliver the signal once more."""
    import types

    from lossfilm import cli
    from lossfilm._plumbing import executor

    import threading

    # Not raised inside the hook (its handler would unwind the hook: "Exception ignored in
    # sys.unraisablehook"), but by a timer thread once it has returned; Python runs the handler then.
    from lossfilm._plumbing import redeliver

    raised = []
    monkeypatch.setattr(redeliver.signal, "raise_signal", raised.append)
    monkeypatch.setattr(redeliver, "DELAY", 0.2)
    monkeypatch.setattr(cli, "_stopping", threading.Event())
    printed = []
    hook = cli._unraisable_when_stopping(lambda args: printed.append(args))
    hook(types.SimpleNamespace(exc_value=cli._Terminated()))
    executor._quiet_unraisable(types.SimpleNamespace(exc_value=SystemExit(143)))
    assert raised == [] and printed == []
    import time

    deadline = time.monotonic() + 5
    while len(raised) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert raised == [signal.SIGTERM] * 2
    hook(types.SimpleNamespace(exc_value=ValueError("a real one")))  # anything else is still told
    assert len(printed) == 1
