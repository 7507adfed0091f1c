"""Render settings: every default and every check of them, in one place.

The user's choices (:class:`Options`: from the command line, ``render()`` or ``render_files()``) are
checked once, then resolved against each scene into one :class:`Settings` value (frame count, size,
poster frame, encoder preset, surface detail) that every stage reads, workers included. Nothing here
imports torch or matplotlib, so the command line answers bad options at once.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from .errors import BadInput
from .scene.scene import DEVICES


@dataclass(frozen=True)
class Quality:
    """A preset (manim's sizes): frame size and rate, the surface's facets and x264's speed preset."""

    width: int
    height: int
    fps: int
    surface_quads: int
    # x264 shares the machine with the painter: at 800x800 veryfast cost less CPU than faster for a
    # slightly smaller file; the draft preset takes ultrafast (half the encoder's CPU, 2-3x the bytes).
    x264_preset: str
    # Options on top of the speed preset. subme=1 (the cheapest sub-pixel search): on the Rosenbrock
    # race at 720p, 24 % less encoder CPU for 10 % more bytes at the same SSIM (0.9942 against the frames).
    x264_params: str = ""


QUALITIES = {
    "low": Quality(854, 480, 15, 40, "ultrafast"),
    "medium": Quality(1280, 720, 30, 60, "veryfast", "subme=1"),
    "high": Quality(1920, 1080, 60, 80, "faster"),
    "4k": Quality(3840, 2160, 60, 100, "faster"),
}
MIN_SIZE = 160
# The smallest text's size in points (paint.layout.MIN_POINTS: tick labels and the inset's).
SMALLEST_POINTS = 7.0
# A frame whose text had to grow by more than this to stay legible takes the small-frame layout.
SMALL_AT = 1.15
# A GIF or WebP for a blog is painted at its own size with every text at least this tall.
WEB_TEXT_PX = 11.0
MAX_SIZE = 7680
# GIFs are for the web: unless told otherwise, one is kept under this many megabytes.
GIF_BUDGET_MB = 2.0
# A film longer than this many frames is refused before any work: 10 minutes at 60 fps.
MAX_FRAMES = 36_000
DEFAULT_FORMATS = ("mp4", "gif")


@dataclass(frozen=True)
class Look:
    """How frames are made at a given quality: pixel size and the work per frame."""

    width: int
    height: int
    surface_quads: int = 60
    ticks: int = 4
    # The smallest text's least height in pixels: a small frame (a blog's GIF, a comparison's panel) is
    # painted with text at least this tall, and then with its small-frame layout (``small``).
    min_text_px: float = 0.0

    @property
    def natural_dpi(self) -> float:
        # Text and lines keep their proportions at every resolution: 854 x 480 is 100 dpi. A narrow
        # frame scales by its width instead, so a line of text still fits across it.
        return 100.0 * min(self.height / 480.0, self.width / 640.0)

    @property
    def dpi(self) -> float:
        return max(self.natural_dpi, self.min_text_px * 72.0 / SMALLEST_POINTS)

    def resized(self, width: int, height: int, min_text_px: float) -> "Look":
        """The same look on a frame of another size, its smallest text at least ``min_text_px`` tall."""
        return dataclasses.replace(self, width=width, height=height, min_text_px=min_text_px)

    @property
    def small(self) -> bool:
        """Text larger than the frame's proportions give it: the small-frame layout (title, legend, one
        HUD line, the ticks that fit) instead of every piece of text shrunk past reading."""
        return self.dpi > SMALL_AT * self.natural_dpi


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


@dataclass(frozen=True)
class Options:
    """What the user asked for, before any scene is known. ``check()`` validates it; ``resolve(scene)``
    gives the Settings of one scene's render. The command line's defaults are these."""

    quality: str = "medium"
    formats: Sequence[str] = DEFAULT_FORMATS
    out: Path | str = "media"
    fps: int | None = None
    duration: float | None = None
    size: tuple[int, int] | None = None
    jobs: int = 1
    max_mb: float | None = GIF_BUDGET_MB
    poster_at: float | None = None
    device: str | None = None
    use_cache: bool = True
    cache_dir: Path | str = "media/cache"
    progress: bool = False
    # Each format's own options, {format: {option: value}} (formats.Option); None: every default.
    format_options: Mapping[str, Mapping[str, str]] | None = None
    html_js: str | None = None  # the html format's "js" option, as render()'s html_js has always said

    def check(self) -> "Options":
        """The same options, checked and normalised (formats deduplicated, size as two ints)."""
        from .output.formats import FORMATS, check_available, check_options

        if self.quality not in QUALITIES:
            raise BadInput(f"quality: expected one of {', '.join(QUALITIES)}, got {self.quality!r}")
        formats = tuple(dict.fromkeys([self.formats] if isinstance(self.formats, str) else self.formats))
        unknown = [f for f in formats if f not in FORMATS]
        if unknown or not formats:
            raise BadInput(f"format: expected one or more of {', '.join(FORMATS)}, got {' '.join(map(str, unknown)) or 'none'}")
        check_available(formats)
        if self.device is not None and self.device not in DEVICES:
            raise BadInput(f"device: expected one of {', '.join(DEVICES)}, got {self.device!r}")
        if isinstance(self.jobs, bool) or not isinstance(self.jobs, int) or self.jobs < 1:
            raise BadInput(f"jobs: expected a positive integer, got {self.jobs!r}")
        if self.max_mb is not None and not (_real(self.max_mb) and 0 < self.max_mb < math.inf):
            raise BadInput(f"max-mb: expected a positive number of megabytes, got {self.max_mb!r}")
        if self.fps is not None and (isinstance(self.fps, bool) or not isinstance(self.fps, int) or self.fps <= 0):
            raise BadInput(f"fps: expected a positive integer, got {self.fps!r}")
        if self.duration is not None and not (_real(self.duration) and 0 < self.duration < math.inf):
            raise BadInput(f"duration: expected a positive number of seconds, got {self.duration!r}")
        if self.poster_at is not None and not (_real(self.poster_at) and 0 <= self.poster_at < math.inf):
            raise BadInput(f"poster-at: expected a number of seconds >= 0, got {self.poster_at!r}")
        given = {k: dict(v) if isinstance(v, Mapping) else v for k, v in (self.format_options or {}).items()}
        if self.html_js is not None:
            given.setdefault("html", {})["js"] = self.html_js
        format_options = check_options(given)
        size = check_size(self.size) if self.size is not None else None
        return dataclasses.replace(self, formats=formats, size=size, format_options=format_options, html_js=None)

    def resolve(self, scene) -> "Settings":
        """This scene's render settings; the options must have been checked."""
        preset = QUALITIES[self.quality]
        fps = self.fps if self.fps is not None else (scene.fps or preset.fps)
        duration = self.duration if self.duration is not None else scene.duration
        # Both were checked where they were given: the scene's by Scene, the command's by check().
        frames = max(1, int(round(fps * duration)))
        if frames > MAX_FRAMES:
            raise BadInput(f"{scene.name}: fps x duration: expected at most {MAX_FRAMES} frames, got {frames} "
                           f"({fps} fps x {duration:g} s)")
        if self.poster_at is not None and not self.poster_at <= duration:
            raise BadInput(f"poster-at: expected a time from 0 to {duration:g} seconds, got {self.poster_at!r}")
        poster = frames - 1 if self.poster_at is None else min(frames - 1, int(round(self.poster_at * fps)))
        width, height = self.size if self.size is not None else (preset.width, preset.height)
        return Settings(name=scene.name, quality=self.quality, formats=tuple(self.formats), fps=fps, frames=frames,
                        poster=poster, look=Look(width, height, preset.surface_quads),
                        x264_preset=preset.x264_preset, x264_params=preset.x264_params, max_mb=self.max_mb, out=Path(self.out),
                        format_options=tuple(sorted((f"{fmt}.{name}", value)
                                                    for fmt, values in (self.format_options or {}).items()
                                                    for name, value in values.items())))


def _real(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and not math.isnan(value)


@dataclass(frozen=True)
class Settings:
    """One scene's render, resolved: what every stage (and every worker) reads."""

    name: str
    quality: str
    formats: tuple[str, ...]
    fps: int
    frames: int
    poster: int  # frame index of the poster PNG
    look: Look
    x264_preset: str
    max_mb: float | None
    out: Path
    format_options: tuple[tuple[str, str], ...] = ()  # ("format.option", value) where not the default
    x264_params: str = ""
    encoder_threads: int = 0  # x264's threads (film.py sizes them with the painters); 0: ffmpeg's own choice

    def resized(self, width: int, height: int, min_text_px: float) -> "Settings":
        """The same render painted on a frame of another size (a panel, a blog's GIF): see Look.resized."""
        return dataclasses.replace(self, look=self.look.resized(width, height, min_text_px))

    @property
    def html_js(self) -> str:
        """The html format's "js" option (settings.html_js before formats owned their options)."""
        from .output.formats import FORMATS

        return FORMATS["html"].option(self, "js")

    @property
    def size(self) -> tuple[int, int]:
        return self.look.width, self.look.height

    def target(self, ext: str) -> Path:
        return self.out / f"{self.name}.{ext}"
