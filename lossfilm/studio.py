"""The renderer: runs one scene through compute -> plan -> paint -> encode and reports what it made.

This is the library entry point (``lossfilm.render``); the command line only parses and calls it.
"""
from __future__ import annotations

import contextlib
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import cache as landscape_cache
from .compute import compute
from .landscape import Landscape
from .encode import (WRITERS, MP4Writer, PosterWriter, Writer, clean_stale_parts, gif_from_video, has_encoder,
                     join_segments, part_path, webm_from_video)
from .executor import local, split
from .errors import BadInput, RenderError, SceneError
from .paint import Look
from .plan import plan
from .scene import DEVICES, Scene
from .segments import Picture, SegmentTask, paint_segment


@dataclass(frozen=True)
class Quality:
    width: int
    height: int
    fps: int
    surface_quads: int


# manim's presets; surface resolution per preset keeps low renders quick.
QUALITIES = {
    "low": Quality(854, 480, 15, 40),
    "medium": Quality(1280, 720, 30, 60),
    "high": Quality(1920, 1080, 60, 80),
    "4k": Quality(3840, 2160, 60, 100),
}
MIN_SIZE = 160
# Segments per worker: each costs an ffmpeg start and a key frame (-j 2 at 800x800: 2.42 s with one per
# worker, 2.54 with two, 2.64 with four), and more of them balance uneven workers. A local pool's workers
# are alike; a cluster's may be slow or lost, so its work comes in smaller pieces.
SEGMENTS_PER_WORKER = 2
SEGMENTS_PER_REMOTE_WORKER = 4
MIN_SEGMENT_FRAMES = 8
# GIFs are for the web: unless told otherwise, one is kept under this many megabytes (see GIF_LADDER).
GIF_BUDGET_MB = 2.0
MAX_SIZE = 7680


@dataclass
class Result:
    scene: str
    outputs: dict[str, str]
    frames: int
    size: tuple[int, int]
    fps: int
    cache: str
    seconds: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict:
        return {"scene": self.scene, "outputs": self.outputs, "frames": self.frames, "size": list(self.size),
                "fps": self.fps, "cache": self.cache,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}, "notes": self.notes}


def _bar(enabled: bool):
    """A progress factory: ``bar(stage, total)`` -> callback(n), or None when not on a terminal."""
    if not enabled:
        return None
    from tqdm import tqdm

    bars = []

    def make(stage: str, total: int) -> Callable[[int], None]:
        b = tqdm(total=total, desc=f"{stage:>14}", leave=False, dynamic_ncols=True)
        bars.append(b)

        def tick(n: int = 1) -> None:
            b.update(n)
            if b.n >= total:
                b.close()

        return tick

    make.close = lambda: [b.close() for b in bars]  # type: ignore[attr-defined]
    return make


def check_size(size) -> tuple[int, int]:
    """A frame size H.264 and the layout can take: even numbers from MIN_SIZE to MAX_SIZE pixels."""
    try:
        width, height = (int(v) for v in size)
    except (TypeError, ValueError):
        raise BadInput(f"size: expected WIDTHxHEIGHT in pixels, got {size!r}") from None
    for name, v in (("width", width), ("height", height)):
        if not MIN_SIZE <= v <= MAX_SIZE:
            raise BadInput(f"size: expected a {name} from {MIN_SIZE} to {MAX_SIZE} pixels, got {v}")
        if v % 2:
            raise BadInput(f"size: expected an even {name} (H.264 in yuv420p needs one), got {v}")
    return width, height


def check_output_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"-o {out}: expected a folder that can be created ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInput(f"-o {out}: expected a writable folder")
    return out


