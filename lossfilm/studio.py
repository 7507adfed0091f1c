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
from typing import Iterator, Sequence


from .compute import cache as landscape_cache
from .output.encode import clean_stale_parts
from .errors import BadInput, RenderError
from ._plumbing.executor import local
from .output.film import Film, Segments
from .landscape import Landscape
from .scene.scene import Scene
from ._plumbing.progress import bars
from .pictures import compare_picture, story_formats_fit, view_of, web_panels_fit
from .scene.compare import Compare, panel_geometry
from .settings import MIN_SIZE, Options, check_size  # noqa: F401 (check_size: part of the API)


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
    # Every run and path: {"label", "end": [alpha, beta], "loss", "lr", "steps", "diverged"}.
    runs: list[dict] = field(default_factory=list)
    # What the plane found, e.g. a HessianPlane's {"eigenvalues": [λ1, λ2]}; each key is in as_json().
    facts: dict = field(default_factory=dict)
    # What each view was filmed from (segments.Picture: landscape, plan, style): lossfilm.log's mesh.
    views: list = field(default_factory=list, repr=False, compare=False)

    def as_json(self) -> dict:
        return {"scene": self.scene, "outputs": self.outputs, "frames": self.frames, "size": list(self.size),
                "fps": self.fps, "cache": self.cache,
                "seconds": {k: round(v, 3) for k, v in self.seconds.items()}, "notes": self.notes,
                "runs": self.runs, **self.facts}


