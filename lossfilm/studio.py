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
from .compute import Landscape, compute
from .encode import WRITERS, Writer, clean_stale_parts
from .errors import BadInput, SceneError
from .paint import Look, Painter
from .plan import plan
from .scene import Scene


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
           size: tuple[int, int] | None = None) -> Result:
    """Render ``scene`` to ``out/<scene name>.<format>`` for each format and return what was made.

    ``size`` (width, height) overrides the quality preset's frame size.
    """
    if quality not in QUALITIES:
        raise BadInput(f"quality: expected one of {', '.join(QUALITIES)}, got {quality!r}")
    formats = list(dict.fromkeys(formats))
    unknown = [f for f in formats if f not in WRITERS]
    if unknown or not formats:
        raise BadInput(f"format: expected one or more of {', '.join(WRITERS)}, got {' '.join(unknown) or 'none'}")
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
    landscape, cache_state = landscape_for(scene, use_cache, cache_dir, bar)
    t_compute = time.perf_counter() - t0

    frame_plan = plan(landscape, scene.camera, frames)
    look = Look(width, height, preset.surface_quads)
    painter = Painter(landscape, frame_plan, scene.style, look)
    writers: list[Writer] = [WRITERS[f](out / f"{scene.name}.{f}", (look.width, look.height), fps, quality)
                             for f in formats]
    t_paint = t_encode = 0.0
    tick = bar("paint", frames) if bar else None
    try:
        for w in writers:
            w.setup()
        for i in range(frames):
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
        outputs = {}
        for w in writers:
            outputs[w.ext] = str(w.finish())
        t_encode += time.perf_counter() - t
    except BaseException:
        for w in writers:
            w.abort()
        raise
    finally:
        painter.close()
        if bar:
            bar.close()
    return Result(scene=scene.name, outputs=outputs, frames=frames, size=(look.width, look.height), fps=fps,
                  cache=cache_state,
                  seconds={"compute": t_compute, "paint": t_paint, "encode": t_encode,
                           "total": time.perf_counter() - t0})