def landscape_for(scene: Scene, use_cache: bool = True, cache_dir: Path | str = "media/cache",
                  progress=None, device: str | None = None, executor=None) -> tuple[Landscape, str]:
    """The scene's numbers, from the cache when they were computed before: (landscape, 'hit'|'miss'|'off').

    ``device`` overrides the scene's; it is not part of the cache key, since a GPU and the CPU give the
    same numbers up to float rounding."""
    if not use_cache:
        return compute(scene, progress, device, executor), "off"
    found, path = landscape_cache.fetch(scene, Path(cache_dir))
    if found is not None:
        return found, "hit"
    landscape = compute(scene, progress, device, executor)
    try:
        landscape_cache.save(landscape, path)
    except OSError as exc:
        warnings.warn(f"{scene.name}: could not write cache {path}: {exc.strerror}", RuntimeWarning, stacklevel=2)
    return landscape, "miss"


def render(scene: Scene, quality: str = "medium", formats: Sequence[str] = ("mp4", "gif"),
           out: Path | str = "media", fps: int | None = None, duration: float | None = None,
           use_cache: bool = True, cache_dir: Path | str = "media/cache", progress: bool = False,
           size: tuple[int, int] | None = None, jobs: int = 1, executor=None,
           max_mb: float | None = GIF_BUDGET_MB, poster_at: float | None = None,
           device: str | None = None) -> Result:
    """Render ``scene`` to ``out/<scene name>.<format>`` for each format and return what was made.

    ``size`` (width, height) overrides the quality preset's frame size. ``jobs`` > 1 paints contiguous
    frame ranges in that many worker processes, each encoding its own segment, then joins them;
    ``executor`` (see lossfilm.executor) lends workers already started, e.g. to several renders.
    ``max_mb`` keeps the GIF under that many megabytes (None: no limit); ``Result.notes`` says what gave.
    ``poster_at`` picks the poster PNG's moment in seconds (default: the last frame). ``device``
    ('cpu', 'cuda' or 'auto') overrides the scene's choice of where the grid is evaluated.
    """
    options = dict(quality=quality, formats=formats, out=out, fps=fps, duration=duration, use_cache=use_cache,
                   cache_dir=cache_dir, progress=progress, size=size, max_mb=max_mb, poster_at=poster_at,
                   device=device)
    formats_, _, frames, *_ = _settings(scene, jobs=jobs, **options)
    segmented = _segmented(jobs, executor, formats_, frames)
    # Our own workers start now, while the landscape is loaded or computed; lent ones stay open.
    workers = local(jobs) if segmented and executor is None else contextlib.nullcontext(executor)
    with workers as executor:
        return _begin(scene, executor, jobs=jobs, **options).finish()


def render_many(scenes: Sequence[Scene], executor, **options) -> Iterator[tuple[Scene, Result | Exception]]:
    """Render several scenes on one set of workers, keeping them busy: while the workers paint one
    scene's segments, this process computes the next scene and hands its segments over too, then joins
    the first. Yields (scene, Result) in order, or (scene, the RenderError or OSError that stopped
    it: the other scenes still render). Bad input (BadInput, SceneError) stops everything at once."""
    in_flight: list[tuple[Scene, _Render]] = []

    def finish_oldest():
        scene, job = in_flight.pop(0)
        try:
            return scene, job.finish()
        except (RenderError, OSError) as exc:
            return scene, exc

    try:
        for scene in scenes:
            try:
                in_flight.append((scene, _begin(scene, executor, **options)))
            except (RenderError, OSError) as exc:
                in_flight.append((scene, _Failed(exc)))
            except (BadInput, SceneError) as exc:
                exc.scene = scene  # for the caller's message: which scene of which file
                raise
            # One scene ahead: its segments queue behind the running ones while we join the oldest.
            while len(in_flight) > 1:
                yield finish_oldest()
        while in_flight:
            yield finish_oldest()
    finally:
        for _, job in in_flight:
            job.cancel()