def check_output_dir(out: Path) -> Path:
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BadInput(f"-o {out}: expected a folder that can be created ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise BadInput(f"-o {out}: expected a writable folder")
    return out


def landscape_for(scene: Scene, use_cache: bool = True, cache_dir: Path | str = Options.cache_dir,
                  progress=None, device: str | None = None, executor=None) -> tuple[Landscape, str]:
    """The scene's numbers, from the cache when they were computed before: (landscape, 'hit'|'miss'|'off').

    ``device`` overrides the scene's; it is not part of the cache key, since a GPU and the CPU give the
    same numbers up to float rounding."""
    if use_cache:
        found, path = landscape_cache.fetch(scene, Path(cache_dir))
        if found is not None:
            return found, "hit"
    from .compute.build import compute  # torch is imported only when there is something to compute

    landscape = compute(scene, progress, device, executor)
    if not use_cache:
        return landscape, "off"
    try:
        landscape_cache.save(landscape, path)
    except OSError as exc:
        warnings.warn(f"{scene.name}: could not write cache {path}: {exc.strerror}", RuntimeWarning, stacklevel=2)
    return landscape, "miss"


# The defaults are settings.Options', named once there.
def render(scene: Scene, quality: str = Options.quality, formats: Sequence[str] = Options.formats,
           out: Path | str = Options.out, fps: int | None = Options.fps, duration: float | None = Options.duration,
           use_cache: bool = Options.use_cache, cache_dir: Path | str = Options.cache_dir,
           progress: bool = Options.progress, size: tuple[int, int] | None = Options.size, jobs: int = Options.jobs,
           executor=None, max_mb: float | None = Options.max_mb, poster_at: float | None = Options.poster_at,
           device: str | None = Options.device, html_js: str | None = Options.html_js,
           format_options=Options.format_options) -> Result:
    """Render ``scene`` to ``out/<scene name>.<format>`` for each format and return what was made.

    ``size`` (width, height) overrides the quality preset's frame size. ``jobs`` > 1 paints contiguous
    frame ranges in that many worker processes, each encoding its own segment, then joins them;
    ``executor`` (see lossfilm._plumbing.executor) lends workers already started, e.g. to several renders.
    ``max_mb`` keeps the GIF under that many megabytes (None: no limit); ``Result.notes`` says what gave.
    ``poster_at`` picks the poster PNG's moment in seconds (default: the last frame). ``device``
    ('cpu', 'cuda' or 'auto') overrides the scene's choice of where the grid is evaluated.
    ``format_options`` gives formats their own options, ``{"html": {"js": "cdn"}}`` (each format's row
    in lossfilm.output.formats lists them; the command line's ``--html-js`` is the same); ``html_js``
    is kept as a shorthand for the html page's plotly.js: "inline" (offline, the default), "cdn" or
    "directory".
    """
    options = Options(quality=quality, formats=formats, out=out, fps=fps, duration=duration, size=size,
                      jobs=jobs, max_mb=max_mb, poster_at=poster_at, device=device, use_cache=use_cache,
                      cache_dir=cache_dir, progress=progress, html_js=html_js, format_options=format_options).check()
    settings = options.resolve(scene)
    preflight(scene, options)
    remote = getattr(executor, "remote", False)
    # Our own workers start now, while the landscape is loaded or computed; lent ones stay open.
    own = executor is None and Film.wants_segments(settings, jobs, remote, scene.style)
    with local(jobs) if own else contextlib.nullcontext(executor) as executor:
        return _begin(scene, executor, options, settings).finish()


def render_many(scenes: Sequence[Scene], executor, options: Options | None = None,
                **kwargs) -> Iterator[tuple[Scene, Result | Exception]]:
    """Render several scenes on one set of workers, keeping them busy: while the workers paint one
    scene's segments, this process computes the next scene and hands its segments over too, then joins
    the first. Yields (scene, Result) in order, or (scene, the RenderError or OSError that stopped
    it: the other scenes still render). Every scene's settings are checked before anything is made, and
    bad input (BadInput, SceneError) stops everything at once. ``options`` (or ``render``'s keyword
    options) apply to every scene."""
    options = (options or Options(**kwargs)).check()
    names = [scene.name for scene in scenes]
    again = next((k for k, n in enumerate(names) if n in names[:k]), None)
    if again is not None:
        first = scenes[names.index(names[again])]
        exc = BadInput(f"name: expected each scene of one command to have its own name (another scene is named "
                       f"{names[again]!r} too, and both would write {Path(options.out) / names[again]}.*)")
        exc.scene, exc.other = scenes[again], first  # for the caller's message: which scenes of which files
        raise exc
    settings = []
    for scene in scenes:  # every scene checked before any is made
        try:
            settings.append(options.resolve(scene))
            preflight(scene, options)
        except BadInput as exc:
            exc.scene = scene  # for the caller's message: which scene of which file
            raise
    in_flight: list[tuple[Scene, _Render]] = []

    def finish_oldest():
        scene, job = in_flight.pop(0)
        try:
            return scene, job.finish()
        except (RenderError, OSError) as exc:
            return scene, exc

    try:
        for scene, setting in zip(scenes, settings):
            try:
                in_flight.append((scene, _begin(scene, executor, options, setting)))
            except (RenderError, OSError) as exc:
                in_flight.append((scene, _Failed(exc)))
            except BadInput as exc:
                exc.scene = scene
                raise
            # One scene ahead: its segments queue behind the running ones while we join the oldest.
            while len(in_flight) > 1:
                yield finish_oldest()
        while in_flight:
            yield finish_oldest()
    finally:
        for _, job in in_flight:
            job.cancel()


def preflight(scene: Scene, options: Options) -> None:
    """Bad input in the user's own parts (model, data, loss, optimizer options) on a few rows, and formats
    the scene cannot have, before anything is trained or written. A cache hit builds no model (the key
    covers the code). A comparison: every panel, and a frame that holds them."""
    story_formats_fit(scene, options.formats)
    if isinstance(scene, Compare):
        settings = options.resolve(scene)
        look = settings.look
        panel_geometry(scene, look.width, look.height, look.dpi, MIN_SIZE, look.min_text_px)
        web_panels_fit(scene, settings)
        for panel in scene.scenes:
            preflight(panel, options)
        return
    if options.use_cache and landscape_cache.path_for(scene, options.cache_dir).exists():
        return
    from .compute.build import preflight as check_parts

    check_parts(scene)


def _begin(scene, executor, options: Options, settings) -> "_Render":
    """Compute (or load) the numbers and start the film: a streamed film is made here and now; a
    segmented one has its segments handed to the workers, to be joined by ``finish``."""
    jobs = options.jobs
    remote = getattr(executor, "remote", False)
    segmented = executor is not None and Film.wants_segments(settings, jobs, remote, scene.style)
    out = check_output_dir(Path(options.out))
    clean_stale_parts(out)
    bar = bars(options.progress)
    job = _Render(scene.name, bar, time.perf_counter())
    try:
        scenes = scene.scenes if isinstance(scene, Compare) else [scene]
        found = [landscape_for(s, options.use_cache, options.cache_dir, bar, options.device, executor) for s in scenes]
        caches = {cache for _, cache in found}
        job.cache = caches.pop() if len(caches) == 1 else "miss"  # a comparison: some panels computed, some found
        if isinstance(scene, Compare):
            look = settings.look
            geometry = panel_geometry(scene, look.width, look.height, look.dpi, MIN_SIZE, look.min_text_px)
            picture, notes, job.runs, job.facts = compare_picture(scene, settings, geometry, found)
        else:
            picture, notes, job.runs, job.facts = view_of(scene, found[0][0], settings)
        job.seconds["compute"] = time.perf_counter() - job.t0
        job.film = Film(picture)
        job.film.notes += notes
        job.frames, job.size, job.fps = settings.frames, settings.size, settings.fps
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
    film: Film | None = None
    segments: Segments | None = None
    outputs: dict[str, str] = field(default_factory=dict)
    frames: int = 0
    size: tuple[int, int] = (0, 0)
    fps: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)
    facts: dict = field(default_factory=dict)

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
                      cache=self.cache, notes=self.film.notes, seconds=dict(self.seconds), runs=self.runs,
                      facts=self.facts, views=self.film.picture.views)

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


def render_files(paths: Sequence[str | Path], jobs: int | None = None, **options) -> list[Result]:
    """Render every scene of every scene file (as ``render.py`` does) with one set of workers; the
    keyword options are ``render``'s. Returns one Result per scene, in order."""
    from ._plumbing.executor import default_jobs
    from .scene.loader import load_scenes

    workers = jobs or default_jobs()
    checked = Options(jobs=workers, **options).check()  # bad options are told before any worker starts
    with local(workers) as pool:
        scenes = [scene for path in paths for scene in load_scenes(path)]
        results = []
        for _, result in render_many(scenes, pool, checked):
            if isinstance(result, Exception):
                raise result
            results.append(result)
        return results
