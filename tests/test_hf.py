"""Hugging Face where its users are: a real ``Trainer`` on a tiny BERT built from a config (no download),
recorded by ``lossfilm.hf.RecordPath`` and checkpointed as safetensors, filmed on a PCA plane; the model's
output object and integer token ids understood as they are."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import torch

from lossfilm import Grid, PCAPlane, Scene, Trajectory

transformers = pytest.importorskip("transformers")

VOCAB, LENGTH = 24, 6


def _config():
    return transformers.BertConfig(vocab_size=VOCAB, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                                   intermediate_size=32, max_position_embeddings=LENGTH, num_labels=2,
                                   attn_implementation="eager")


def tiny_bert():
    return transformers.BertForSequenceClassification(_config())


def _tokens(n=64, seed=0):
    """Generated sentences of token ids; the label: whether token 3 occurs in it."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(4, VOCAB, size=(n, LENGTH))
    labels = rng.integers(0, 2, size=n)
    for row, label in zip(ids, labels):
        if label:
            row[rng.integers(0, LENGTH)] = 3
    return ids.astype(np.int64), labels.astype(np.int64)


class _Rows(torch.utils.data.Dataset):
    def __init__(self, ids, labels):
        self.ids, self.labels = torch.as_tensor(ids), torch.as_tensor(labels)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, i):
        return {"input_ids": self.ids[i], "labels": self.labels[i]}


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A real Trainer run: 2 epochs of 64 rows in batches of 8 with 2 accumulated per step (8 steps),
    a checkpoint every 2 steps."""
    from lossfilm.hf import RecordPath

    out = tmp_path_factory.mktemp("trainer")
    ids, labels = _tokens()
    torch.manual_seed(0)
    model = tiny_bert()
    start = {k: v.detach().clone() for k, v in model.named_parameters()}
    path = RecordPath(label="BERT")
    args = transformers.TrainingArguments(
        output_dir=str(out), per_device_train_batch_size=8, gradient_accumulation_steps=2, num_train_epochs=2,
        learning_rate=5e-3, save_strategy="steps", save_steps=2, logging_steps=1, report_to=[], use_cpu=True,
        disable_tqdm=True, seed=0, dataloader_num_workers=0)
    trainer = transformers.Trainer(model=model, args=args, train_dataset=_Rows(ids, labels), callbacks=[path])
    trainer.train()
    return dict(out=out, path=path, trainer=trainer, model=model, start=start, ids=ids, labels=labels)


def test_the_trainer_callback_records_every_optimizer_step_as_the_trainer_counts_them(trained):
    path, trainer, model = trained["path"], trained["trainer"], trained["model"]
    traj = path.trajectory
    assert trainer.state.global_step == 8  # 2 epochs x 8 batches / 2 accumulated
    assert traj.steps == 8 and len(traj.params) == 9
    assert traj.epoch_ends.tolist() == [4, 8]
    names = [n for n, _ in model.named_parameters()]
    assert list(traj.names) == names
    flat = lambda params: np.concatenate([params[n].detach().reshape(-1).numpy() for n in names])  # noqa: E731
    np.testing.assert_array_equal(traj.params[0], flat(trained["start"]))
    np.testing.assert_array_equal(traj.params[-1], flat(dict(model.named_parameters())))
    assert set(path.logged) == set(range(1, 9))  # the loss the Trainer logged at each step


def test_trainer_checkpoints_are_the_recorded_steps(trained):
    traj = trained["path"].trajectory
    ckpts = Trajectory.from_checkpoints(str(trained["out"] / "checkpoint-*"))
    assert ckpts.step_numbers.tolist() == [2, 4, 6, 8]
    rows = ckpts.aligned(tiny_bert())[0]  # matched to the model by name: a file keeps its own order
    for k, step in enumerate(ckpts.step_numbers):
        np.testing.assert_array_equal(rows[k], traj.params[step])


def test_a_trainer_run_is_filmed_on_a_pca_plane_with_the_losses_of_plain_torch(trained, tmp_path):
    from lossfilm.studio import render

    traj = trained["path"].trajectory
    ids, labels = trained["ids"], trained["labels"]
    scene = Scene(name="bert", data=(ids, labels), model=tiny_bert, loss="cross_entropy", paths=[traj],
                  plane=PCAPlane(), grid=Grid.around_paths(points=7), duration=1.0, fps=4)
    result = render(scene, quality="low", formats=["mp4", "npz"], out=tmp_path, cache_dir=tmp_path / "cache")
    assert result.frames == 4
    numbers = np.load(result.outputs["npz"], allow_pickle=False)
    # The path's loss at its last step, as plain torch computes it with the trained model.
    model = trained["model"].eval()
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(torch.as_tensor(ids)).logits, torch.as_tensor(labels))
    np.testing.assert_allclose(numbers["path0_loss"][-1], float(expected), rtol=1e-5)
    np.testing.assert_allclose(numbers["path0_loss"][0], _loss_at(trained["start"], ids, labels), rtol=1e-5)


def _loss_at(params, ids, labels):
    model = tiny_bert().eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(params[name])
        return float(torch.nn.functional.cross_entropy(model(torch.as_tensor(ids)).logits, torch.as_tensor(labels)))


def test_token_ids_from_a_dataloader_reach_the_model_as_integers_too(trained, tmp_path):
    from lossfilm.compute.build import compute

    ids, labels = trained["ids"], trained["labels"]
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.as_tensor(ids), torch.as_tensor(labels)),
                                         batch_size=16)
    traj = trained["path"].trajectory
    arrays = compute(Scene(name="bert_arrays", data=(ids, labels), model=tiny_bert, loss="cross_entropy", paths=[traj],
                           plane=PCAPlane(), grid=Grid.around_paths(points=5)))
    streamed = compute(Scene(name="bert_loader", data=loader, model=tiny_bert, loss="cross_entropy", paths=[traj],
                             plane=PCAPlane(), grid=Grid.around_paths(points=5)))
    np.testing.assert_allclose(streamed.loss, arrays.loss, rtol=1e-5)


def test_a_scene_whose_model_is_not_the_trainers_is_one_line_of_bad_input(trained, rejected):
    traj = trained["path"].trajectory
    saved = trained["out"] / "bert_path.npz"
    traj.save(saved)
    done = rejected("other_model", textwrap.dedent(f"""
        import numpy as np
        from lossfilm import Grid, PCAPlane, Scene, Trajectory, models
        ids = np.random.default_rng(0).integers(0, 20, size=(32, 6))
        scene = Scene(name="other_model", data=(ids.astype("float32"), ids[:, 0] % 2), model=models.mlp(6, (8,), 2),
                      loss="cross_entropy", paths=[Trajectory.load(r"{saved}")], plane=PCAPlane(),
                      grid=Grid.around_paths(points=5))
        """))
    assert "paths (" in done.stderr and "bert_path.npz" in done.stderr and "is missing" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_without_transformers_the_callback_says_what_to_install(tmp_path):
    code = ("import sys; sys.modules['transformers'] = None\n"
            "try:\n    import lossfilm.hf\nexcept ImportError as exc:\n    print(type(exc).__name__, exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(__import__("pathlib").Path(__file__).parents[1])})
    assert done.stdout.strip() == ("MissingPackage lossfilm.hf.RecordPath needs the transformers package: "
                                   "pip install 'lossfilm[hf]' (or pip install -r requirements-hf.txt)"), done


def test_a_scene_file_without_transformers_is_one_line_and_exit_2(tmp_path):
    scene = tmp_path / "needs_hf.py"
    scene.write_text("import sys\nsys.modules['transformers'] = None  # as if it were not installed\n"
                     "from lossfilm.hf import RecordPath\n")
    root = __import__("pathlib").Path(__file__).parents[1]
    done = subprocess.run([sys.executable, str(root / "render.py"), str(scene), "-o", str(tmp_path / "out")],
                          capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        f"error: {scene}: lossfilm.hf.RecordPath needs the transformers package: pip install 'lossfilm[hf]' "
        "(or pip install -r requirements-hf.txt)"]
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())