def _settings(scene: Scene, quality, formats, fps, duration, size, jobs, max_mb, poster_at, device, **_):
    """Checked render settings: (formats, fps, frames, poster index, (width, height), preset)."""
    if quality not in QUALITIES:
        raise BadInput(f"quality: expected one of {', '.join(QUALITIES)}, got {quality!r}")
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in WRITERS]
    if unknown or not formats:
        raise BadInput(f"format: expected one or more of {', '.join(WRITERS)}, got {' '.join(unknown) or 'none'}")
    if device is not None and device not in DEVICES:
        raise BadInput(f"device: expected one of {', '.join(DEVICES)}, got {device!r}")
    if not isinstance(jobs, int) or jobs < 1:
        raise BadInput(f"jobs: expected a positive integer, got {jobs!r}")
    if max_mb is not None and not (isinstance(max_mb, (int, float)) and max_mb > 0):
        raise BadInput(f"max-mb: expected a positive number of megabytes, got {max_mb!r}")
    if "webm" in formats and not has_encoder("libvpx-vp9"):
        raise BadInput("format: webm needs ffmpeg's libvpx-vp9 encoder, which this ffmpeg lacks (see ffmpeg -encoders)")
    preset = QUALITIES[quality]
    fps = fps if fps is not None else (scene.fps or preset.fps)
    duration = duration if duration is not None else scene.duration
    if not isinstance(fps, int) or fps <= 0:
        raise SceneError("fps", "a positive integer", fps).at(scene.name)
    if not duration > 0:
        raise SceneError("duration", "a positive number of seconds", duration).at(scene.name)
    frames = max(1, int(round(fps * duration)))
    if poster_at is not None and not 0 <= poster_at <= duration:
        raise BadInput(f"poster-at: expected a time from 0 to {duration:g} seconds, got {poster_at!r}")
    poster = frames - 1 if poster_at is None else min(frames - 1, int(round(poster_at * fps)))
    width, height = check_size(size) if size is not None else (preset.width, preset.height)
    return formats, fps, frames, poster, (width, height), preset


def _segmented(jobs: int, executor, formats: list[str], frames: int) -> bool:
    """Whether workers paint segments: with several of them, or on a cluster, and enough frames; a
    PNG sequence needs every painted frame exactly and is made by the streaming painter."""
    remote = getattr(executor, "remote", False)  # a cluster renders even with one worker
    return (jobs > 1 or remote) and frames >= 2 * jobs and "frames" not in formats


def _begin(scene: Scene, executor, *, quality: str = "medium", formats: Sequence[str] = ("mp4", "gif"),
           out: Path | str = "media", fps: int | None = None, duration: float | None = None, use_cache: bool = True,
           cache_dir: Path | str = "media/cache", progress: bool = False, size: tuple[int, int] | None = None,
           jobs: int = 1, max_mb: float | None = GIF_BUDGET_MB, poster_at: float | None = None,
           device: str | None = None) -> "_Render":
    """Check the settings, compute (or load) the numbers and start the film: a streamed film is made
    here and now; a segmented one has its segments handed to the workers, to be joined by ``finish``.
    The keyword options are ``render``'s."""
    options = dict(quality=quality, formats=formats, fps=fps, duration=duration, size=size, max_mb=max_mb,
                   poster_at=poster_at, device=device)
    formats, fps, frames, poster, (width, height), preset = _settings(scene, jobs=jobs, **options)
    segmented = _segmented(jobs, executor, formats, frames)
    out = check_output_dir(Path(out))
    clean_stale_parts(out)
    bar = _bar(progress)
    job = _Render(scene.name, bar, time.perf_counter())
    try:
        landscape, job.cache = landscape_for(scene, use_cache, cache_dir, bar, device, executor)
        job.seconds["compute"] = time.perf_counter() - job.t0
        frame_plan = plan(landscape, scene.camera, frames)
        look = Look(width, height, preset.surface_quads)
        job.film = Film(scene.name, Picture(landscape, frame_plan, scene.style, look, fps, quality), out, formats,
                        max_mb, poster)
        job.frames, job.size, job.fps = frames, (look.width, look.height), fps
        if segmented:
            job.segments = job.film.submit_segments(jobs, executor, bar)
        else:
            job.outputs, job.seconds["paint"], job.seconds["encode"] = job.film.streamed(bar)
            job.close_bar()
    except BaseException:
        job.cancel()
        raise
    return job


