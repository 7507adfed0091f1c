"""Textbook surfaces: each function against its closed form, optimizers that reach the known minima,
lr tuning, seeded noise, per-run numbers in --json, and bad input told by field."""
import json
import math
import textwrap
import warnings

import numpy as np
import pytest
import torch

from lossfilm import Run, Scene, Style, surfaces
from lossfilm.compute.descent import descend, final_losses, landscape, tune
from lossfilm.errors import SceneError
from lossfilm.scene.runs import TUNE_LRS

# Closed forms written out again in numpy, independently of lossfilm.surfaces.
CLOSED = {
    "rosenbrock": lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    "beale": lambda x, y: (1.5 - x + x * y) ** 2 + (2.25 - x + x * y * y) ** 2 + (2.625 - x + x * y ** 3) ** 2,
    "himmelblau": lambda x, y: (x * x + y - 11) ** 2 + (x + y * y - 7) ** 2,
    "rastrigin": lambda x, y: 20 + x * x - 10 * np.cos(2 * np.pi * x) + y * y - 10 * np.cos(2 * np.pi * y),
    "ackley": lambda x, y: (-20 * np.exp(-0.2 * np.sqrt(0.5 * (x * x + y * y)))
                            - np.exp(0.5 * (np.cos(2 * np.pi * x) + np.cos(2 * np.pi * y))) + np.e + 20),
    "six_hump_camel": lambda x, y: (4 - 2.1 * x * x + x ** 4 / 3) * x * x + x * y + (-4 + 4 * y * y) * y * y,
    "booth": lambda x, y: (x + 2 * y - 7) ** 2 + (2 * x + y - 5) ** 2,
    "saddle": lambda x, y: x * x - y * y,
    "monkey_saddle": lambda x, y: x ** 3 - 3 * x * y * y,
}
MINIMUM_VALUE = {"rosenbrock": 0, "beale": 0, "himmelblau": 0, "rastrigin": 0, "ackley": 0,
                 "six_hump_camel": -1.0316, "booth": 0}


@pytest.mark.parametrize("name", sorted(CLOSED))
def test_each_function_matches_its_closed_form(name):
    surface = getattr(surfaces, name)()
    (x0, x1), (y0, y1) = surface.domain
    rng = np.random.default_rng(1)
    x, y = rng.uniform(x0, x1, 50), rng.uniform(y0, y1, 50)
    got = surface(torch.as_tensor(x), torch.as_tensor(y)).numpy()
    assert np.allclose(got, CLOSED[name](x, y), rtol=1e-12, atol=1e-9)
    for mx, my in surface.minima:  # the known minima: the closed form's value there, and a minimum
        value = float(surface(torch.tensor(mx, dtype=torch.float64), torch.tensor(my, dtype=torch.float64)))
        assert value == pytest.approx(MINIMUM_VALUE[name], abs=1e-4)
        around = CLOSED[name](mx + 1e-3 * np.cos(np.arange(8)), my + 1e-3 * np.sin(np.arange(8)))
        assert (around >= value - 1e-9).all()
    assert surface.start is not None and x0 <= surface.start[0] <= x1 and y0 <= surface.start[1] <= y1


def test_converging_optimizers_reach_the_known_minimum():
    scene = Scene(name="booth", surface=surfaces.booth(),
                  runs=[Run("sgd", lr=0.02, steps=400), Run("adam", lr=0.2, steps=800),
                        Run("sgd", lr=0.01, steps=400, options={"momentum": 0.9})])
    for trace in landscape(scene).traces:
        assert math.hypot(trace.alpha[-1] - 1, trace.beta[-1] - 3) < 1e-3
        assert trace.loss[-1] < 1e-6
    rosen = Scene(name="r", surface=surfaces.rosenbrock(), runs=[Run("adam", lr="tune", steps=600)])
    (trace,) = landscape(rosen).traces
    assert math.hypot(trace.alpha[-1] - 1, trace.beta[-1] - 1) < 0.05


def test_himmelblaus_four_starts_end_at_four_distinct_minima():
    from lossfilm.scene.loader import load_scenes
    from tests.conftest import ROOT

    scene = load_scenes(ROOT / "scenes" / "himmelblau_starts.py")[0]
    ends = [(t.alpha[-1], t.beta[-1]) for t in landscape(scene).traces]
    nearest = [int(np.argmin([math.dist(e, m) for m in surfaces.HIMMELBLAU_MINIMA])) for e in ends]
    assert sorted(nearest) == [0, 1, 2, 3]
    assert all(min(math.dist(e, m) for m in surfaces.HIMMELBLAU_MINIMA) < 1e-3 for e in ends)


