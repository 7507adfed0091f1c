"""Films of training done elsewhere: your loop (record), your checkpoints, your data loader, loss and
optimizer, and a Lightning run."""
import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from lossfilm import Grid, PCAPlane, RandomPlane, Run, Scene, Trajectory, WeightsPlane, datasets, models, record
from lossfilm.compute.build import build_model, compute, train

ROOT = Path(__file__).resolve().parents[1]


def small_article(**changes):
    data = datasets.piecewise(n=600, seed=3)
    scene = Scene(name="small", data=data, model=models.article_net, init={"0.weight": -1.0, "2.weight": -1.0},
                  runs=[Run(lr=0.05, epochs=3, batch_size=64)], plane=WeightsPlane("0.weight", "2.weight"),
                  grid=Grid(a=(-2, 2), b=(-2, 2), step=0.25, fit="fixed"))
    return dataclasses.replace(scene, **changes)


def own_loop(scene, checkpoints: Path | None = None):
    """The built-in trainer's loop written by hand, as a user would, inside record()."""
    torch.manual_seed(scene.seed)
    model = build_model(scene)
    run = scene.runs[0]
    opt = torch.optim.SGD(model.parameters(), lr=run.lr)
    x, y = torch.as_tensor(scene.data.x_train), torch.as_tensor(scene.data.y_train)
    step = 0
    if checkpoints:
        torch.save(model.state_dict(), checkpoints / f"step_{step}.pt")
    with record(model, opt, label="mine") as path:
        for _ in range(run.epochs):
            for start in range(0, len(x), run.batch_size):
                opt.zero_grad()
                ((model(x[start:start + run.batch_size])[:, 0] - y[start:start + run.batch_size]) ** 2).mean().backward()
                opt.step()
                step += 1
                if checkpoints:
                    torch.save(model.state_dict(), checkpoints / f"step_{step}.pt")
            path.epoch()
    return path


def test_record_gives_exactly_the_built_in_trainers_path():
    scene = small_article()
    path = own_loop(scene)
    ours = train(scene, scene.runs[0])
    assert path.steps == len(ours.thetas) - 1 == 21  # 420 training rows in batches of 64, 3 epochs
    np.testing.assert_array_equal(path.params, ours.thetas)
    np.testing.assert_array_equal(path.epoch_ends, ours.epoch_ends)


def test_checkpoints_of_every_step_give_the_same_path_again(tmp_path):
    scene = small_article()
    path = own_loop(scene, checkpoints=tmp_path)
    again = Trajectory.from_checkpoints(tmp_path / "step_*.pt")
    assert again.sources[:3] == tuple(str(tmp_path / f"step_{k}.pt") for k in range(3))  # step_2 before step_10
    np.testing.assert_array_equal(again.params, path.params)
    np.testing.assert_array_equal(again.step_numbers, np.arange(22))


def test_a_path_from_outside_films_like_a_run_and_survives_save_and_load(tmp_path):
    scene = small_article()
    path = own_loop(scene)
    path.save(tmp_path / "mine.npz")
    loaded = Trajectory.load(tmp_path / "mine.npz")
    with np.load(tmp_path / "mine.npz", allow_pickle=False) as z:  # plain arrays and a JSON header
        assert "header" in z
    ours = compute(scene)
    theirs = compute(dataclasses.replace(scene, runs=(), paths=[loaded]))
    np.testing.assert_allclose(theirs.loss, ours.loss, rtol=1e-6)
    np.testing.assert_allclose(theirs.traces[0].alpha, ours.traces[0].alpha, rtol=1e-6)
    race = compute(dataclasses.replace(scene, paths=[loaded]))  # ours against theirs
    assert len(race.traces) == 2


def test_a_callable_loss_surface_equals_a_per_point_loop():
    data = datasets.moons(n=120, seed=1)
    scene = Scene(name="callable", data=data, model=models.mlp(2, (6,), 2), loss=nn.CrossEntropyLoss(),
                  runs=[Run("adam", lr=0.05, epochs=2, batch_size=32)], plane=RandomPlane(seed=2),
                  grid=Grid.around_paths(points=7), evaluate_on="train")
    land = compute(scene)
    assert land.loss_name == "cross-entropy"
    trained = train(scene, scene.runs[0])
    from lossfilm.compute.evaluate import ParamSpace

    space = ParamSpace(trained.model)
    theta0, d1, d2, _ = scene.plane.basis(space, trained.thetas, 256)
    model = trained.model.eval()
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    expected = np.empty_like(land.loss)
    for i, b in enumerate(land.betas):
        for j, a in enumerate(land.alphas):
            space.load(model, (theta0 + float(a) * d1 + float(b) * d2).numpy())
            with torch.no_grad():
                expected[i, j] = nn.CrossEntropyLoss()(model(x), y).item()
    np.testing.assert_allclose(land.loss, expected, rtol=1e-5)


