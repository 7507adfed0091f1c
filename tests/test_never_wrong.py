"""Never a silently wrong film: a user's optimizer that ignores the closure, a loop that moves weights to new
memory, weights changed after the last step. Each through the real command line, each against plain torch."""
import json

import numpy as np
import pytest

PLAIN_SGD = '''
import torch


class PlainSGD(torch.optim.Optimizer):
    """The most common hand-written optimizer: reads p.grad, never calls the closure, returns None."""

    def __init__(self, params, lr=0.01):
        super().__init__(params, dict(lr=lr))

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.data.add_(p.grad, alpha=-group["lr"])
'''


def _render(cli, tmp_path, name, source, *extra):
    scene = tmp_path / f"{name}.py"
    scene.write_text(source)
    done = cli(str(scene), "-q", "low", "--fps", "4", "--duration", "1", "--format", "npz", "-o", str(tmp_path / "out"),
               "--cache-dir", str(tmp_path / "cache"), "--json", *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1]), np.load(tmp_path / "out" / f"{name}.npz"), done


def test_an_optimizer_that_ignores_the_closure_moves_on_a_surface_as_in_plain_torch(cli, tmp_path):
    result, z, _ = _render(cli, tmp_path, "plain_rosen", PLAIN_SGD + '''
from lossfilm import Run, Scene, surfaces

scene = Scene(name="plain_rosen", surface=surfaces.rosenbrock(), start=(1.0, 1.6),
              runs=[Run(PlainSGD, lr=1e-3, steps=300), Run(PlainSGD, lr="tune", steps=300, label="tuned")])
''')
    # Plain torch, written out: the same class's rule on Rosenbrock's own formula, in float64.
    p = np.array([1.0, 1.6])
    for _ in range(300):
        x, y = p
        grad = np.array([-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)])
        p = p - 1e-3 * grad
    end = np.array([z["path0_alpha"][-1], z["path0_beta"][-1]])
    assert np.abs(end - p).max() < 1e-9, (end, p)
    assert np.hypot(*(end - [1.0, 1.6])) > 0.2  # it moved (it once stood still at its start)
    tuned = result["runs"][1]
    # Tuning once tied all eleven lrs (no run moved) and took the smallest; 1e-3 is among them.
    assert tuned["lr"] > 1e-5 and tuned["loss"] <= result["runs"][0]["loss"] + 1e-12


def test_an_optimizer_that_ignores_the_closure_trains_a_network_exactly_as_torchs_sgd(cli, tmp_path):
    """A network's run: it once failed with 'Could not infer dtype of NoneType' (step's return value)."""
    _, z, _ = _render(cli, tmp_path, "plain_net", PLAIN_SGD + '''
from lossfilm import PCAPlane, Run, Scene, datasets, models

scene = Scene(name="plain_net", data=datasets.moons(n=300, seed=0), model=models.mlp(2, (8,), 2),
              loss="cross_entropy", plane=PCAPlane(),
              runs=[Run(PlainSGD, lr=0.2, epochs=3, batch_size=32, label="plain"),
                    Run("sgd", lr=0.2, epochs=3, batch_size=32, label="torch")])
''')
    for part in ("alpha", "beta", "loss"):
        np.testing.assert_allclose(z[f"path0_{part}"], z[f"path1_{part}"], rtol=1e-5, atol=1e-6)
    assert z["path0_loss"][-1] < 0.8 * z["path0_loss"][0]