def test_a_run_has_its_own_start_and_the_grid_is_f_on_the_domain():
    scene = Scene(name="s", surface=surfaces.himmelblau(points=41), start=(0.0, 0.0),
                  runs=[Run("sgd", lr=0.01, steps=5), Run("sgd", lr=0.01, steps=5, start=(1.0, -1.0))])
    land = landscape(scene)
    assert (land.traces[0].alpha[0], land.traces[0].beta[0]) == (0.0, 0.0)
    assert (land.traces[1].alpha[0], land.traces[1].beta[0]) == (1.0, -1.0)
    assert land.alphas[0] == -5 and land.alphas[-1] == pytest.approx(5) and land.loss.shape == (41, 41)
    X, Y = np.meshgrid(land.alphas, land.betas)
    assert np.allclose(land.loss, CLOSED["himmelblau"](X, Y))
    assert len(land.traces[0].alpha) == 6  # steps count optimizer steps
    assert land.minima.shape == (4, 2)
    t = land.traces[1]  # the gradient at every point, against its closed form
    x, y = t.alpha, t.beta
    want = np.column_stack([4 * x * (x * x + y - 11) + 2 * (x + y * y - 7), 2 * (x * x + y - 11) + 4 * y * (x + y * y - 7)])
    assert np.allclose(t.grad, want, rtol=1e-12)
    # SGD: each step is -lr times the gradient where it stood
    assert np.allclose(np.diff(np.column_stack([x, y]), axis=0), -0.01 * want[:-1], rtol=1e-10)


def test_tuning_is_deterministic_and_picks_the_lowest_final_loss():
    scene = Scene(name="t", surface=surfaces.rosenbrock(), runs=[Run("adam", lr="tune", steps=150),
                                                                  Run("sgd", lr="tune", steps=150)])
    for i, run in enumerate(scene.runs):
        lr, found = tune(scene, run, i)
        again, found2 = tune(scene, run, i)
        assert lr == again and np.array_equal(found.paths, found2.paths)
        # Each candidate alone, one lr per call: the chosen one ends no higher than any of them.
        alone = [float(final_losses(scene, descend(scene, run, i, [c]))[0]) for c in TUNE_LRS]
        chosen = float(final_losses(scene, found)[0])
        assert chosen <= min(alone) * (1 + 1e-9) + 1e-12
        assert lr == TUNE_LRS[int(np.argmin(alone))]
    # The chosen lr is the run's, in its trace (and so in the legend, the notes and --json).
    assert landscape(scene).traces[0].lr == tune(scene, scene.runs[0], 0)[0]


def test_tuning_eight_runs_is_quick():
    import time

    scene = Scene(name="t8", surface=surfaces.rosenbrock(),
                  runs=[Run(o, lr="tune", steps=200) for o in ("sgd", "adam", "rmsprop", "adagrad")] * 2)
    t = time.perf_counter()
    landscape(scene)
    assert time.perf_counter() - t < 20  # generous for a loaded CI machine; bench/ has the real figure


def test_gradient_noise_is_reproducible_by_seed():
    def path(seed, noise=0.5):
        scene = Scene(name="n", surface=surfaces.booth(), seed=seed, runs=[Run("sgd", lr=0.01, steps=50, noise=noise)])
        t = landscape(scene).traces[0]
        return np.column_stack([t.alpha, t.beta])

    assert np.array_equal(path(0), path(0))
    assert not np.allclose(path(0), path(1))
    assert not np.allclose(path(0), path(0, noise=0.0))


SIGN_SGD = '''
    import torch
    from lossfilm import Run, Scene, surfaces

    class SignSGD(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01):
            super().__init__(params, {"lr": lr})

        @torch.no_grad()
        def step(self, closure=None):
            with torch.enable_grad():
                loss = closure()
            for group in self.param_groups:
                for p in group["params"]:
                    p.add_(torch.sign(p.grad), alpha=-group["lr"])
            return loss

    scene = Scene(name="sign_booth", surface=surfaces.booth(), start=(-8.0, -6.0),
                  runs=[Run(SignSGD, lr=0.05, steps=400), Run(SignSGD, lr="tune", steps=100)])
'''


