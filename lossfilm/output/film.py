"""A film's outputs: every format the render asked for, made the way the format table says.

Two ways of making the master film share everything else: one painter in this process streaming every
frame into each streamed format's writer, or workers painting frame ranges into master segments that are
joined here. Then painted formats get their frame, derived formats are made from the finished master
(a hidden one when the master format itself was not asked for) and number formats from the landscape.
No format is named here: each one's kind and methods are in formats.py.
"""
from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import formats as table
from .encode import join_segments, part_path
from .._plumbing.executor import split
from .segments import Picture, SegmentTask, paint_segment

# Segments per worker: each costs an ffmpeg start and a key frame (-j 2 at 800x800: 2.42 s with one per
# worker, 2.54 with two, 2.64 with four), and more of them balance uneven workers. A local pool's workers
# are alike; a cluster's may be slow or lost, so its work comes in smaller pieces.
SEGMENTS_PER_WORKER = 2
SEGMENTS_PER_REMOTE_WORKER = 4
MIN_SEGMENT_FRAMES = 8


def encoder_threads(jobs: int) -> int:
    """x264's threads beside ``jobs`` painters on this machine's cores (lossfilm._plumbing.threads): each painter
    keeps a core busy, the encoders share the rest, one thread each at the least. ffmpeg's own choice,
    1.5 threads per core for every encoder, oversubscribed a 2-core machine painting in two workers:
    one thread each took 0.965-0.975x the wall time of the Rosenbrock race (farm-bench, 8 and 10
    interleaved pairs)."""
    from .._plumbing.threads import cores

    return max(1, cores() // max(1, jobs) - 1)


def _with_threads(picture, threads: int):
    settings = dataclasses.replace(picture.settings, encoder_threads=threads)
    return dataclasses.replace(picture, settings=settings)


def _asked(settings, how: str) -> list[table.Format]:
    return [table.FORMATS[f] for f in settings.formats if table.FORMATS[f].how == how]


def _needs_master(settings) -> bool:
    return table.master().name in settings.formats or bool(_asked(settings, table.DERIVED))


@dataclass
class Film:
    picture: Picture
    notes: list[str] = field(default_factory=list)

    @property
    def settings(self):
        return self.picture.settings

    def _asked(self, how: str) -> list[table.Format]:
        return _asked(self.settings, how)

    def _needs_master(self) -> bool:
        return _needs_master(self.settings)

    def _story(self):
        """The storyboard whose chapters and captions the master film carries, or None."""
        return getattr(getattr(self.picture, "plan", None), "story", None)

    def _master_path(self) -> Path:
        """Where the master film is made: under its final name, or hidden when it was not asked for or
        gets its chapters afterwards (a storyboard's: copied to its final name with them)."""
        fmt = table.master()
        target = fmt.target(self.settings)
        if fmt.name in self.settings.formats and self._story() is None:
            return target
        return part_path(target.with_name(f"{target.stem}-master{target.suffix}"))

    def _stream_path(self, fmt) -> Path:
        return self._master_path() if fmt.master else fmt.target(self.settings)

    def _with_story(self, master: Path, outputs: dict[str, str]) -> None:
        """A storyboard's master, asked for: copied to its final name with its chapters and captions."""
        story, fmt = self._story(), table.master()
        if story is None or fmt.name not in self.settings.formats:
            return
        from .captions import with_story

        s = self.settings
        cues = story.captions(s.fps) if fmt.option(s, "captions") == "soft" else []
        outputs[fmt.name] = str(with_story(master, fmt.target(s), story.chapters(s.fps), cues))

    @staticmethod
    def wants_segments(settings, jobs: int, remote: bool, style=None) -> bool:
        """Whether workers paint this film in segments: with several of them (or on a cluster), enough
        frames, a master to make, and no streamed format that needs every frame from one painter. A flat
        film (``style.view == "2d"``) up to 1080p streams here: a frame costs it about 5 ms at 720p, less
        than starting a worker's figure and a segment's encoder saves (bench_surfaces: 5.2 s streamed
        against 5.6 s in segments for the Rosenbrock race)."""
        if style is not None and style.view == "2d" and not remote and settings.size[0] * settings.size[1] <= 1920 * 1080:
            return False
        return ((jobs > 1 or remote) and settings.frames >= 2 * jobs and _needs_master(settings)
                and all(f.segmentable for f in _asked(settings, table.STREAMED)))

    def streamed(self, bar) -> tuple[dict[str, str], float, float]:
        """One painter in this process streaming every frame into each streamed format's writer; no
        frame is painted twice, and only the painted formats' frames when nothing streams."""
        pic = _with_threads(self.picture, encoder_threads(1))
        s = pic.settings
        painter = pic.painter()
        master = self._master_path()
        writers = {f.name: f.writer(self._stream_path(f), s) for f in self._asked(table.STREAMED)}
        if self._needs_master() and table.master().name not in writers:
            writers[table.master().name] = table.master().writer(master, s)
        wanted = {f.frame(s) % s.frames: None for f in self._asked(table.PAINTED)}
        t_paint = t_encode = 0.0
        outputs: dict[str, str] = {}
        try:
            for w in writers.values():
                w.setup()
            frames = range(s.frames) if writers else sorted(wanted)
            tick = bar("paint", len(frames)) if bar else None
            for i in frames:
                t = time.perf_counter()
                rgba = painter.paint(i)
                t_paint += time.perf_counter() - t
                t = time.perf_counter()
                for w in writers.values():
                    w.grab_frame(rgba)
                if i in wanted:
                    wanted[i] = bytes(rgba)
                t_encode += time.perf_counter() - t
                if tick:
                    tick(1)
            t = time.perf_counter()
            for name, w in writers.items():
                outputs[name] = str(w.finish())
            t_encode += time.perf_counter() - t
        except BaseException:
            for w in writers.values():
                w.abort()
            painter.close()
            self._drop_hidden(master)
            raise
        painter.close()
        t = time.perf_counter()
        try:
            self._with_story(master, outputs)
            self._painted(outputs, lambda i: wanted[i])
            self._resized(outputs)
            outputs = self._after_master(master, outputs)
        finally:
            self._drop_hidden(master)
        return outputs, t_paint, t_encode + time.perf_counter() - t

    def submit_segments(self, jobs: int, executor, bar=None) -> "Segments":
        """Hand the master's frame ranges to the workers and return at once."""
        owner = os.getpid()
        key = f"{self.settings.name}-{owner}-{time.time_ns()}"
        frames = self.settings.frames
        # A few segments per worker: progress to show, and a fast worker takes more of them.
        per_worker = SEGMENTS_PER_REMOTE_WORKER if executor.remote else SEGMENTS_PER_WORKER
        ranges = split(frames, min(jobs * per_worker, frames // MIN_SEGMENT_FRAMES or 1))
        # Segments are temporary files of this render: hidden, named with our pid and this render's key.
        master = table.master()
        base = master.target(self.settings)
        # A cluster's workers are other machines: their encoders choose for themselves.
        picture = self.picture if executor.remote else _with_threads(self.picture, encoder_threads(jobs))
        tasks = [SegmentTask(key, picture, a, b,
                             str(part_path(base.with_name(f"{key}-seg{k:04d}{base.suffix}"), owner)), owner,
                             executor.remote) for k, (a, b) in enumerate(ranges)]
        segments = Segments(tasks, None, time.perf_counter(), bar("paint", len(tasks)) if bar else None)
        segments.pending = executor.start(paint_segment, tasks)
        return segments

    def finish_segments(self, segments: "Segments") -> tuple[dict[str, str], float, float]:
        """Wait for the segments, join them into the master and make the other formats from it."""
        master = self._master_path()
        try:
            for result in segments.pending.wait(segments.tick):
                if result.data is not None:  # from a worker on another machine: keep it here
                    Path(result.path).write_bytes(result.data)
            t_paint = time.perf_counter() - segments.t0
            t = time.perf_counter()
            join_segments([Path(task.path) for task in segments.tasks], master)
            outputs = {table.master().name: str(master)}
            self._with_story(master, outputs)
            painter = None
            try:
                def frame(i):  # painted here, not decoded from the lossy film
                    nonlocal painter
                    painter = painter or self.picture.painter()
                    return bytes(painter.paint(i))

                self._painted(outputs, frame)
            finally:
                if painter is not None:
                    painter.close()
            self._resized(outputs)
            outputs = self._after_master(master, outputs)
            t_encode = time.perf_counter() - t
        finally:
            segments.remove()
            self._drop_hidden(master)
        return outputs, t_paint, t_encode

    def _painted(self, outputs: dict[str, str], frame: Callable[[int], bytes]) -> None:
        s = self.settings
        for f in self._asked(table.PAINTED):
            path = f.target(s)
            f.write_frame(frame(f.frame(s) % s.frames), path, s)
            outputs[f.name] = str(path)

    def _resized(self, outputs: dict[str, str]) -> None:
        """Formats made from the film painted again at their own size: each size painted once, into a
        lossless temporary film that is gone when they are made."""
        asked = self._asked(table.RESIZED)
        s = self.settings
        made: dict[tuple, Path] = {}
        try:
            for f in asked:
                def source(width, fps, f=f):
                    size = f.fitted_size(s, width, lambda size: self.picture.resized(*size, f.min_text_px))
                    key = (size, fps, f.min_text_px)
                    if key not in made:
                        made[key] = self._paint_at(size, fps, f.min_text_px, len(made))
                    return made[key], size

                path = f.target(s)
                self.notes += f.make(source, path, s)
                outputs[f.name] = str(path)
        finally:
            for path in made.values():
                path.unlink(missing_ok=True)

    def _paint_at(self, size: tuple[int, int], fps: int, min_text_px: float, k: int) -> Path:
        """The film painted at ``size`` and ``fps`` (every frame of the plan nearest each moment) into a
        lossless temporary film."""
        from .encode import LosslessWriter

        s = self.settings
        picture = self.picture.resized(*size, min_text_px)
        count = max(1, int(round(s.frames * fps / s.fps)))
        frames = np.minimum(np.round(np.arange(count) * s.fps / fps).astype(int), s.frames - 1)
        path = part_path(s.out / f"{s.name}-{size[0]}w{k}.mkv")
        writer = LosslessWriter(path, size, fps)
        painter = picture.painter()
        try:
            writer.setup()
            for i in frames:
                writer.grab_frame(painter.paint(int(i)))
            return writer.finish()
        except BaseException:
            writer.abort()
            raise
        finally:
            painter.close()

    def _after_master(self, master: Path, outputs: dict[str, str]) -> dict[str, str]:
        """Derived formats from the finished master, number formats from the landscape; the outputs
        in the order they were asked for."""
        s = self.settings
        for f in self._asked(table.DERIVED):
            path = f.target(s)
            self.notes += f.derive(master, path, s)
            outputs[f.name] = str(path)
        for f in self._asked(table.NUMBERS):
            path = f.target(s)
            f.write_numbers(self.picture.views, path)
            outputs[f.name] = str(path)
        return {name: outputs[name] for name in s.formats}

    def _drop_hidden(self, master: Path) -> None:
        if master != table.master().target(self.settings):
            master.unlink(missing_ok=True)


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