def test_a_loss_that_vmap_cannot_batch_still_works():
    base = small_article()
    base = dataclasses.replace(base, runs=(), paths=[own_loop(base)])
    scene = dataclasses.replace(base, loss=lambda out, y: torch.tensor(float(((out[:, 0] - y) ** 2).mean().item())))
    np.testing.assert_allclose(compute(scene).loss, compute(base).loss, rtol=1e-5)


def test_a_dataloader_surface_equals_the_tensor_surface():
    scene = small_article()
    path = own_loop(scene)
    x, y = torch.as_tensor(scene.data.x_test), torch.as_tensor(scene.data.y_test)
    base = dataclasses.replace(scene, runs=(), paths=[path])
    tensors = compute(dataclasses.replace(base, data=(x, y)))
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=50)
    streamed = compute(dataclasses.replace(base, data=loader))
    np.testing.assert_allclose(streamed.loss, tensors.loss, rtol=1e-5)
    first_two = compute(dataclasses.replace(base, data=loader, eval_batches=2))
    head = compute(dataclasses.replace(base, data=(x[:100], y[:100])))
    np.testing.assert_allclose(first_two.loss, head.loss, rtol=1e-5)
    dataset = compute(dataclasses.replace(base, data=torch.utils.data.TensorDataset(x, y)))
    np.testing.assert_allclose(dataset.loss, tensors.loss, rtol=1e-6)


def test_a_scheduler_decays_the_steps_and_lbfgs_runs():
    scene = small_article(runs=[Run(lr=0.05, epochs=2, batch_size=64)])
    plain = train(scene, scene.runs[0]).thetas
    decayed = train(scene, Run(lr=0.05, epochs=2, batch_size=64, scheduler_every="step",
                               scheduler=lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.8))).thetas
    step = lambda t: np.linalg.norm(np.diff(t, axis=0), axis=1)  # noqa: E731
    assert step(decayed)[-1] < 0.15 * step(plain)[-1]  # lr 0.05 * 0.8^13 by the last of 14 steps
    np.testing.assert_array_equal(decayed[:2], plain[:2])
    lbfgs = Run(torch.optim.LBFGS, lr=0.5, epochs=3, batch_size=len(scene.data.x_train), options={"max_iter": 5})
    rec = train(scene, lbfgs)
    assert len(rec.thetas) == 4 and rec.diverged_at == -1
    clipped = train(scene, Run(lr=0.05, epochs=1, batch_size=64, clip_grad_norm=1e-3)).thetas
    assert 0.99 * 0.05 * 1e-3 <= step(clipped).max() <= 1.01 * 0.05 * 1e-3  # float32 differences near 1


def test_a_custom_optimizer_class_defined_in_a_scene_file_races(tmp_path):
    from lossfilm.scene.loader import load_scenes

    scene = load_scenes(ROOT / "scenes" / "optimizer_zoo.py")[0]
    scene = dataclasses.replace(scene, runs=tuple(dataclasses.replace(r, epochs=1) for r in scene.runs))
    land = compute(scene)
    assert [t.steps for t in land.traces] == [55, 1, 55]
    assert all(np.isfinite(t.loss).all() for t in land.traces)


def test_the_lightning_callback_records_every_global_step(tmp_path):
    lightning = pytest.importorskip("lightning")
    from lossfilm.lightning import RecordPath

    class Module(lightning.LightningModule):
        def __init__(self):
            super().__init__()
            self.net = models.mlp(2, (5,), 2)()

        def training_step(self, batch, _):
            x, y = batch
            return nn.functional.cross_entropy(self.net(x), y)

        def configure_optimizers(self):
            return torch.optim.SGD(self.parameters(), lr=0.1)

    data = datasets.moons(n=96, seed=0)
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=16)
    callback = RecordPath(label="lightning")
    trainer = lightning.Trainer(max_epochs=2, accumulate_grad_batches=2, callbacks=[callback], logger=False,
                                enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                                accelerator="cpu", default_root_dir=str(tmp_path))
    module = Module()
    trainer.fit(module, loader)
    path = callback.trajectory
    assert path.steps + 1 == trainer.global_step + 1 and trainer.global_step == 2 * 3  # 6 batches, 2 per step
    assert len(path.epoch_ends) == 2
    # Lightning's checkpoint: its "net." prefix is matched against the scene's plain model.
    trainer.save_checkpoint(tmp_path / "last.ckpt")
    from_ckpt = Trajectory.from_checkpoints(tmp_path / "*.ckpt")
    scene = Scene(name="lit", data=data, model=models.mlp(2, (5,), 2), loss="cross_entropy", paths=[path, from_ckpt],
                  plane=PCAPlane(), grid=Grid.around_paths(points=5), evaluate_on="train")
    land = compute(scene)
    np.testing.assert_allclose(land.traces[1].loss[-1], land.traces[0].loss[-1], rtol=1e-6)
    assert from_ckpt.step_numbers.tolist() == [6]


