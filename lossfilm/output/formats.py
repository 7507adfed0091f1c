"""The output formats, one table (matplotlib's movie-writer registry and imageio's plugin list are the
models): each format says how it is made and what it is, and the film-making code (film.py) loops over
the table without naming a format.

How a format is made:

* ``streamed``: from every painted frame as it comes (``writer()`` returns an encode.Writer); the one
  ``master`` format is the film itself, which workers can also make in segments that are joined;
* ``derived``: from the finished master film (``derive()``), e.g. a GIF's palette passes;
* ``painted``: from one painted frame (``write_frame()``), e.g. the poster;
* ``resized``: from the film painted again at the format's own size (``make()``), e.g. a blog's GIF,
  whose small frame gets the small-frame layout with its text at least ``min_text_px`` tall;
* ``numbers``: from the computed numbers alone (``write_numbers()``): nothing is painted for it.

A new format is one subclass of the matching kind and one ``register()`` call.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import BadInput

STREAMED, DERIVED, PAINTED, RESIZED, NUMBERS = "streamed", "derived", "painted", "resized", "numbers"


@dataclass(frozen=True)
class Option:
    """One choice a format offers: ``--<format>-<name>`` on the command line (built from the table),
    ``render(format_options={"<format>": {"<name>": value}})`` in a script, and the format reads it with
    ``self.option(settings, name)``. Nothing else names it."""

    name: str
    default: str
    choices: tuple[str, ...]
    help: str

    def flag(self, fmt: "Format") -> str:
        return f"--{fmt.name}-{self.name}"


class Format:
    name = ""
    ext = ""
    mime = ""
    how = ""
    master = False  # the film every derived format is made from
    segmentable = True  # streamed: may workers make it in frame ranges joined afterwards?
    options: tuple[Option, ...] = ()  # the format's own choices (see Option)

    def option(self, settings, name: str) -> str:
        """The value of this format's option ``name`` for this render: the user's, else its default."""
        default = next(o.default for o in self.options if o.name == name)
        return dict(settings.format_options).get(f"{self.name}.{name}", default)

    def target(self, settings) -> Path:
        """Where the output goes: ``DIR/<scene name>.<ext>``."""
        return settings.target(self.ext)

    def unavailable(self) -> str | None:
        """Why this format cannot be made here (a missing encoder), or None."""
        return None

    @property
    def inline(self) -> str | None:
        """The HTML element that shows this format in a notebook, if any."""
        if self.how == STREAMED and not self.segmentable:
            return None  # a folder of files
        if self.mime == "text/html":
            return "iframe"
        return {"video": "video", "image": "img"}.get(self.mime.partition("/")[0])


class Streamed(Format):
    how = STREAMED

    def writer(self, path: Path, settings, owner: int | None = None):
        raise NotImplementedError


class Derived(Format):
    how = DERIVED

    def derive(self, master: Path, path: Path, settings) -> list[str]:
        """Make ``path`` from the finished ``master`` film; returns notes on what had to give."""
        raise NotImplementedError


class Painted(Format):
    how = PAINTED

    def frame(self, settings) -> int:
        return settings.poster

    def write_frame(self, rgba, path: Path, settings) -> None:
        raise NotImplementedError


class Resized(Format):
    """Painted again at its own size: ``width`` px wide at the film's aspect, its smallest text at least
    ``min_text_px`` tall (settings.Look: the small-frame layout where the frame is small)."""

    how = RESIZED
    width = 480
    min_text_px = 11.0

    def size(self, settings, width: int | None = None) -> tuple[int, int]:
        """The frame size at ``width`` (default: the format's) with the film's aspect, both sides even."""
        w = min(width or self.width, settings.look.width) // 2 * 2
        return w, max(2, int(round(w * settings.look.height / settings.look.width / 2)) * 2)

    def fitted_size(self, settings, width: int | None, fits) -> tuple[int, int]:
        """The first size from ``width`` up, a fifth wider each time and at most the film's own, where
        ``fits(size)`` does not raise BadInput (a comparison's panels that can be read); else its error."""
        w = width or self.width
        while True:
            size = self.size(settings, w)
            try:
                fits(size)
                return size
            except BadInput:
                if size[0] >= settings.look.width:
                    raise
            w = int(w * 1.2)

    def make(self, source, path: Path, settings) -> list[str]:
        """Make ``path`` from ``source(width, fps)``: (the path of the film painted about ``width`` px wide
        at ``fps``, lossless, made once per size; its (width, height)). Returns notes on what had to give."""
        raise NotImplementedError


class Numbers(Format):
    how = NUMBERS

    def write_numbers(self, views, path: Path) -> None:
        """Write ``path`` from ``views``: one segments.Picture (landscape, frame plan, style, settings,
        name) for a scene, one per panel (each with its caption) for a comparison."""
        raise NotImplementedError


def _slug(name: str) -> str:
    """An array name for a metric's name: "accuracy %" -> "accuracy"."""
    import re

    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "metric"


FORMATS: dict[str, Format] = {}


def register(fmt: type[Format]) -> type[Format]:
    FORMATS[fmt.name] = fmt()
    return fmt


def master() -> Format:
    return next(f for f in FORMATS.values() if f.master)


def check_available(names) -> None:
    for name in names:
        why = FORMATS[name].unavailable()
        if why:
            raise BadInput(f"format: {name} {why}")


def check_options(given) -> dict[str, dict[str, str]]:
    """``{format: {option: value}}`` checked against the table, with the options left at their defaults
    dropped. Bad input names the flag."""
    checked: dict[str, dict[str, str]] = {}
    for fmt_name, values in (given or {}).items():
        fmt = FORMATS.get(fmt_name)
        if fmt is None or not isinstance(values, Mapping):
            raise BadInput(f"format_options: expected {{format: {{option: value}}}} for formats with options "
                           f"({', '.join(f.name for f in FORMATS.values() if f.options) or 'none'}), got {fmt_name!r}")
        for name, value in values.items():
            option = next((o for o in fmt.options if o.name == name), None)
            if option is None:
                raise BadInput(f"format_options: {fmt_name} has no option {name!r} (it has: "
                               f"{', '.join(o.name for o in fmt.options) or 'none'})")
            if value not in option.choices:
                raise BadInput(f"{option.flag(fmt)}: expected one of {', '.join(option.choices)}, got {value!r}")
            if value != option.default:
                checked.setdefault(fmt_name, {})[name] = value
    return checked


@register
class MP4(Streamed):
    """H.264 in yuv420p with the index first: plays in browsers and slide software. A storyboard's film
    carries its chapters and (unless ``--mp4-captions none``) its captions as a soft subtitle track."""

    name = ext = "mp4"
    mime = "video/mp4"
    master = True
    options = (Option("captions", "soft", ("soft", "none"),
                      "a storyboard's captions in the MP4: soft (a subtitle track players can turn on; the "
                      "default) or none (chapter marks only)"),)

    def writer(self, path, settings, owner=None):
        from .encode import MP4Writer

        return MP4Writer(path, settings.size, settings.fps, settings.x264_preset, owner, settings.x264_params,
                         settings.encoder_threads)


@register
class Frames(Streamed):
    """Every frame as a numbered PNG in ``DIR/<name>_frames/`` (00000.png, ...), for editing elsewhere."""

    name = ext = "frames"
    mime = "image/png"
    segmentable = False  # every frame exactly as painted, from one painter

    def target(self, settings) -> Path:
        return settings.out / f"{settings.name}_frames"

    def writer(self, path, settings, owner=None):
        from .encode import FramesWriter

        return FramesWriter(path, settings.size, settings.fps, owner=owner)


@register
class GIF(Resized):
    """A looping GIF for a blog, painted at its own size (480 px wide) with text a reader can read; one
    palette for the clip, kept under ``--max-mb``."""

    name = ext = "gif"
    mime = "image/gif"
    width = 480

    def make(self, source, path, settings):
        from .encode import gif_from_source

        return gif_from_source(source, path, settings.fps, settings.max_mb, self.size(settings)[0])


@register
class WebP(Resized):
    """An animated WebP for blogs that take it: full colour and a larger frame (720 px wide) than the
    GIF's in the same ``--max-mb`` budget."""

    name = ext = "webp"
    mime = "image/webp"
    width = 720

    def unavailable(self):
        from .encode import has_encoder

        if not has_encoder("libwebp_anim"):
            return "needs ffmpeg's libwebp_anim encoder, which this ffmpeg lacks (see ffmpeg -encoders)"
        return None

    def make(self, source, path, settings):
        from .encode import webp_from_source

        return webp_from_source(source, path, settings.fps, settings.max_mb, self.size(settings)[0])


@register
class WebM(Derived):
    """VP9 in WebM, for pages that prefer an open codec."""

    name = ext = "webm"
    mime = "video/webm"

    def unavailable(self):
        from .encode import has_encoder

        if not has_encoder("libvpx-vp9"):
            return "needs ffmpeg's libvpx-vp9 encoder, which this ffmpeg lacks (see ffmpeg -encoders)"
        return None

    def derive(self, master, path, settings):
        from .encode import webm_from_video

        webm_from_video(master, path)
        return []


@register
class Poster(Painted):
    """A poster PNG: the frame at ``--poster-at`` (default the last), painted, never decoded from a film."""

    name = "png"
    ext = "png"
    mime = "image/png"

    def write_frame(self, rgba, path, settings):
        from .encode import write_png

        write_png(rgba, settings.size, path)


@register
class NPZ(Numbers):
    """The numbers behind the film, for the user's own plots: plain arrays and a JSON header naming
    each, read with ``np.load(path, allow_pickle=False)``."""

    name = ext = "npz"
    mime = "application/octet-stream"

    def write_numbers(self, views, path):
        """``views``: one segments.Picture (the numbers, the frame plan's labels and colours, the style),
        or a comparison's panels: then every array is named ``<panel scene>/<array>`` and the header
        lists the panels, each with its own header."""
        import json

        import numpy as np

        from .._plumbing.files import write_npz

        if views[0].caption is not None:
            arrays, panels = {}, []
            for panel in views:
                name, caption = panel.name, panel.caption
                own, head = self._arrays(panel)
                arrays.update({f"{name}/{k}": v for k, v in own.items()})
                head["arrays"] = {f"{name}/{k}": v for k, v in head["arrays"].items()}
                for p in head["paths"]:
                    p["arrays"] = [f"{name}/{k}" for k in p["arrays"]]
                panels.append({"scene": name, "caption": caption, **head})
            head = {"panels": panels}
        else:
            arrays, head = self._arrays(views[0])
        arrays["header"] = np.array(json.dumps(head))
        write_npz(path, arrays)

    @staticmethod
    def _arrays(picture) -> tuple[dict, dict]:
        import numpy as np

        land, plan = picture.landscape, picture.plan
        arrays = {"alphas": land.alphas, "betas": land.betas, "loss": land.loss}
        described = {"alphas": "alpha of each grid column", "betas": "beta of each grid row",
                     "loss": "loss[i, j] at (alphas[j], betas[i])"}
        if land.surfaces is not None:
            arrays.update(surfaces=land.surfaces, surface_steps=np.asarray(
                [land.traces[0].step_at(int(k)) for k in land.surface_steps], np.int64))
            described.update(surfaces="(K, rows, cols) the surface at each of K moments of training, each through "
                                      "that moment's weights (loss is the last)",
                             surface_steps="the training step of each surface")
        for name, grid in land.metrics.items():  # beside the loss (or the loss, when a metric is the height)
            arrays[_slug(name)] = grid
            described[_slug(name)] = f"{name} at (alphas[j], betas[i]), like loss"
        if len(land.minima):
            arrays["minima"] = land.minima
            described["minima"] = "(k, 2) the surface's known minima as (alpha, beta)"
        for name, v in land.plane.items():
            arrays[name] = v
        if land.plane:
            described.update(theta0="the plane's centre in weight space (the model's parameters, flattened in "
                                    "named_parameters() order)",
                             d1="the direction of alpha: a point is theta0 + alpha * d1 + beta * d2",
                             d2="the direction of beta")
        paths = []
        for i, (t, label, color) in enumerate(zip(land.traces, plan.labels, plan.colors)):
            names = {f"path{i}_alpha": t.alpha, f"path{i}_beta": t.beta, f"path{i}_loss": t.loss,
                     f"path{i}_step": t.step_numbers if t.step_numbers is not None else np.arange(len(t.alpha)),
                     f"path{i}_epoch_ends": t.epoch_ends}
            for name, values in t.metrics.items():
                names[f"path{i}_{_slug(name)}"] = values
                described[f"path{i}_{_slug(name)}"] = f"run {label!r}'s {name} at each recorded step"
            if t.sharpness is not None:
                names[f"path{i}_sharpness"] = t.sharpness_by_step()
                described[f"path{i}_sharpness"] = (f"run {label!r}'s curvature at moments of training, one row each: "
                                                   + ", ".join(land.facts["sharpness"]["columns"]))
            arrays.update(names)
            described.update({f"path{i}_alpha": f"alpha of run {label!r} at each recorded step",
                              f"path{i}_beta": f"beta of run {label!r} at each recorded step",
                              f"path{i}_loss": f"run {label!r}'s loss at each recorded step",
                              f"path{i}_step": "the training step of each recorded point",
                              f"path{i}_epoch_ends": "the index (into the path) at which each epoch ends"})
            paths.append({"label": label, "color": color, "diverged_at": t.diverged_at, "lr": t.lr,
                          "arrays": list(names)})
        return arrays, {"axis_labels": list(land.axis_labels), "loss_name": land.loss_name, "arrays": described,
                        "paths": paths}


@register
class HTML(Numbers):
    """An interactive plotly page: turn the surface, hover for (alpha, beta, loss), play the paths.
    plotly.js is inlined unless ``--html-js cdn`` or ``directory`` says otherwise."""

    name = ext = "html"
    mime = "text/html"
    options = (Option("js", "inline", ("inline", "cdn", "directory"),
                      "how the html page gets plotly.js: inline (one self-contained file, works offline; the "
                      "default), cdn (a small page that loads it from plotly's CDN) or directory (plotly.min.js "
                      "written beside the page)"),)

    def unavailable(self):
        try:
            import plotly  # noqa: F401
        except ImportError:
            return "needs plotly (pip install -r requirements.txt)"
        return None

    def write_numbers(self, views, path):
        from .page import write_html

        captions = [v.caption for v in views] if views[0].caption is not None else None
        write_html([(v.landscape, v.plan, v.style) for v in views], path, self.option(views[0].settings, "js"),
                   captions=captions)


class Captions(Numbers):
    """A storyboard's titles and callouts as timed captions, for a ``<video>``'s ``<track>`` or a player."""

    needs_story = True

    def write_numbers(self, views, path):
        from . import captions
        from .._plumbing.files import write_text

        cues = views[0].plan.story.captions(views[0].settings.fps)
        write_text(path, getattr(captions, self.name)(cues))


@register
class VTT(Captions):
    """WebVTT captions: what a browser's ``<video>`` shows from a ``<track>``."""

    name = ext = "vtt"
    mime = "text/vtt"


@register
class SRT(Captions):
    """SubRip captions, for video players and editors."""

    name = ext = "srt"
    mime = "application/x-subrip"


@register
class PLY(Numbers):
    """The surface as a mesh with vertex colours and every path as a polyline, for ParaView and Blender."""

    name = ext = "ply"
    mime = "application/octet-stream"

    def write_numbers(self, views, path):
        from .mesh import write_ply

        write_ply([(v.landscape, v.plan, v.style) for v in views], path)
