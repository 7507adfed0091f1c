"""The renderer: runs one scene through compute -> plan -> paint -> encode and reports what it made.

This is the library entry point (``lossfilm.render``); the command line only parses and calls it.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from . import cache as landscape_cache
from .compute import compute
from .landscape import Landscape
from .encode import (WRITERS, PosterWriter, Writer, clean_stale_parts, gif_from_video, join_segments, part_path,
                     webm_from_video)
from .executor import local, split
from .errors import BadInput, SceneError
from .paint import Look
from .plan import plan
from .scene import Scene
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
SEGMENTS_PER_WORKER = 4
MIN_SEGMENT_FRAMES = 8
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

    def as_json(self) -> dict:
        return {"scene": self.scene, "outputs": self.outputs, "frames": self.frames, "size": list(self.size),
                "fps": self.fps, "cache": self.cache,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}}


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
                  progress=None) -> tuple[Landscape, str]:
    """The scene's numbers, from the cache when they were computed before: (landscape, 'hit'|'miss'|'off')."""
    if not use_cache:
        return compute(scene, progress), "off"
    found, path = landscape_cache.fetch(scene, Path(cache_dir))
    if found is not None:
        return found, "hit"
    landscape = compute(scene, progress)
    try:
        landscape_cache.save(landscape, path)
    except OSError as exc:
        warnings.warn(f"{scene.name}: could not write cache {path}: {exc.strerror}", RuntimeWarning, stacklevel=2)
    return landscape, "miss"


def render(scene: Scene, quality: str = "medium", formats: Sequence[str] = ("mp4", "gif"),
           out: Path | str = "media", fps: int | None = None, duration: float | None = None,
           use_cache: bool = True, cache_dir: Path | str = "media/cache", progress: bool = False,
           size: tuple[int, int] | None = None, jobs: int = 1, executor=None) -> Result:
    """Render ``scene`` to ``out/<scene name>.<format>`` for each format and return what was made.

    ``size`` (width, height) overrides the quality preset's frame size. ``jobs`` > 1 paints contiguous
    frame ranges in that many worker processes, each encoding its own segment, then joins them;
    ``executor`` (see lossfilm.executor) lends workers already started, e.g. to several renders.
    """
    if quality not in QUALITIES:
        raise BadInput(f"quality: expected one of {', '.join(QUALITIES)}, got {quality!r}")
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in WRITERS]
    if unknown or not formats:
        raise BadInput(f"format: expected one or more of {', '.join(WRITERS)}, got {' '.join(unknown) or 'none'}")
    if not isinstance(jobs, int) or jobs < 1:
        raise BadInput(f"jobs: expected a positive integer, got {jobs!r}")
    preset = QUALITIES[quality]
    fps = fps if fps is not None else (scene.fps or preset.fps)
    duration = duration if duration is not None else scene.duration
    if not isinstance(fps, int) or fps <= 0:
        raise SceneError("fps", "a positive integer", fps).at(scene.name)
    if not duration > 0:
        raise SceneError("duration", "a positive number of seconds", duration).at(scene.name)
    frames = max(1, int(round(fps * duration)))
    width, height = check_size(size) if size is not None else (preset.width, preset.height)
    out = check_output_dir(Path(out))
    clean_stale_parts(out)

    bar = _bar(progress)
    t0 = time.perf_counter()
    segmented = jobs > 1 and frames >= 2 * jobs
    own = segmented and executor is None
    if own:
        executor = local(jobs)  # workers start while the landscape is loaded or computed
    try:
        landscape, cache_state = landscape_for(scene, use_cache, cache_dir, bar)
        t_compute = time.perf_counter() - t0
        frame_plan = plan(landscape, scene.camera, frames)
        look = Look(width, height, preset.surface_quads)
        film = Film(scene.name, Picture(landscape, frame_plan, scene.style, look, fps, quality), out, formats)
        if segmented:
            outputs, t_paint, t_encode = film.in_segments(jobs, executor, bar)
        else:
            outputs, t_paint, t_encode = film.streamed(bar)
    except BaseException:
        if own:
            executor.abort()
            own = False
        raise
    finally:
        if own:
            executor.close()
        if bar:
            bar.close()
    return Result(scene=scene.name, outputs=outputs, frames=frames, size=(look.width, look.height), fps=fps,
                  cache=cache_state,
                  seconds={"compute": t_compute, "paint": t_paint, "encode": t_encode,
                           "total": time.perf_counter() - t0})


@dataclass
class Film:
    """One film to make from computed numbers: the two ways of making it share everything else."""

    name: str
    picture: Picture
    out: Path
    formats: list[str]

    def target(self, fmt: str) -> Path:
        return self.out / f"{self.name}.{fmt}"

    def streamed(self, bar) -> tuple[dict[str, str], float, float]:
        """One painter in this process streaming every frame into one ffmpeg per format."""
        pic = self.picture
        painter = pic.painter()
        writers: list[Writer] = [WRITERS[f](self.target(f), pic.size, pic.fps, pic.quality) for f in self.formats]
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
            t_encode += time.perf_counter() - t
        except BaseException:
            for w in writers:
                w.abort()
            raise
        finally:
            painter.close()
        return outputs, t_paint, t_encode

    def in_segments(self, jobs: int, executor, bar=None) -> tuple[dict[str, str], float, float]:
        """Frame ranges painted and encoded by workers, joined without re-encoding; the GIF is made from
        the joined film. ``paint`` is the workers' wall time, ``encode`` the join and the GIF pass."""
        owner = os.getpid()
        key = f"{self.name}-{owner}-{time.time_ns()}"
        # A few segments per worker: progress to show, and a fast worker takes more of them.
        pic = self.picture
        frames = len(pic.plan)
        ranges = split(frames, min(jobs * SEGMENTS_PER_WORKER, frames // MIN_SEGMENT_FRAMES or 1))
        # Segments and a GIF-only master are temporary files of this render: hidden, named with our pid.
        tasks = [SegmentTask(key, pic, a, b, str(part_path(self.out / f"{self.name}-seg{k:04d}.mp4", owner)), owner)
                 for k, (a, b) in enumerate(ranges)]
        segments = [Path(t.path) for t in tasks] + [part_path(Path(t.path), owner) for t in tasks]
        master = (self.target("mp4") if "mp4" in self.formats
                  else part_path(self.out / f"{self.name}-master.mp4", owner))
        try:
            t = time.perf_counter()
            tick = bar("paint", len(tasks)) if bar else None
            executor.run(paint_segment, tasks, tick)
            t_paint = time.perf_counter() - t
            # Each worker published its segment under its final segment name; join those.
            done = [Path(task.path) for task in tasks]
            t = time.perf_counter()
            outputs = {}
            join_segments(done, master)
            if "mp4" in self.formats:
                outputs["mp4"] = str(master)
            if "gif" in self.formats:
                outputs["gif"] = str(gif_from_video(master, self.target("gif"), pic.fps))
            if "webm" in self.formats:
                outputs["webm"] = str(webm_from_video(master, self.target("webm")))
            if "png" in self.formats:  # the poster is painted here, not decoded from the lossy film
                poster = PosterWriter(self.target("png"), pic.size, pic.fps).setup()
                painter = pic.painter()
                poster.grab_frame(painter.paint(frames - 1))
                painter.close()
                outputs["png"] = str(poster.finish())
            t_encode = time.perf_counter() - t
        finally:
            for seg in segments:
                seg.unlink(missing_ok=True)
            if "mp4" not in self.formats:
                master.unlink(missing_ok=True)
        return outputs, t_paint, t_encode