# --- bad checkpoints: exit 2, one line naming the file, nothing written -----------------------------------

CKPT_SCENE = '''
import torch
from lossfilm import Grid, PCAPlane, Scene, Trajectory, datasets, models

scene = Scene(name="ckpt", data=datasets.piecewise(n=300, seed=1), model=models.article_net,
              paths=[Trajectory.from_checkpoints(r"{pattern}")], plane=PCAPlane(), grid=Grid.around_paths(points=6))
'''


class Payload:
    def __reduce__(self):  # what a malicious checkpoint would run when unpickled
        return (Path.touch, (Path(MARKER),))


MARKER = ""


def _good(model=None):
    model = model or models.article_net()
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("case,message", [
    ("pickle", "tensors only, no pickled code"),
    ("missing", "expected the same tensors as"),
    ("extra", "unexpected 'head.weight'"),
    ("shape", "'2.weight' of shape (1, 1), as the model has"),
    ("corrupt", "a file torch.load(weights_only=True) reads"),
    ("empty", "expected one or more checkpoint files, got 'no file matches'"),
])
def test_a_bad_checkpoint_is_one_line_of_bad_input_and_never_runs_its_payload(tmp_path, capsys, case, message):
    global MARKER
    from lossfilm.cli import main

    folder = tmp_path / "ckpts"
    folder.mkdir()
    MARKER = str(tmp_path / "payload-ran")
    for k in range(3):
        state = _good()
        if k == 2 and case == "pickle":
            state = {"state_dict": state, "evil": Payload()}
        if k == 2 and case == "missing":
            del state["2.weight"]
        if k == 1 and case == "extra":
            state["head.weight"] = torch.zeros(2)
        if case == "shape":
            state["2.weight"] = torch.zeros(1, 2)
        if case != "empty":
            torch.save(state, folder / f"step_{k}.pt")
    if case == "corrupt":
        (folder / "step_1.pt").write_bytes(b"not a checkpoint at all")
    f = tmp_path / "ckpt.py"
    f.write_text(CKPT_SCENE.replace("{pattern}", str(folder / "step_*.pt")))
    code = main([str(f), "-q", "low", "-o", str(tmp_path / "out"), "--no-cache"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    if case not in ("empty", "missing", "extra", "shape"):
        assert "step_" in err  # names the file
    assert not Path(MARKER).exists()
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_the_shipped_examples_render(tmp_path):
    """examples/train_elsewhere.py writes checkpoints; scenes/from_checkpoints.py films them; own_loop too."""
    p = subprocess.run([sys.executable, str(ROOT / "examples" / "train_elsewhere.py"), "--steps", "40"], cwd=tmp_path,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    scenes = [str(ROOT / "scenes" / f"{scene}.py") for scene in ("from_checkpoints", "own_loop")]
    p = subprocess.run([sys.executable, str(ROOT / "render.py"), *scenes, "-q", "low", "--fps", "4", "--duration", "1",
                        "--format", "png", "-o", "out", "-j", "1"], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    for scene in ("from_checkpoints", "own_loop"):
        assert (tmp_path / "out" / f"{scene}.png").is_file()


def test_a_path_larger_than_memory_mb_goes_to_a_mapped_file_with_the_same_rows():
    from lossfilm.trajectory import Rows

    rows, small = Rows(5, memory_mb=256), Rows(5, memory_mb=40 * 5 * 4 / 2**20)  # 40 rows fit
    data = np.random.default_rng(0).normal(size=(700, 5)).astype(np.float32)
    for k, row in enumerate(data):
        (rows.append if k % 2 else rows.append_from)([torch.as_tensor(row)] if not k % 2 else row)
        (small.append if k % 2 else small.append_from)([torch.as_tensor(row)] if not k % 2 else row)
    assert isinstance(small.array(), np.memmap) and not isinstance(rows.array(), np.memmap)
    np.testing.assert_array_equal(small.array(), data)
    np.testing.assert_array_equal(rows.array(), data)


def test_eval_batches_is_said_in_the_subtitle():
    from lossfilm.pictures import style_for as _style_for

    scene = small_article()
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(10, 1), torch.zeros(10)), batch_size=2)
    bounded = dataclasses.replace(scene, data=loader, eval_batches=3, style=dataclasses.replace(scene.style, subtitle="x"))
    assert _style_for(bounded).subtitle == "x · loss on the first 3 batches of the data"
    assert _style_for(scene) is scene.style


def _hf_checkpoints(folder, model, steps, shard_at=None):
    """Folders as a Hugging Face Trainer writes them: checkpoint-N/ with model.safetensors (or its shards and
    their index) and trainer_state.json; the weights move a little every step, as training would."""
    from safetensors.torch import save_file

    saved = []
    for k, step in enumerate(steps):
        with torch.no_grad():
            for p in model.parameters():
                p.add_(0.01 * (k + 1))
        state = {n: p.detach().clone().contiguous() for n, p in model.named_parameters()}
        out = folder / f"checkpoint-{step}"
        out.mkdir(parents=True)
        if step == shard_at:  # split in two shards with the Trainer's index
            names = list(state)
            shards = {"model-00001-of-00002.safetensors": names[:1], "model-00002-of-00002.safetensors": names[1:]}
            for shard, keys in shards.items():
                save_file({n: state[n] for n in keys}, str(out / shard))
            (out / "model.safetensors.index.json").write_text(json.dumps(
                {"metadata": {}, "weight_map": {n: shard for shard, keys in shards.items() for n in keys}}))
        else:
            save_file(state, str(out / "model.safetensors"))
        (out / "trainer_state.json").write_text(json.dumps({"global_step": step, "epoch": step / 40}))
        saved.append(state)
    return saved


def test_trainer_checkpoint_folders_of_safetensors_are_read_without_pickle(tmp_path):
    from lossfilm import Trajectory, models

    model = models.mlp(2, (4,), 2)()
    saved = _hf_checkpoints(tmp_path / "out", model, [10, 20, 40, 80], shard_at=40)
    path = Trajectory.from_checkpoints(tmp_path / "out" / "checkpoint-*")
    assert sorted(path.names) == sorted(n for n, _ in model.named_parameters())
    # Rows hold the tensors in the files' own order (matched to the model by name when filmed).
    expected = np.stack([np.concatenate([state[n].reshape(-1).numpy() for n in path.names]) for state in saved])
    np.testing.assert_array_equal(path.params, expected)
    assert path.step_numbers.tolist() == [10, 20, 40, 80] and path.label == "out"
    assert all(Path(s).name.startswith("checkpoint-") for s in path.sources)


def test_a_trainer_checkpoint_folder_is_filmed_through_the_command_line(cli, tmp_path):
    from lossfilm import models

    _hf_checkpoints(tmp_path / "run", models.mlp(2, (4,), 2)(), [5, 10, 15, 20, 25])
    scene = tmp_path / "hf_run.py"
    scene.write_text(f"""
from lossfilm import PCAPlane, Scene, Trajectory, datasets, models

scene = Scene(name="hf_run", data=datasets.moons(n=200, seed=0), model=models.mlp(2, (4,), 2), loss="cross_entropy",
              paths=[Trajectory.from_checkpoints({str(tmp_path / 'run' / 'checkpoint-*')!r})], plane=PCAPlane())
""")
    done = cli(str(scene), "-q", "low", "--fps", "4", "--duration", "1", "--format", "npz", "-o", str(tmp_path / "o"),
               "--no-cache")
    assert done.returncode == 0, done.stderr
    with np.load(tmp_path / "o" / "hf_run.npz") as z:
        assert z["path0_step"].tolist() == [5, 10, 15, 20, 25]


@pytest.mark.parametrize("broken", ["empty", "missing", "shape", "shard"])
def test_a_bad_trainer_checkpoint_is_told_by_file(tmp_path, broken):
    from safetensors.torch import save_file

    from lossfilm import Trajectory, models
    from lossfilm.errors import SceneError

    model = models.mlp(2, (4,), 2)()
    _hf_checkpoints(tmp_path / "out", model, [10, 20], shard_at=20 if broken == "shard" else None)
    bad = tmp_path / "out" / "checkpoint-20"
    if broken == "empty":
        (bad / "model.safetensors").unlink()
        expected = "a checkpoint folder with model.safetensors"
    elif broken == "missing":
        state = {n: p.detach().clone() for n, p in model.named_parameters()}
        state.pop("0.bias")
        save_file(state, str(bad / "model.safetensors"))
        expected = "missing '0.bias'"
    elif broken == "shape":
        state = {n: p.detach().clone() for n, p in model.named_parameters()}
        state["0.weight"] = torch.zeros(5, 2)
        save_file(state, str(bad / "model.safetensors"))
        expected = "'0.weight' of shape (4, 2)"
    else:
        (bad / "model-00002-of-00002.safetensors").unlink()
        expected = "a shard the index names"
    with pytest.raises(SceneError, match="checkpoint .*checkpoint-20") as caught:
        Trajectory.from_checkpoints(tmp_path / "out" / "checkpoint-*")
    assert expected in str(caught.value)