LOOP = '''
import numpy as np
import torch
from lossfilm import PCAPlane, Scene, datasets, models, record


class Lookahead(torch.optim.Optimizer):
    """Lookahead (Zhang et al. 2019) over SGD: every k steps the slow weights move towards the fast ones,
    and the fast ones are set to them by assignment (p.data = ...), as many implementations do."""

    def __init__(self, params, lr=0.3, k=5, alpha=0.5):
        params = list(params)
        super().__init__(params, dict(lr=lr))
        self.inner, self.k, self.alpha, self.count = torch.optim.SGD(params, lr=lr), k, alpha, 0
        self.slow = [p.detach().clone() for p in params]

    def step(self, closure=None):
        self.inner.step()
        self.count += 1
        if self.count % self.k == 0:
            for s, p in zip(self.slow, self.param_groups[0]["params"]):
                s += self.alpha * (p.detach() - s)
                p.data = s.clone()


class FlatSGD(torch.optim.Optimizer):
    """A step computed on the flat vector of all weights, set back with vector_to_parameters."""

    def __init__(self, params, lr=0.3):
        super().__init__(params, dict(lr=lr))

    def step(self, closure=None):
        params = self.param_groups[0]["params"]
        flat = torch.nn.utils.parameters_to_vector(params).detach()
        grad = torch.cat([p.grad.reshape(-1) for p in params])
        torch.nn.utils.vector_to_parameters(flat - self.param_groups[0]["lr"] * grad, params)


data = datasets.moons(n=400, seed=0)
torch.manual_seed(0)
model = models.mlp(2, (8,), 2)()
opt = OPTIMIZER(model.parameters())
x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
with record(model, opt, label="loop") as path:
    for step in range(60):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
AFTER
np.save(OUT, torch.nn.utils.parameters_to_vector(model.parameters()).detach().numpy())
scene = Scene(name="NAME", data=data, model=models.mlp(2, (8,), 2), loss="cross_entropy", paths=[path],
              plane=PCAPlane())
'''


@pytest.mark.parametrize("how", ["lookahead", "vector_to_parameters"])
def test_a_loop_that_moves_weights_to_new_memory_is_recorded_where_they_are(cli, tmp_path, how):
    """The path ends at the model's final weights: PCAPlane is centred on the path's last row."""
    final = tmp_path / "final.npy"
    name = f"moved_{how}"
    source = (LOOP.replace("OPTIMIZER", "Lookahead" if how == "lookahead" else "FlatSGD").replace("AFTER", "")
              .replace("OUT", repr(str(final))).replace("NAME", name))
    _, z, done = _render(cli, tmp_path, name, source)
    assert "warning" not in done.stderr, done.stderr
    np.testing.assert_allclose(z["theta0"], np.load(final), rtol=1e-6, atol=1e-7)
    assert z["path0_alpha"][-1] == pytest.approx(0.0, abs=1e-5) and z["path0_beta"][-1] == pytest.approx(0.0, abs=1e-5)


def test_weights_changed_after_the_last_step_are_told_loudly(cli, tmp_path):
    source = (LOOP.replace("OPTIMIZER", "torch.optim.SGD").replace("OUT", repr(str(tmp_path / "final.npy")))
              .replace("NAME", "after")
              .replace("AFTER", "    with torch.no_grad():\n        model[0].weight.mul_(0.5)  # inside the block: an EMA copy, say"))
    _, _, done = _render(cli, tmp_path, "after", source)
    assert "warning: record('loop'): the model's weights differ from the last recorded step" in done.stderr
    assert "'0.weight'" in done.stderr


def test_a_surface_function_that_raises_where_a_run_goes_is_the_scenes_error(cli, tmp_path):
    """The preflight tries f at the start; a run that reaches where f raises was once an exit 1 naming nothing."""
    scene = tmp_path / "edge.py"
    scene.write_text('''
from lossfilm import Run, Scene, surfaces


def f(x, y):
    if (x > 2).any():
        raise ValueError("outside my table")
    return (x - 1) ** 2 + (y - 1) ** 2


scene = Scene(name="edge", surface=surfaces.function(f, domain=((-1, 3), (-1, 3))), start=(0.0, 0.0),
              runs=[Run("sgd", lr=0.9, steps=50)])
''')
    done = cli(str(scene), "-q", "low", "--duration", "1", "--format", "npz", "-o", str(tmp_path / "out"), "--no-cache")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert f"{scene} (scene 'edge'): surface.fn: expected a function f(x, y)" in done.stderr
    assert "ValueError: outside my table" in done.stderr and not (tmp_path / "out" / "edge.npz").exists()
