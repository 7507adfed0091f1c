"""Frame index -> what the frame shows: camera, how far each path has grown, overlay text.

Pure functions of numbers; no pixels. The painter only follows the plan.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .landscape import Landscape
from .scene import Camera

# The paths grow over this share of the clip; the rest holds the finished picture while the camera turns.
GROW_SHARE = 0.85


@dataclass
class FramePlan:
    """One entry per frame, as arrays of length ``frames`` (``text`` is a list)."""

    azimuth: np.ndarray  # degrees
    elevation: np.ndarray  # degrees
    zoom: np.ndarray
    steps: np.ndarray  # (frames, runs): trace index shown for each run
    text: list[str]

    def __len__(self) -> int:
        return len(self.azimuth)


def camera_path(camera: Camera, frames: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A steady orbit: ``turns`` full turns over the clip, ending where a loop would restart."""
    t = np.arange(frames) / max(frames, 1)
    azimuth = camera.azimuth + 360.0 * camera.turns * t
    return azimuth, np.full(frames, camera.elevation), np.full(frames, camera.zoom)


def path_steps(step_counts: list[int], frames: int, grow_share: float = GROW_SHARE) -> np.ndarray:
    """Trace index per frame and run. All runs advance on one step clock, so a race stays fair:
    a run with fewer steps stops early and waits at its end."""
    longest = max(step_counts)
    grow_frames = max(1, int(round(frames * grow_share)) - 1)
    clock = np.minimum(np.arange(frames) / grow_frames, 1.0)
    global_step = np.round(clock * longest).astype(np.int64)
    return np.minimum(global_step[:, None], np.asarray(step_counts)[None, :])


def _format_loss(value: float) -> str:
    if not np.isfinite(value):
        return "diverged"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.3e}"


def overlay_text(landscape: Landscape, steps: np.ndarray) -> list[str]:
    """Epoch and step on the clock of the longest run, and the loss when there is one run."""
    lead = max(landscape.traces, key=lambda t: t.steps)
    per_epoch = lead.epoch_ends[0] if len(lead.epoch_ends) else max(lead.steps, 1)
    total_epochs = max(landscape.epochs, 1)
    lines = []
    for row in steps:
        s = int(row.max())
        epoch = min(s / max(per_epoch, 1), total_epochs)
        head = f"epoch {epoch:5.2f}/{total_epochs}   step {s}/{lead.steps}"
        if len(landscape.traces) == 1:
            lines.append(f"{head}   {landscape.loss_name} {_format_loss(lead.loss[s])}")
        else:
            lines.append(head)
    return lines


def plan(landscape: Landscape, camera: Camera, frames: int) -> FramePlan:
    azimuth, elevation, zoom = camera_path(camera, frames)
    steps = path_steps([t.steps for t in landscape.traces], frames)
    return FramePlan(azimuth, elevation, zoom, steps, overlay_text(landscape, steps))
