"""A scene's numbers as they are seen (between compute and paint): its Picture (the frame plan, the
style as the film shows it, the settings), the notes a render reports, each run's outcome in numbers;
a comparison's panels on one z range. No pixels here, and nothing that changes a number."""
from __future__ import annotations

import dataclasses

import numpy as np

from .landscape import Landscape
from .output.segments import PanelsPicture, Picture
from .plan import loss_label, plan, run_looks
from .scene.compare import Compare
from .scene.runs import SURFACE_STEPS, TUNE, TUNE_LRS
from .scene.scene import Scene


def runs_report(landscape: Landscape, labels: list[str]) -> list[dict]:
    """Each run's outcome in numbers: where it ended, its final loss (None when not finite), the lr it
    used (None when unknown: a path from outside), its steps, whether it diverged."""
    out = []
    for trace, label in zip(landscape.traces, labels):
        loss = float(trace.loss[-1])
        out.append({"label": label, "end": [float(trace.alpha[-1]), float(trace.beta[-1])],
                    "loss": loss if np.isfinite(loss) else None, "lr": trace.lr,
                    "steps": trace.step_at(trace.steps), "diverged": bool(trace.diverged_at >= 0)})
        if trace.metrics:  # Scene(metrics=...): each one's final value (the loss's too, when a metric is the height)
            out[-1]["metrics"] = {name: float(v[-1]) if np.isfinite(v[-1]) else None
                                  for name, v in trace.metrics.items()}
        if trace.sharpness is not None:  # [[step, lambda1, ...(, trace, its standard error)], ...]
            out[-1]["sharpness"] = [[float(f"{v:.6g}") for v in row] for row in trace.sharpness_by_step()]
    return out


def tuned(scene: Scene, landscape: Landscape, labels: list[str]) -> tuple[list[str], list[str]]:
    """Labels that show a tuned run's chosen lr, and a note for each."""
    labels, notes = list(labels), []
    for k, (run, trace) in enumerate(zip(scene.runs, landscape.traces)):
        if run.lr == TUNE and trace.lr is not None:  # the trace keeps the chosen lr, in the cache too
            notes.append(f"run {labels[k]!r}: lr tuned to {trace.lr:.3g}, the lowest final loss "
                         f"({float(trace.loss[-1]):.4g}) of {len(TUNE_LRS)} lrs from {TUNE_LRS[0]:g} to "
                         f"{TUNE_LRS[-1]:g} after {run.steps or SURFACE_STEPS} steps")
            labels[k] = f"{labels[k]} (lr {trace.lr:.2g})"
    return labels, notes


def off_the_map(landscape: Landscape, labels: list[str]) -> list[str]:
    """A note for each run that leaves the grid without diverging: the film draws it to the edge."""
    a, b = landscape.alphas, landscape.betas
    notes = []
    for trace, label in zip(landscape.traces, labels):
        with np.errstate(invalid="ignore"):
            out = (trace.alpha < a[0]) | (trace.alpha > a[-1]) | (trace.beta < b[0]) | (trace.beta > b[-1])
        if out.any() and trace.diverged_at < 0:
            notes.append(f"run {label!r} leaves the map at step {trace.step_at(int(np.argmax(out)))}: drawn to the "
                         "edge, ending in a hollow square (a wider Grid, or fit='grow' with a larger max_grow, holds it)")
    return notes


def style_for(scene: Scene):
    """The scene's style, its subtitle telling when the loss is on part of the data (eval_batches); a
    surface's film is titled with the surface's name unless the style has a title."""
    if scene.surface is not None and scene.style.title is None:
        return dataclasses.replace(scene.style, title=scene.surface.label)
    if not scene.eval_batches:
        return scene.style
    note = f"loss on the first {scene.eval_batches} batches of the data"
    subtitle = f"{scene.style.subtitle} · {note}" if scene.style.subtitle else note
    return dataclasses.replace(scene.style, subtitle=subtitle)