@dataclass
class _Render:
    """A render begun by ``_begin``: ``finish`` waits for its segments (if any) and returns the Result."""

    name: str
    bar: object
    t0: float
    cache: str = "off"
    film: "Film | None" = None
    segments: "Segments | None" = None
    outputs: dict[str, str] = field(default_factory=dict)
    frames: int = 0
    size: tuple[int, int] = (0, 0)
    fps: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def finish(self) -> Result:
        try:
            if self.segments is not None:
                self.outputs, self.seconds["paint"], self.seconds["encode"] = self.film.finish_segments(self.segments)
                self.segments = None
        except BaseException:
            self.cancel()
            raise
        self.close_bar()
        self.seconds["total"] = time.perf_counter() - self.t0
        return Result(scene=self.name, outputs=self.outputs, frames=self.frames, size=self.size, fps=self.fps,
                      cache=self.cache, notes=self.film.notes, seconds=dict(self.seconds))

    def cancel(self) -> None:
        """Forget the segments (their files are removed; the workers' pool is the caller's to stop)."""
        if self.segments is not None:
            self.segments.remove()
            self.segments = None
        self.close_bar()

    def close_bar(self) -> None:
        if self.bar:
            self.bar.close()
            self.bar = None


@dataclass
class _Failed:
    """A scene whose render stopped before its segments were handed over: ``finish`` re-raises."""

    error: Exception

    def finish(self) -> Result:
        raise self.error

    def cancel(self) -> None:
        pass


