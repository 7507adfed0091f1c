"""RGBA frames -> files: the mechanics under the format table (formats.py). Every streaming writer has
matplotlib's movie-writer interface (``setup``, ``grab_frame``, ``finish``, ``abort``).

Frames stream into an ffmpeg process (the binary imageio-ffmpeg ships) as raw RGBA: no PNG round
trip and no list of frames in memory. Each writer writes a temporary file beside the final one and
renames it only when ffmpeg has finished cleanly, so a failed or interrupted render never leaves a
broken file under the final name.
"""
from __future__ import annotations

import functools
import os
import re
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from ..paint import raster
from ..errors import RenderError

GIF_MAX_FPS = 15
# Temporary files of a render (``.<stem>.<pid>.part.<ext>``) and of a cache write (``.<key>.<pid>.tmp.npz``).
_PART = re.compile(r"^\.(?P<stem>.+)\.(?P<pid>\d+)\.(part|tmp)\.(?P<ext>\w+)$")


def ffmpeg_exe() -> str:
    return imageio_ffmpeg.get_ffmpeg_exe()


@functools.lru_cache(maxsize=None)
def has_encoder(name: str) -> bool:
    """Whether the bundled ffmpeg lists ``name`` among its encoders (``ffmpeg -encoders``)."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"], capture_output=True, text=True)
    return any(line.split()[1:2] == [name] for line in proc.stdout.splitlines() if line.strip())


def part_path(path: Path, owner: int | None = None) -> Path:
    path = Path(path)
    return path.with_name(f".{path.stem}.{owner or os.getpid()}.part{path.suffix}")


def _ffmpeg(args: list[str], what: str) -> None:
    """Run ffmpeg to completion; a failure is a RenderError with ffmpeg's last line."""
    proc = subprocess.run([ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error", *args],
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        raise RenderError(f"{what}: ffmpeg failed: {lines[-1] if lines else f'exit status {proc.returncode}'}")


def _publish(tmp: Path, path: Path, make) -> Path:
    """Write through ``make(tmp)`` and rename to ``path`` only when it succeeded."""
    try:
        make(tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def join_segments(segments: list[Path], path: Path) -> Path:
    """Concatenate MP4 segments encoded with identical settings, without re-encoding (the concat
    demuxer, as manim joins its partial movie files), index first."""
    listing = part_path(path.with_suffix(".txt"))
    # The concat list quotes each name; a quote inside one ("Bob's films") is closed, escaped, reopened.
    quoted = (str(Path(s).resolve()).replace("'", "'\\''") for s in segments)
    listing.write_text("".join(f"file '{q}'\n" for q in quoted))
    try:
        return _publish(part_path(path), path, lambda tmp: _ffmpeg(
            ["-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy", "-movflags", "+faststart", str(tmp)],
            "join"))
    finally:
        listing.unlink(missing_ok=True)


# A blog's GIF painted at its own size: what gives way over the budget is the frame rate first, then the
# colours (down to 128), then the width, each width painted again (its text stays as tall).
WEB_GIF_LADDER = (("fps", 12), ("fps", 10), ("fps", 8), ("colors", 128), ("width", 400), ("width", 360),
                  ("width", 320), ("colors", 64))
# An animated WebP: full colour and a larger frame; the quality gives way first, then the frame rate,
# then the width.
WEBP_LADDER = (("quality", 65), ("quality", 50), ("fps", 12), ("fps", 10), ("quality", 40), ("width", 640),
               ("width", 560), ("width", 480), ("fps", 8), ("quality", 30))


def _ladder(start: dict, rungs) -> list[dict]:
    setting, tries = dict(start), [dict(start)]
    for key, value in rungs:
        if value < setting[key]:
            setting[key] = value
            tries.append(dict(setting))
    return tries


def _within_budget(tries, make, path: Path, max_mb: float | None, what: str) -> list[str]:
    """``make(setting, tmp)`` for each try in turn until the file is under ``max_mb`` megabytes (2^20
    bytes each); the last one that was made is published. Returns notes on what had to give."""
    tmp = part_path(path)
    budget = None if max_mb is None else max_mb * 2**20
    try:
        for n, t in enumerate(tries):
            t = {**t, **(make(t, tmp) or {})}  # what was made: a comparison's frame may be wider than asked
            size = tmp.stat().st_size
            if budget is None or size <= budget:
                break
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    notes = []
    if n:
        words = {"fps": "{} fps", "width": "{} px wide", "colors": "{} colours", "quality": "quality {}"}
        given = ", ".join(words[k].format(t[k]) for k in ("fps", "width", "colors", "quality") if k in t)
        notes.append(f"{what}: {given} to stay under {max_mb:g} MB ({size / 2**20:.2f} MB)")
    if budget is not None and size > budget:
        notes.append(f"{what}: could not get under {max_mb:g} MB; the smallest try is {size / 2**20:.2f} MB")
    return notes


def gif_from_source(source, path: Path, fps: int, max_mb: float | None, width: int) -> list[str]:
    """A GIF from films painted at its own size: ``source(width, fps)`` is (the path of a lossless film
    painted about ``width`` px wide at ``fps``, made once per size; its (width, height)), kept under
    ``max_mb`` down WEB_GIF_LADDER; returns notes on what had to give."""
    top = min(fps, GIF_MAX_FPS)
    tries = _ladder({"fps": top, "colors": 256, "width": width}, WEB_GIF_LADDER)

    def make(t, tmp):
        film, (w, _) = source(t["width"], top)
        _ffmpeg(["-i", str(film), *GIFWriter.graph_args(t["fps"], t["colors"]), str(tmp)], "gif")
        return {"width": w}

    return _within_budget(tries, make, path, max_mb, "gif")


def webp_from_source(source, path: Path, fps: int, max_mb: float | None, width: int) -> list[str]:
    """An animated WebP (lossy, full colour, looping) from films painted at its own size, as
    ``gif_from_source``, kept under ``max_mb`` down WEBP_LADDER."""
    top = min(fps, GIF_MAX_FPS)
    tries = _ladder({"quality": 80, "fps": top, "width": width}, WEBP_LADDER)

    def make(t, tmp):
        film, (w, _) = source(t["width"], top)
        _ffmpeg(["-i", str(film), "-vf", f"fps={t['fps']}", "-c:v", "libwebp_anim",
                 "-lossless", "0", "-quality", str(t["quality"]), "-compression_level", "4", "-loop", "0",
                 "-pix_fmt", "yuv420p", "-f", "webp", str(tmp)], "webp")
        return {"width": w}

    return _within_budget(tries, make, path, max_mb, "webp")


def webm_from_video(video: Path, path: Path) -> Path:
    """A WebM transcoded from a finished video with WebMWriter's settings."""
    return _publish(part_path(path), path, lambda tmp: _ffmpeg(
        ["-i", str(video), "-an", *WebMWriter.vp9_args(), str(tmp)], "webm"))


def clean_stale_parts(folder: Path) -> list[Path]:
    """Remove temporary files that a killed render (SIGKILL, power loss) left behind: those whose
    writing process no longer exists. A render running beside us keeps its own."""
    removed = []
    if not folder.is_dir():
        return removed
    for path in folder.iterdir():
        m = _PART.match(path.name)
        if m and not _alive(int(m["pid"])):
            try:
                shutil.rmtree(path) if path.is_dir() else path.unlink()
                removed.append(path)
            except OSError:
                pass
    return removed


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Writer:
    """Streams frames of one size into ffmpeg and publishes the file atomically."""

    ext = ""

    def __init__(self, path: Path, size: tuple[int, int], fps: int, preset: str = "veryfast",
                 owner: int | None = None):
        self.path = Path(path)
        self.size = size
        self.fps = fps
        self.preset = preset  # x264's speed preset (settings.Quality), for writers that use x264
        # Temporary files carry the pid of the render that owns them (a worker writes for its parent),
        # so that clean-up never takes the files of a render still running.
        self.tmp = part_path(self.path, owner)
        self._proc: subprocess.Popen | None = None
        self._log = None
        self.frames = 0

    def output_args(self) -> list[str]:
        raise NotImplementedError

    def _target(self) -> str:
        return str(self.tmp)

    def input_args(self) -> list[str]:
        """How ffmpeg reads what ``grab_frame`` sends (``_convert`` makes it from each RGBA frame)."""
        return ["-pix_fmt", "rgba"]

    def _convert(self, rgba):
        return rgba

    def setup(self) -> "Writer":
        w, h = self.size
        cmd = [ffmpeg_exe(), "-y", "-hide_banner", "-loglevel", "error",
               "-f", "rawvideo", *self.input_args(), "-s", f"{w}x{h}", "-r", str(self.fps), "-i", "-",
               "-an", *self.output_args(), self._target()]
        self._log = tempfile.TemporaryFile()
        # Own session: a Ctrl-C in the terminal reaches us, and we stop ffmpeg ourselves, in order.
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._log,
                                      close_fds=True, start_new_session=True)
        return self

    def grab_frame(self, rgba) -> None:
        data = self._convert(rgba)
        try:
            self._proc.stdin.write(data)
        except (BrokenPipeError, OSError):
            self._fail("ffmpeg stopped taking frames")
        self.frames += 1

    def finish(self) -> Path:
        try:
            self._proc.stdin.close()
        except (BrokenPipeError, OSError):
            pass
        if self._proc.wait() != 0:
            self._fail("ffmpeg failed")
        try:
            self._publish()
        except OSError as exc:
            self.abort()
            raise RenderError(f"{self.ext}: could not write {self.path}: {exc.strerror}") from None
        self._close_log()
        return self.path

    def _publish(self) -> None:
        os.replace(self.tmp, self.path)

    def _discard(self) -> None:
        self.tmp.unlink(missing_ok=True)

    def _fail(self, what: str):
        """Stop ffmpeg, remove the temporary file and raise with the best reason there is."""
        try:
            code = self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            code = None
        reason = self._stderr()
        if not reason and code is not None and code < 0:
            reason = f"killed by {signal.Signals(-code).name}"
            if -code == signal.SIGXFSZ:
                reason += " (file size limit reached)"
        elif not reason:
            reason = f"exit status {code}"
        try:
            if shutil.disk_usage(self.tmp.parent).free < 16 * 2**20:
                reason += f"; {self.tmp.parent} is (nearly) full"
        except OSError:
            pass
        self.abort()
        raise RenderError(f"{self.ext}: {what}: {reason}")

    def abort(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        if self._proc is not None and self._proc.stdin:
            try:
                self._proc.stdin.close()
            except OSError:
                pass
        self._discard()
        self._close_log()

    def _stderr(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0)
        lines = self._log.read().decode(errors="replace").strip().splitlines()
        return lines[-1] if lines else ""

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None


class MP4Writer(Writer):
    """H.264 in yuv420p with the index first: plays in browsers and slide software."""

    ext = "mp4"

    def __init__(self, path: Path, size: tuple[int, int], fps: int, preset: str = "veryfast",
                 owner: int | None = None, params: str = "", threads: int = 0):
        super().__init__(path, size, fps, preset, owner)
        self.params = params  # x264 options on top of the preset (settings.Quality.x264_params)
        self.threads = threads  # 0: ffmpeg's own choice (1.5 per core of the machine)
        self._yuv: bool | None = None  # frames converted here (raster.yuv420)? Decided at setup
        self._buffer = None

    # BT.709 (HD's colours, and sRGB's primaries), converted to and said in the stream. An untagged
    # stream leaves the matrix to each player's guess (some go by the frame's size), and ffmpeg's own
    # conversion from RGB is BT.601's. The frames are converted here (raster.yuv420, 0.8 ms a 720p
    # frame), which made the race's render 4-6 % faster than ffmpeg's conversion and its reading of 4
    # bytes a pixel; without the kernel, ffmpeg converts, to the same matrix. The properties are
    # given as the input's: ffmpeg hands them on to the encoder, which writes them into the stream.
    COLOURS = ["-color_primaries", "bt709", "-color_trc", "bt709"]

    def _converts(self) -> bool:
        if self._yuv is None:
            w, h = self.size
            self._yuv = w % 2 == 0 and h % 2 == 0 and raster.yuv420(np.zeros((2, 2, 4), np.uint8)) is not None
        return self._yuv

    def input_args(self) -> list[str]:
        if self._converts():
            return ["-pix_fmt", "yuv420p", *self.COLOURS, "-colorspace", "bt709", "-color_range", "tv"]
        return ["-pix_fmt", "rgba", *self.COLOURS]

    def _convert(self, rgba):
        if not self._converts():
            return rgba
        w, h = self.size
        frame = np.asarray(memoryview(rgba)).reshape(h, w, 4)  # an array, a buffer or bytes
        if frame.strides[1:] != (4, 1):
            frame = np.ascontiguousarray(frame)
        if self._buffer is None:
            self._buffer = np.empty(w * h * 3 // 2, np.uint8)
        return memoryview(raster.yuv420(frame, self._buffer))

    def output_args(self) -> list[str]:
        convert = [] if self._converts() else ["-vf", "scale=out_color_matrix=bt709:out_range=tv"]
        return ["-c:v", "libx264", "-preset", self.preset, *(["-x264-params", self.params] if self.params else []),
                *(["-threads", str(self.threads)] if self.threads > 0 else []),
                "-crf", "20", *convert, "-pix_fmt", "yuv420p", "-movflags", "+faststart"]


class GIFWriter(Writer):
    """A looping GIF of the frames as painted (a blog's GIF is painted at its own size), with one palette
    built for the whole clip."""

    ext = "gif"

    def output_args(self) -> list[str]:
        return self.graph_args(self.fps)

    @staticmethod
    def graph_args(fps: int, colors: int = 256) -> list[str]:
        graph = (f"fps={min(fps, GIF_MAX_FPS)},split[a][b];"
                 f"[a]palettegen=stats_mode=diff:max_colors={colors}[p];"
                 "[b][p]paletteuse=dither=bayer:bayer_scale=5:diff_mode=rectangle")
        return ["-vf", graph, "-loop", "0"]


class LosslessWriter(Writer):
    """Lossless RGB H.264 in Matroska: a film painted at a web format's own size, kept only until the
    format is made from it (x264's ultrafast, fast and a few kB a frame at 480 px)."""

    ext = "mkv"

    def output_args(self) -> list[str]:
        return ["-c:v", "libx264rgb", "-qp", "0", "-preset", "ultrafast", "-pix_fmt", "rgb24"]


class WebMWriter(Writer):
    """VP9 in WebM, for pages that prefer an open codec; yuv420p plays everywhere VP9 does."""

    ext = "webm"

    def output_args(self) -> list[str]:
        return self.vp9_args()

    @staticmethod
    def vp9_args() -> list[str]:
        return ["-c:v", "libvpx-vp9", "-crf", "32", "-b:v", "0", "-row-mt", "1", "-deadline", "realtime",
                "-cpu-used", "8", "-pix_fmt", "yuv420p"]


def write_png(rgba, size: tuple[int, int], path: Path) -> Path:
    """One RGBA frame as a PNG (its RGB), written under a temporary name and renamed."""
    import matplotlib.image
    import numpy as np

    w, h = size
    pixels = np.frombuffer(rgba, np.uint8).reshape(h, w, 4)[..., :3]
    try:
        return _publish(part_path(path), path, lambda tmp: matplotlib.image.imsave(tmp, pixels, format="png"))
    except OSError as exc:
        raise RenderError(f"png: could not write {path}: {exc.strerror}") from None


class FramesWriter(Writer):
    """Every frame as a numbered PNG in ``<name>_frames/`` (00000.png, ...), for editing elsewhere.
    The folder is written under a temporary name and renamed when complete."""

    ext = "frames"

    def __init__(self, path: Path, size: tuple[int, int], fps: int, preset: str = "veryfast",
                 owner: int | None = None):
        super().__init__(path, size, fps, preset, owner)
        self.tmp = self.path.with_name(f".{self.path.name}.{owner or os.getpid()}.part.dir")

    def setup(self) -> "Writer":
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir(parents=True)
        return super().setup()

    def output_args(self) -> list[str]:
        return ["-f", "image2", "-c:v", "png", "-start_number", "0"]

    def _target(self) -> str:
        return str(self.tmp / "%05d.png")

    def _publish(self) -> None:
        if self.path.exists():  # a folder cannot be replaced in one rename: the old one goes first
            shutil.rmtree(self.path)
        os.replace(self.tmp, self.path)

    def _discard(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
