"""A storyboard's frame plan: beats -> per frame how far each path has grown and which runs show; the
title cards, the callouts and their points on the plane; the chapters and captions in time (the camera
per beat is plan.story_camera's, beside the film's own camera path).

Pure functions of numbers, like ``plan``: the painter and the formats only follow it. Each beat takes its
share of the film's frames (its seconds over the story's), so ``--duration`` scales every beat alike.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .landscape import Landscape
from .scene.story import TITLE_SECONDS, epoch_step

FADE_SECONDS = 0.3  # a card or a callout fades in and out over this long (at most a third of its time)


@dataclass
class CalloutPlan:
    """One callout in frames ``[start, stop)``: its text, whether it has a leader line, and the point it
    points at in each of its frames ((stop - start, 2) alpha, beta; a run's head moves with it)."""

    text: str
    arrow: bool
    start: int
    stop: int
    points: np.ndarray
    beat: int
    index: int  # its place in the beat's callouts
    run: int = -1  # the run whose head it points at (moving with it), else -1
    marked: bool = False  # the point has its own marker (a run's head, a known minimum's star)

    def fade(self, i: int, fps: float) -> float:
        return _fade(i, self.start, self.stop, fps)


@dataclass
class StoryPlan:
    """What a storyboard adds to a frame plan (see FramePlan.story)."""

    bounds: np.ndarray  # (beats + 1,) the first frame of each beat, then the frame count
    titles: list  # per beat: its title or None
    notes: list  # per beat: its presenter's note or None
    cards: list  # (start, stop, title): a beat's title card in frames [start, stop)
    callouts: list[CalloutPlan] = field(default_factory=list)
    fps: float = 1.0  # frames per second of the story as planned (frames / the story's seconds)

    def card_fade(self, i: int) -> tuple[str | None, float]:
        """The title card shown at frame ``i`` and its opacity (None, 0 when there is none)."""
        for start, stop, title in self.cards:
            if start <= i < stop:
                return title, _fade(i, start, stop, self.fps)
        return None, 0.0

    def beat_at(self, i: int) -> int:
        return int(np.searchsorted(self.bounds, i, side="right") - 1)

    def chapters(self, fps: float) -> list[dict]:
        """Each titled beat as a chapter (start, end in seconds, title, note): it lasts until the next titled
        beat, and the beats without a title before the first one are no chapter."""
        out = []
        starts = [k for k, t in enumerate(self.titles) if t]
        for n, k in enumerate(starts):
            stop = self.bounds[starts[n + 1]] if n + 1 < len(starts) else self.bounds[-1]
            notes = [self.notes[j] for j in range(k, starts[n + 1] if n + 1 < len(starts) else len(self.titles))
                     if self.notes[j]]
            out.append({"start": round(float(self.bounds[k]) / fps, 3), "end": round(float(stop) / fps, 3),
                        "title": self.titles[k], "note": "\n".join(notes) or None})
        return out

    def captions(self, fps: float) -> list[dict]:
        """Timed captions (start, end in seconds, text): each title card, then each callout, in time order."""
        cues = [(start, stop, title) for start, stop, title in self.cards]
        cues += [(c.start, c.stop, c.text) for c in self.callouts]
        return [{"start": round(a / fps, 3), "end": round(b / fps, 3), "text": text}
                for a, b, text in sorted(cues, key=lambda cue: (cue[0], cue[1]))]


def _fade(i: int, start: int, stop: int, fps: float) -> float:
    ramp = max(1.0, min(FADE_SECONDS * fps, (stop - start) / 3))
    return float(np.clip(min(i - start + 1, stop - i) / ramp, 0.0, 1.0))


def beat_bounds(story, frames: int) -> np.ndarray:
    """The first frame of each beat and, last, ``frames``: each beat its share of the frames."""
    seconds = np.array([b.seconds for b in story], float)
    return np.round(np.concatenate([[0.0], np.cumsum(seconds)]) / seconds.sum() * frames).astype(np.int64)


def _index_of(trace, step: int) -> int:
    """The trace index the viewer is told is ``step`` (the first at or after it)."""
    if trace.step_numbers is None:
        return min(int(step), trace.steps)
    return int(min(np.searchsorted(trace.step_numbers, step), trace.steps))


def story_steps(story, landscape: Landscape, bounds: np.ndarray) -> np.ndarray:
    """Trace index per frame and run: one clock for all runs (a race stays fair), moving only in a beat
    that says how far, linearly over the beat, and held otherwise."""
    lead = max(landscape.traces, key=lambda t: t.steps)
    frames = int(bounds[-1])
    clock = np.zeros(frames)
    at = 0.0
    for k, beat in enumerate(story):
        f0, f1 = int(bounds[k]), int(bounds[k + 1])
        n = f1 - f0
        if beat.grow_to is None or n == 0:
            clock[f0:f1] = at
            continue
        if beat.grow_to == "end":
            to = lead.steps
        elif isinstance(beat.grow_to, str):
            ends = [lead.step_at(int(e)) for e in lead.epoch_ends]
            to = _index_of(lead, epoch_step(beat.grow_to, ends, f"story[{k}].grow_to"))
        else:
            to = _index_of(lead, beat.grow_to)
        clock[f0:f1] = at + (to - at) * (np.arange(n) + 1) / n
        at = float(to)
    counts = np.array([t.steps for t in landscape.traces])
    return np.minimum(np.round(clock).astype(np.int64)[:, None], counts[None, :])


def story_shown(story, labels: list[str], bounds: np.ndarray) -> np.ndarray:
    """(frames, runs): whether each run's path shows at each frame."""
    shown = np.ones((int(bounds[-1]), len(labels)), bool)
    for k, beat in enumerate(story):
        f0, f1 = int(bounds[k]), int(bounds[k + 1])
        if beat.paths == "hidden":
            shown[f0:f1] = False
        elif isinstance(beat.paths, tuple):
            shown[f0:f1] = np.array([label in beat.paths for label in labels])
    return shown


def lowest_point(landscape: Landscape) -> tuple[float, float]:
    """A surface's (first) known minimum, else the grid's lowest point."""
    if len(landscape.minima):
        return float(landscape.minima[0, 0]), float(landscape.minima[0, 1])
    loss = np.where(np.isfinite(landscape.loss), landscape.loss, np.inf)
    r, c = np.unravel_index(int(np.argmin(loss)), loss.shape)
    return float(landscape.alphas[c]), float(landscape.betas[r])


def story_plan(story, landscape: Landscape, labels: list[str], steps: np.ndarray, bounds: np.ndarray) -> StoryPlan:
    frames = int(bounds[-1])
    fps = frames / sum(b.seconds for b in story)
    cards, callouts = [], []
    index = {label: k for k, label in enumerate(labels)}
    for k, beat in enumerate(story):
        f0, f1 = int(bounds[k]), int(bounds[k + 1])
        if beat.title and f1 > f0:
            cards.append((f0, min(f1, f0 + max(1, int(round(min(TITLE_SECONDS, 0.8 * beat.seconds) * fps)))),
                          beat.title))
        for n, callout in enumerate(beat.callouts):
            stop = f1 if callout.seconds is None else min(f1, f0 + max(1, int(round(callout.seconds * fps))))
            if stop <= f0:
                continue
            kind, what = callout.target()
            span = np.arange(f0, stop)
            if kind == "point":
                points = np.tile(np.array(what, float), (len(span), 1))
            elif kind == "minimum":
                points = np.tile(np.array(lowest_point(landscape)), (len(span), 1))
            elif kind == "run":
                r = index[what]
                trace = landscape.traces[r]
                s = steps[span, r]
                points = np.column_stack([trace.alpha[s], trace.beta[s]])
            else:
                label, step = what
                trace = landscape.traces[index[label]]
                s = _index_of(trace, step)
                points = np.tile(np.array([trace.alpha[s], trace.beta[s]], float), (len(span), 1))
            callouts.append(CalloutPlan(callout.text, callout.arrow, f0, stop, points, k, n,
                                        index[what] if kind == "run" else -1,
                                        kind == "run" or (kind == "step" and what[1] == 0)  # a head, a start
                                        or (kind == "minimum" and len(landscape.minima) > 0)))
    return StoryPlan(bounds, [b.title for b in story], [b.note for b in story], cards, callouts, fps)