@dataclass
class Film:
    """One film to make from computed numbers: the two ways of making it share everything else.

    MP4, WebM and the poster are made from painted frames; the GIF is always made from a finished
    film (the MP4 when one is asked for, else a hidden master), so that its palette pass can be
    repeated with less when the GIF is over its budget.
    """

    name: str
    picture: Picture
    out: Path
    formats: list[str]
    max_mb: float | None = GIF_BUDGET_MB
    poster: int = -1  # frame index of the poster PNG
    notes: list[str] = field(default_factory=list)

    def target(self, fmt: str) -> Path:
        return self.out / f"{self.name}.{fmt}"

    def master_path(self) -> Path:
        return self.target("mp4") if "mp4" in self.formats else part_path(self.out / f"{self.name}-master.mp4")

    def _from_master(self, master: Path, outputs: dict[str, str]) -> dict[str, str]:
        if "gif" in self.formats:
            path, notes = gif_from_video(master, self.target("gif"), self.picture.fps, self.max_mb)
            outputs["gif"] = str(path)
            self.notes += notes
        return {f: outputs[f] for f in self.formats}

    def streamed(self, bar) -> tuple[dict[str, str], float, float]:
        """One painter in this process streaming every frame into one ffmpeg per format."""
        pic = self.picture
        painter = pic.painter()
        live = [f for f in self.formats if f != "gif"]
        writers: list[Writer] = [WRITERS[f](self.target(f), pic.size, pic.fps, pic.quality) for f in live]
        for w in writers:
            if isinstance(w, PosterWriter):
                w.index = self.poster % len(pic.plan)
        master = self.master_path()
        if "gif" in self.formats and "mp4" not in self.formats:
            writers.append(MP4Writer(master, pic.size, pic.fps, pic.quality))
        t_paint = t_encode = 0.0
        tick = bar("paint", len(pic.plan)) if bar else None
        try:
            for w in writers:
                w.setup()
            for i in range(len(pic.plan)):
                t = time.perf_counter()
                rgba = painter.paint(i)
                t_paint += time.perf_counter() - t
                t = time.perf_counter()
                for w in writers:
                    w.grab_frame(rgba)
                t_encode += time.perf_counter() - t
                if tick:
                    tick(1)
            t = time.perf_counter()
            outputs = {w.ext: str(w.finish()) for w in writers}
            outputs = self._from_master(master, outputs)
            t_encode += time.perf_counter() - t
        except BaseException:
            for w in writers:
                w.abort()
            raise
        finally:
            painter.close()
            if "mp4" not in self.formats:
                master.unlink(missing_ok=True)
        return outputs, t_paint, t_encode

    def in_segments(self, jobs: int, executor, bar=None) -> tuple[dict[str, str], float, float]:
        """Frame ranges painted and encoded by workers, joined without re-encoding; GIF and WebM are made
        from the joined film. ``paint`` is the workers' wall time, ``encode`` the join and what follows."""
        return self.finish_segments(self.submit_segments(jobs, executor, bar))

    def submit_segments(self, jobs: int, executor, bar=None) -> "Segments":
        """Hand the frame ranges to the workers and return at once."""
        owner = os.getpid()
        key = f"{self.name}-{owner}-{time.time_ns()}"
        pic = self.picture
        frames = len(pic.plan)
        # A few segments per worker: progress to show, and a fast worker takes more of them.
        remote = getattr(executor, "remote", False)
        per_worker = SEGMENTS_PER_REMOTE_WORKER if remote else SEGMENTS_PER_WORKER
        ranges = split(frames, min(jobs * per_worker, frames // MIN_SEGMENT_FRAMES or 1))
        # Segments and a master are temporary files of this render: hidden, named with our pid.
        tasks = [SegmentTask(key, pic, a, b, str(part_path(self.out / f"{self.name}-seg{k:04d}.mp4", owner)), owner,
                             remote) for k, (a, b) in enumerate(ranges)]
        segments = Segments(tasks, None, time.perf_counter(), bar("paint", len(tasks)) if bar else None)
        segments.pending = executor.start(paint_segment, tasks)
        return segments

    def finish_segments(self, segments: "Segments") -> tuple[dict[str, str], float, float]:
        """Wait for the segments, join them and make the other formats from the joined film."""
        pic = self.picture
        frames = len(pic.plan)
        tasks = segments.tasks
        master = self.master_path()
        try:
            for result in segments.pending.wait(segments.tick):
                if result.data is not None:  # from a worker on another machine: keep it here
                    Path(result.path).write_bytes(result.data)
            t_paint = time.perf_counter() - segments.t0
            t = time.perf_counter()
            outputs = {}
            # Each worker published its segment under its segment name; join those.
            join_segments([Path(task.path) for task in tasks], master)
            if "mp4" in self.formats:
                outputs["mp4"] = str(master)
            if "webm" in self.formats:
                outputs["webm"] = str(webm_from_video(master, self.target("webm")))
            if "png" in self.formats:  # the poster is painted here, not decoded from the lossy film
                poster = PosterWriter(self.target("png"), pic.size, pic.fps).setup()
                painter = pic.painter()
                poster.grab_frame(painter.paint(self.poster % frames))
                painter.close()
                outputs["png"] = str(poster.finish())
            outputs = self._from_master(master, outputs)
            t_encode = time.perf_counter() - t
        finally:
            segments.remove()
            if "mp4" not in self.formats:
                master.unlink(missing_ok=True)
        return outputs, t_paint, t_encode


@dataclass
class Segments:
    """A film's segment tasks handed to the workers."""

    tasks: list[SegmentTask]
    pending: object  # executor.Pending
    t0: float
    tick: Callable[[int], None] | None = None

    def remove(self) -> None:
        owner = self.tasks[0].owner if self.tasks else os.getpid()
        for task in self.tasks:
            Path(task.path).unlink(missing_ok=True)
            part_path(Path(task.path), owner).unlink(missing_ok=True)


def render_files(paths: Sequence[str | Path], jobs: int | None = None, **options) -> list[Result]:
    """Render every scene of every scene file (as ``render.py`` does) with one set of workers; the
    keyword options are ``render``'s. Returns one Result per scene, in order."""
    from .executor import default_jobs
    from .scene_loader import load_scenes

    workers = jobs or default_jobs()
    with local(workers) as pool:
        scenes = [scene for path in paths for scene in load_scenes(path)]
        results = []
        for _, result in render_many(scenes, pool, jobs=workers, **options):
            if isinstance(result, Exception):
                raise result
            results.append(result)
        return results