def test_a_custom_optimizer_class_in_a_scene_file_runs_and_json_reports_every_run(tmp_path, cli):
    scene_file = tmp_path / "sign.py"
    scene_file.write_text(textwrap.dedent(SIGN_SGD))
    done = cli(str(scene_file), "--format", "npz", "-o", str(tmp_path), "--cache-dir", str(tmp_path / "c"), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    first, tuned = report["runs"]
    assert first["label"] == "SignSGD" and first["lr"] == 0.05 and first["steps"] == 400 and not first["diverged"]
    assert math.dist(first["end"], (1, 3)) < 0.1 and first["loss"] < 0.05
    assert tuned["lr"] in TUNE_LRS and tuned["label"].startswith("SignSGD (lr ")
    assert any("lr tuned to" in n for n in report["notes"])


def test_json_reports_runs_of_a_network_scene_too(tmp_path, cli, cache_dir):
    done = cli("scenes/optimizer_race.py", "--format", "npz", "-o", str(tmp_path), "--cache-dir", str(cache_dir), "--json")
    assert done.returncode == 0, done.stderr
    runs = json.loads(done.stdout)["runs"]
    assert [r["label"] for r in runs] == ["SGD", "Momentum", "RMSprop", "Adam"]
    assert all(r["lr"] == 0.01 and r["steps"] == 1375 and isinstance(r["loss"], float) for r in runs)


def test_the_film_shows_the_minima_as_stars(tmp_path):
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.settings import Look

    scene = Scene(name="h", surface=surfaces.himmelblau(points=60), runs=[Run("sgd", lr=0.01, steps=20)])
    land = landscape(scene)
    painter = Painter(land, plan(land, scene.camera, 2), Style(), Look(854, 480, 20))
    frame = np.asarray(painter.paint(1))[..., :3].astype(int)
    star = np.array([0xFF, 0xD1, 0x66])
    assert (np.abs(frame - star).max(axis=2) < 10).sum() > 40


BAD = {
    "unknown surface": ('Scene(name="x", surface="rosenbrok")', "surface: expected one of rosenbrock"),
    "start outside": ('Scene(name="x", surface=surfaces.booth(), start=(20.0, 0.0))', "start: expected a point inside"),
    "run start outside": ('Scene(name="x", surface=surfaces.booth(), runs=[Run(start=(0.0, 11.0))])',
                          "runs[0].start: expected a point inside"),
    "empty domain": ('Scene(name="x", surface=surfaces.function(lambda x, y: x * y, domain=((1, 1), (0, 1)), start=(1, 0)))',
                     "surface.domain (x): expected lo < hi"),
    "non-scalar": ('Scene(name="x", surface=surfaces.function(lambda x, y: torch.stack([x, y]), domain=((0, 1), (0, 1)), '
                   'start=(0.5, 0.5)))', "surface.fn: expected a function that returns one number"),
    "raises": ('Scene(name="x", surface=surfaces.function(lambda x, y: 1 / 0, domain=((0, 1), (0, 1)), start=(0.5, 0.5)))',
               "surface.fn: expected a function f(x, y) written with torch operations (at the start it raised "
               "ZeroDivisionError"),
    "steps on a network": ('Scene(name="x", data=datasets.piecewise(n=100), model=models.article_net, '
                           'plane=WeightsPlane("0.weight", "2.weight"), runs=[Run(steps=10)])', "runs: expected lr='tune'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_surface_input_exits_2_naming_the_field(tmp_path, cli, case):
    source, message = BAD[case]
    scene_file = tmp_path / "bad.py"
    scene_file.write_text("import torch\nfrom lossfilm import *\nfrom lossfilm import datasets, models, surfaces\n"
                          f"scene = {source}\n")
    done = cli(str(scene_file), "-o", str(tmp_path / "out"), "--cache-dir", str(tmp_path / "c"))
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert message in done.stderr, done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out" / "x.mp4").exists()


def test_a_surface_scene_takes_no_data_model_or_plane():
    with pytest.raises(SceneError, match="^model: expected no model with a surface"):
        Scene(name="x", surface=surfaces.booth(), model=lambda: None)
    with pytest.raises(SceneError, match="^start: expected no start without a surface"):
        from lossfilm import WeightsPlane, datasets, models

        Scene(name="x", data=datasets.piecewise(n=100), model=models.article_net,
              plane=WeightsPlane("0.weight", "2.weight"), start=(0, 0))


@pytest.mark.parametrize("optimizer,options", [("sgd", {}), ("sgd", {"momentum": 0.9, "nesterov": True}), ("adam", {}),
                                               ("rmsprop", {"centered": True}), ("adagrad", {}), ("nadam", {}),
                                               ("adamw", {}), ("adadelta", {})])
def test_many_lrs_at_once_follow_the_paths_of_one_lr_each(optimizer, options):
    from lossfilm.compute.descent import _descend

    scene = Scene(name="c", surface=surfaces.rosenbrock(), runs=[Run(optimizer, lr="tune", steps=120,
                                                                     options=options, noise=0.2)])
    run = scene.runs[0]
    together = descend(scene, run, 0, TUNE_LRS)
    start = torch.tensor(scene.start, dtype=torch.float64)
    for k in (0, 4, 7):  # each candidate against torch's own optimizer at that lr, alone
        alone = _descend(scene, run, 0, start, 120, [TUNE_LRS[k]])
        assert together.diverged_at[k] == alone.diverged_at[0]
        if alone.diverged_at[0] < 0:
            assert np.allclose(together.paths[k], alone.paths[0], rtol=0, atol=1e-9)


@pytest.mark.parametrize("surface", [surfaces.rosenbrock(), surfaces.monkey_saddle()], ids=["rosenbrock", "monkey"])
def test_a_races_runs_stepped_together_take_each_runs_own_path_to_the_bit(surface):
    """One evaluation of f per step for the whole race (descend_together), yet every run's path is the
    one it takes alone: own start, steps, noise, clipping, scheduler, weight decay; runs that diverge
    (monkey saddle) stop where they would alone. landscape() races this way, and a custom optimizer
    class still descends on its own."""
    from lossfilm.compute.descent import descend_together

    class Halving(torch.optim.SGD):  # the scene's own class: may evaluate f in its step, so it runs alone
        pass

    halve = lambda opt: torch.optim.lr_scheduler.StepLR(opt, 40, 0.5)  # noqa: E731
    runs = [Run("sgd", lr=1e-3, steps=150), Run("sgd", lr=1e-3, steps=90, options={"momentum": 0.9}, noise=0.5),
            Run(torch.optim.NAdam, lr=0.05, steps=120, start=(0.5, -0.5)),
            Run("adam", lr=0.3, steps=150, clip_grad_norm=1.0, scheduler=halve, scheduler_every="step"),
            Run("rmsprop", lr=0.01, steps=60, options={"weight_decay": 0.01}), Run("sgd", lr=3.0, steps=80),
            Run(Halving, lr=1e-3, steps=50)]
    scene = Scene(name="t", surface=surface, runs=runs, seed=3)
    alone = [descend(scene, run, i, [run.lr]) for i, run in enumerate(runs)]
    together = descend_together(scene, list(enumerate(runs[:-1])))
    for a, b in zip(alone, together):
        assert a.paths.shape == b.paths.shape and np.array_equal(a.paths, b.paths)
        assert a.diverged_at[0] == b.diverged_at[0]
    if surface.label == "monkey saddle":
        assert any(d.diverged_at[0] >= 0 for d in together)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the runs that diverge say so
        traces = landscape(scene).traces
    for a, trace in zip(alone, traces):
        end = len(trace.alpha)
        assert np.array_equal(a.paths[0][:end, 0], trace.alpha) and np.array_equal(a.paths[0][:end, 1], trace.beta)


def test_gradient_and_velocity_arrows_point_downhill_and_along_the_step():
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.settings import Look

    scene = Scene(name="a", surface=surfaces.himmelblau(points=60), start=(-0.5, -0.3),
                  runs=[Run("sgd", lr=0.002, steps=60, options={"momentum": 0.9}), Run("adam", lr=0.05, steps=60)])
    land = landscape(scene)
    style = Style(gradient_arrows=True, velocity_arrows=True)  # two runs: each run's arrows follow that run
    assert Painter(land, plan(land, scene.camera, 4), Style(), Look(640, 360, 20)).arrows == []  # off by default
    painter = Painter(land, plan(land, scene.camera, 4), style, Look(640, 360, 20))
    painter.paint(1)
    trace = land.traces[0]
    s = int(painter.plan.steps[1, 0])
    assert [(k, kind) for k, kind, _ in painter.arrows] == [(0, "gradient"), (0, "velocity"), (1, "gradient"),
                                                             (1, "velocity")]
    (_, _, grad_line), (_, _, step_line) = painter.arrows[:2]
    for line, want in ((grad_line, -trace.grad[s]),
                       (step_line, np.array([trace.alpha[s] - trace.alpha[s - 1], trace.beta[s] - trace.beta[s - 1]]))):
        x, y, _ = line.get_data_3d()
        shaft = np.array([x[1] - x[0], y[1] - y[0]])
        assert (x[0], y[0]) == (trace.alpha[s], trace.beta[s])
        assert shaft @ want / (np.linalg.norm(shaft) * np.linalg.norm(want)) > 0.999
