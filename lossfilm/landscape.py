"""The numbers a film is made of, as plain numpy: what compute produces and plan and paint consume.

Kept free of torch so that painting processes start quickly.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """One run's path: its coordinates in the plane and its true loss at every recorded step.

    Index 0 is the starting point; index t is the point after optimizer step t. Labels and colours are
    not numbers: the frame plan carries them.
    """

    alpha: np.ndarray
    beta: np.ndarray
    loss: np.ndarray
    epoch_ends: np.ndarray  # trace index at which each epoch ends
    diverged_at: int = -1  # trace index of the last finite point when the run diverged, else -1
    step_numbers: np.ndarray | None = None  # the training step of each index, when not the index itself
    lr: float | None = None  # the learning rate the run used (the chosen one, when it was tuned)
    grad: np.ndarray | None = None  # (N, 2) the gradient at every point, on a surface (for its arrows)
    # Evolve(refit=True): the path's coordinates in each moment's plane, (K, N); alpha and beta are the last.
    moment_alpha: np.ndarray | None = None
    moment_beta: np.ndarray | None = None
    # Scene(track=Sharpness(...)): one row per moment (the trace index, the top eigenvalues, the trace and
    # its standard error: Landscape.facts["sharpness"]["columns"]), None otherwise.
    sharpness: np.ndarray | None = None
    # Scene(metrics=[...]) (and the loss, when metric= is the height): the value at every point, by name.
    metrics: dict = field(default_factory=dict)

    def step_at(self, index: int) -> int:
        """The training step the viewer is told for trace index ``index``."""
        return int(self.step_numbers[index]) if self.step_numbers is not None else int(index)

    @property
    def steps(self) -> int:
        return len(self.alpha) - 1

    def sharpness_by_step(self) -> np.ndarray | None:
        """The sharpness rows with their first column the training step shown (not the trace index)."""
        if self.sharpness is None:
            return None
        rows = np.array(self.sharpness, np.float64, copy=True)
        rows[:, 0] = [self.step_at(int(i)) for i in rows[:, 0]]
        return rows


@dataclass
class Landscape:
    """The numbers a film is made of: the loss surface on a grid and every run's path across it."""

    alphas: np.ndarray  # (na,)
    betas: np.ndarray  # (nb,)
    loss: np.ndarray  # (nb, na): loss[i, j] at (alphas[j], betas[i])
    traces: list[Trace]
    axis_labels: tuple[str, str]
    loss_name: str
    epochs: int
    minima: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))  # (k, 2) known minima (surfaces)
    # The plane in weight space: its centre and directions ("theta0", "d1", "d2", each (n_params,)),
    # kept when the three fit the scene's memory_mb; empty on a surface or when they do not fit.
    plane: dict = field(default_factory=dict)
    facts: dict = field(default_factory=dict)  # what the plane found, JSON-able: {"eigenvalues": [λ1, λ2]}
    # An evolving film (Evolve): the surface at K moments of the first run, (K, nb, na) on the same grid,
    # each through that moment's weights, and the trace index of each moment. ``loss`` is the last one.
    surfaces: np.ndarray | None = None
    surface_steps: np.ndarray | None = None
    # Scene(metrics=[...]): each metric over the grid, by name ("accuracy %"), beside ``loss``; with
    # Scene(metric=...) the height is that metric and the loss is here, under the loss's name.
    metrics: dict = field(default_factory=dict)
