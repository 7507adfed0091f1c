"""A film logged where the run is tracked: ``tensorboard(result, writer)`` and ``wandb(result, run)``.

``result`` is what ``render()`` returns. TensorBoard gets the landscape as a mesh (its Mesh dashboard),
the poster as an image and the film as an animated GIF (its Images dashboard shows one moving; a GIF
render output is used as it is), and each run's final loss as a scalar. W&B gets the MP4 as a
``wandb.Video``, the interactive page as ``wandb.Html``, the poster as a ``wandb.Image``, a table of the
runs and their numbers in the run's summary. Each takes what the render made: ask for the formats you
want logged (``formats=["mp4", "gif", "png", "html"]``). The tracking libraries are the caller's objects;
nothing here imports them until a function is called.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from .errors import needs

__all__ = ["tensorboard", "wandb"]


def _views(result):
    views = getattr(result, "views", None)
    if not views:
        raise ValueError("lossfilm.log: expected the result of render() (it carries the film's numbers)")
    return views


def _triangles(quads: np.ndarray) -> np.ndarray:
    """Each quad (a, b, c, d) as two triangles (a, b, c) and (a, c, d): TensorBoard's meshes are triangles."""
    return np.concatenate([quads[:, [0, 1, 2]], quads[:, [0, 2, 3]]]).astype(np.int32)


def _run_numbers(result) -> list[dict]:
    return [{"scene": run.get("scene", result.scene), "label": run["label"], "loss": run.get("loss"),
             "lr": run.get("lr"), "steps": run.get("steps"), "diverged": bool(run.get("diverged", False))}
            for run in result.runs]


def tensorboard(result, writer, step: int = 0, tag: str | None = None) -> list[str]:
    """Log ``result`` to a TensorBoard ``SummaryWriter`` (``torch.utils.tensorboard``'s or tensorboardX's):
    the landscape as a mesh per view (a comparison: one per panel), the poster (``png``) as an image, the
    film as an animated GIF (``gif``), each run's final loss as a scalar. Returns the tags written."""
    from .output.mesh import surface_mesh

    tag = tag or result.scene
    views = _views(result)
    tags = []
    for view in views:
        points, quads, colors = surface_mesh(view.landscape, view.style)
        name = f"{tag}/landscape" + (f"/{view.name}" if len(views) > 1 else "")
        writer.add_mesh(name, vertices=points[None].astype(np.float32), faces=_triangles(quads)[None],
                        colors=colors[None], global_step=step)
        tags.append(name)
    if "png" in result.outputs:
        import matplotlib.image

        poster = matplotlib.image.imread(result.outputs["png"])[..., :3]
        writer.add_image(f"{tag}/poster", poster, global_step=step, dataformats="HWC")
        tags.append(f"{tag}/poster")
    if "gif" in result.outputs:
        writer.file_writer.add_summary(_gif_summary(f"{tag}/film", Path(result.outputs["gif"])), step)
        tags.append(f"{tag}/film")
    for run in _run_numbers(result):
        if run["loss"] is not None and np.isfinite(run["loss"]):
            name = f"{tag}/final loss/{run['label']}" + (f" ({run['scene']})" if len(views) > 1 else "")
            writer.add_scalar(name, float(run["loss"]), global_step=step)
            tags.append(name)
    writer.flush()
    return tags


def _gif_summary(tag: str, gif: Path):
    """The GIF as it is, as an image summary: how TensorBoard's own ``add_video`` shows a video (it
    encodes one with moviepy; the render has made it already)."""
    summary_pb2 = needs("tensorboard.compat.proto.summary_pb2", "lossfilm.log.tensorboard", "log", "tensorboard")
    data = gif.read_bytes()
    width, height = int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    image = summary_pb2.Summary.Image(height=height, width=width, colorspace=4, encoded_image_string=data)
    return summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, image=image)])


def wandb(result, run, tag: str | None = None) -> dict:
    """Log ``result`` to a W&B run (``wandb.init(...)``'s), in one step: the MP4 as ``wandb.Video``, the
    interactive page (``html``) as ``wandb.Html``, the poster as ``wandb.Image``, a ``runs`` table, each run's
    final loss and the frame count (in the run's summary too). Returns what was logged, by key."""
    wb = needs("wandb", "lossfilm.log.wandb", "log")
    tag = tag or result.scene
    _views(result)
    logged = {}
    outputs = result.outputs
    if "mp4" in outputs:
        logged[f"{tag}/film"] = wb.Video(outputs["mp4"], format="mp4")
    if "html" in outputs:
        logged[f"{tag}/page"] = wb.Html(Path(outputs["html"]).read_text(encoding="utf-8"))
    if "png" in outputs:
        logged[f"{tag}/poster"] = wb.Image(outputs["png"])
    numbers = _run_numbers(result)
    columns = ["scene", "label", "loss", "lr", "steps", "diverged"]
    logged[f"{tag}/runs"] = wb.Table(columns=columns, data=[[r[c] for c in columns] for r in numbers])
    for r in numbers:  # logged with the media: W&B keeps each key's last value in the run's summary too
        if r["loss"] is not None:
            logged[f"{tag}/final loss/{r['label']}"] = r["loss"]
    logged[f"{tag}/frames"] = result.frames
    run.log(logged)
    return logged