def view_of(scene: Scene, landscape: Landscape, settings, style=None) -> tuple[Picture, list[str], list[dict], dict]:
    """How one scene's numbers are seen: (its Picture, notes, runs report, facts). ``style`` replaces the
    scene's own (a comparison's panel, with the shared z range)."""
    names, colors = run_looks(scene)
    labels, notes = tuned(scene, landscape, names) if scene.surface is not None else (names, [])
    if scene.story:
        from .scene.story import points_on_map

        points_on_map(scene, landscape)
    frame_plan = plan(landscape, scene.camera, settings.frames, labels, colors, loss_label(scene), scene.story, names)
    style = style or style_for(scene)
    if "barrier" in landscape.facts:  # an Interpolation: the barrier is the film's headline number
        # In the HUD, short, so the line still fits a square or tall frame; the note names the loss.
        short = f"barrier {landscape.facts['barrier']:.3g} at t = {landscape.facts['barrier_at']:.2f}"
        frame_plan.text = [f"{line}   {short}" for line in frame_plan.text]
        notes = notes + [f"barrier {landscape.facts['barrier']:.4g} ({loss_label(scene)}) at "
                         f"t = {landscape.facts['barrier_at']:.2f}"]
    facts = dict(landscape.facts)
    if frame_plan.story is not None:  # a storyboard: its chapters, in seconds of the film as rendered
        facts["chapters"] = frame_plan.story.chapters(settings.fps)
    if landscape.surfaces is not None:  # an evolving film: when each surface was taken, in steps
        trace = landscape.traces[0]
        facts["surface_steps"] = [trace.step_at(int(k)) for k in landscape.surface_steps]
        short = f"surface at {len(landscape.surface_steps)} moments of training"
        style = dataclasses.replace(style, subtitle=f"{style.subtitle} · {short}" if style.subtitle else short)
    return (Picture(landscape, frame_plan, style, settings, name=scene.name), notes + off_the_map(landscape, labels),
            runs_report(landscape, labels), facts)


def compare_picture(compare: Compare, settings, geometry, found: list) -> tuple[PanelsPicture, list, list, dict]:
    """A comparison's picture from every panel's (landscape, 'hit'|'miss'|'off') in ``found``, in order
    (each panel is cached as its own scene), seen with the shared z range when asked, at the panel's size (``geometry``): (picture,
    notes, runs report, facts)."""
    from .paint.colors import z_extent

    styles = [style_for(s) for s in compare.scenes]
    z_range = None
    if compare.shared_z:
        extents = np.array([z_extent(land, st) for (land, _), st in zip(found, styles)])
        lo, hi = float(extents[:, 0].min()), float(extents[:, 1].max())
        z_range = (10 ** lo, 10 ** hi) if styles[0].zscale == "log" else (lo, hi)
        styles = [dataclasses.replace(st, z_range=z_range) for st in styles]
    panel_settings = settings.resized(geometry.width, geometry.height, geometry.min_text_px)
    pictures, notes, runs, panels = [], [], [], []
    for scene, (landscape, cache), style, caption in zip(compare.scenes, found, styles, compare.captions):
        picture, panel_notes, panel_runs, facts = view_of(scene, landscape, panel_settings, style)
        pictures.append(dataclasses.replace(picture, caption=caption))
        notes += [f"panel {scene.name!r}: {note}" for note in panel_notes]
        runs += [{"scene": scene.name, **run} for run in panel_runs]
        panels.append({"scene": scene.name, "caption": caption, "cache": cache, **facts})
    facts = {"panels": panels, **({"z_range": list(z_range)} if z_range else {})}
    return PanelsPicture(pictures, compare.captions, geometry, settings, compare.layout), notes, runs, facts


def web_panels_fit(compare: Compare, settings) -> None:
    """BadInput, before any work, where a format painted at its own size (a blog's GIF) cannot hold the
    comparison's panels so that they read, even as wide as the film."""
    from .errors import BadInput
    from .output import formats as table
    from .scene.compare import arranged
    from .settings import MIN_SIZE

    for name in settings.formats:
        fmt = table.FORMATS[name]
        if fmt.how != table.RESIZED:
            continue

        def fits(size, fmt=fmt):
            look = settings.look.resized(*size, fmt.min_text_px)
            arranged(compare.layout, len(compare.scenes), *size, look.dpi, MIN_SIZE, look.min_text_px)

        try:
            fmt.fitted_size(settings, None, fits)
        except BadInput as exc:
            raise BadInput(f"{name}: {exc}") from None


def story_formats_fit(scene, formats) -> None:
    """BadInput, before any work, for a format made from a storyboard (captions) asked of a scene (or a
    comparison) without one."""
    from .errors import BadInput
    from .output.formats import FORMATS

    for name in formats:
        if getattr(FORMATS[name], "needs_story", False) and (isinstance(scene, Compare) or not scene.story):
            raise BadInput(f"{scene.name}: format {name}: expected a scene with a story (Scene(story=[Beat(...), "
                           "...]): its captions are the beats' titles and callouts)")
