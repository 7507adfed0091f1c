"""A film logged where the run is tracked, read back with the real libraries: TensorBoard's event file
through its own EventAccumulator, a W&B offline run through its run folder and its history records (the
step the media were logged in: the summary's own records were once missing from a run on a busy machine)."""
import glob
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lossfilm import Run, Scene, surfaces
from lossfilm.studio import render

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    out = tmp_path_factory.mktemp("logged")
    scene = Scene(name="logged", surface=surfaces.rosenbrock(), start=(-1.5, 2.0), duration=1.0, fps=6,
                  runs=[Run("adam", lr=0.05, steps=40), Run("sgd", lr=1e-3, steps=40)])
    return render(scene, formats=["mp4", "gif", "png", "html"], out=out, cache_dir=out / "cache")


def test_tensorboard_gets_the_mesh_the_poster_the_film_and_the_numbers(film, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from torch.utils.tensorboard import SummaryWriter

    import lossfilm.log
    from lossfilm.output.mesh import surface_mesh

    writer = SummaryWriter(str(tmp_path))
    lossfilm.log.tensorboard(film, writer, step=3)
    writer.close()
    [events] = glob.glob(str(tmp_path / "events.out.tfevents.*"))
    acc = EventAccumulator(events, size_guidance={"images": 0, "tensors": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"logged/poster", "logged/film"} <= set(tags["images"])
    assert {"logged/landscape_VERTEX", "logged/landscape_FACE", "logged/landscape_COLOR"} <= set(tags["tensors"])
    # The mesh is the surface's: its vertices and colours as the PLY writer makes them, two triangles a quad.
    view = film.views[0]
    points, quads, colors = surface_mesh(view.landscape, view.style)
    from tensorboard.util import tensor_util

    vertices = tensor_util.make_ndarray(acc.Tensors("logged/landscape_VERTEX")[0].tensor_proto)
    faces = tensor_util.make_ndarray(acc.Tensors("logged/landscape_FACE")[0].tensor_proto)
    shades = tensor_util.make_ndarray(acc.Tensors("logged/landscape_COLOR")[0].tensor_proto)
    np.testing.assert_allclose(vertices[0], points.astype(np.float32))
    assert faces.shape == (1, 2 * len(quads), 3) and faces.max() < len(points)
    np.testing.assert_array_equal(shades[0], colors)
    assert acc.Tensors("logged/landscape_VERTEX")[0].step == 3
    # The film: the render's GIF, byte for byte; the poster: the PNG's pixels.
    [gif] = acc.Images("logged/film")
    assert gif.encoded_image_string == Path(film.outputs["gif"]).read_bytes() and gif.step == 3
    [poster] = acc.Images("logged/poster")
    assert (poster.width, poster.height) == tuple(film.size)
    # Each run's final loss.
    for run in film.runs:
        [scalar] = acc.Scalars(f"logged/final loss/{run['label']}")
        assert scalar.value == pytest.approx(run["loss"], rel=1e-6)


def _wandb_records(path: Path):
    """The records of a W&B run file: a LevelDB-style log (7-byte header, 32 KiB blocks, records split
    across blocks as full/first/middle/last), each a protobuf Record."""
    from wandb.proto import wandb_internal_pb2

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, pending, block = 7, b"", 32768
    while pos + 7 <= len(data):
        left = block - pos % block
        if left < 7:
            pos += left
            continue
        length, kind = int.from_bytes(data[pos + 4:pos + 6], "little"), data[pos + 6]
        pending += data[pos + 7:pos + 7 + length]
        pos += 7 + length
        if kind in (1, 4):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            pending = b""
            yield record


def test_wandb_offline_gets_the_video_the_page_the_poster_and_the_runs(film, tmp_path, monkeypatch):
    wandb = pytest.importorskip("wandb")
    import lossfilm.log

    monkeypatch.setenv("WANDB_SILENT", "true")
    run = wandb.init(mode="offline", dir=str(tmp_path), project="lossfilm-test")
    lossfilm.log.wandb(film, run)
    run.finish()
    [folder] = glob.glob(str(tmp_path / "wandb" / "offline-run-*"))
    folder = Path(folder)
    media = folder / "files" / "media"
    [video] = (media / "videos" / "logged").glob("film_*.mp4")
    assert video.read_bytes() == Path(film.outputs["mp4"]).read_bytes()
    [page] = (media / "html" / "logged").glob("page_*.html")
    assert "plotly" in page.read_text(encoding="utf-8")
    assert list((media / "images" / "logged").glob("poster_*.png"))
    [table] = (media / "table" / "logged").glob("runs_*.table.json")
    rows = json.loads(table.read_text())
    assert rows["columns"] == ["scene", "label", "loss", "lr", "steps", "diverged"]
    assert [(r[1], r[2]) for r in rows["data"]] == [(r["label"], r["loss"]) for r in film.runs]
    [runfile] = folder.glob("run-*.wandb")
    history = {item.key or "/".join(item.nested_key): json.loads(item.value_json)
               for rec in _wandb_records(runfile) if rec.WhichOneof("record_type") == "history"
               for item in rec.history.item}
    for r in film.runs:
        assert history[f"logged/final loss/{r['label']}"] == pytest.approx(r["loss"], rel=1e-12)
    assert history["logged/frames"] == film.frames


@pytest.mark.parametrize("module, call", [("tensorboard", "lossfilm.log._gif_summary('t', None)"),
                                          ("wandb", "lossfilm.log.wandb(type('R', (), {'scene': 's', 'views': [1]})(), None)")])
def test_without_the_tracking_library_the_call_says_what_to_install(module, call, tmp_path):
    code = (f"import sys; sys.modules[{module!r}] = None\nimport lossfilm.log\n"
            f"try:\n    {call}\nexcept ImportError as exc:\n    print(type(exc).__name__, exc)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                          env={"PYTHONPATH": str(ROOT)})
    assert done.stdout.strip().startswith(f"MissingPackage lossfilm.log.{module} needs the {module} package: "
                                          "pip install 'lossfilm[log]'"), done
