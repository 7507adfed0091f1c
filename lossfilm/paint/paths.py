"""What the 3-D picture shows of the runs, as overlays: each run's path, shadow, hidden stretches and
markers; the surface's known minima as stars (a ModelsPlane's a, b, c named); gradient and velocity
arrows. Each reads the surface as drawn (the painter's height field) and the frame's camera.

mplot3d has no z-buffer: every frame tests which stretches of a path a hill really hides from the
camera (``HeightField.hidden``); those are drawn as a faint dashed "ghost" rather than over the hill.
"""
from __future__ import annotations

import numpy as np
from matplotlib import patheffects
from mpl_toolkits.mplot3d import proj3d

from .geometry import OCCLUSION_SAMPLES
from .layout import POINTS
from .overlays import Overlay

MAX_PATH_VERTICES = 1500  # beyond this many steps the path is subsampled for drawing
STAR = "#ffd166"  # the minima's colour, in every view


def visible_vertices(s: int) -> np.ndarray:
    """The indices of a path's first ``s`` + 1 points that are drawn: all, or an even subsample."""
    if s + 1 <= MAX_PATH_VERTICES:
        return np.arange(s + 1)
    return np.unique(np.round(np.linspace(0, s, MAX_PATH_VERTICES)).astype(int))


class Paths(Overlay):
    """Per run: shadow on the floor, ghost (hidden stretches), path, start and current markers."""

    def setup(self, painter) -> None:
        self.painter = painter
        ax, theme, field, lift = painter.ax, painter.theme, painter.field, painter.lift
        self.runs, self.starts = [], []
        for trace, color in zip(painter.landscape.traces, painter.plan.colors):
            x, y = trace.alpha, trace.beta
            zs = field.height(x, y) + lift
            shadow, = ax.plot([], [], [], color=color, alpha=0.75, lw=1.2, zorder=1)
            ghost, = ax.plot([], [], [], color=color, alpha=0.45, lw=1.3, ls=(0, (2, 2)), zorder=3)
            # A dark edge keeps the path readable on any part of the colour map (a pink path on magma's
            # magenta middle, once its black end is trimmed for contrast with the background).
            line, = ax.plot([], [], [], color=color, lw=2.4, zorder=4, solid_capstyle="round",
                            path_effects=[patheffects.Stroke(linewidth=3.8, foreground=theme["bg"], alpha=0.7),
                                          patheffects.Normal()])
            start, = ax.plot([x[0]], [y[0]], [zs[0]], marker="o", ms=4.5, color=color, mec=theme["marker_edge"],
                             mew=0.6, zorder=5, ls="")
            self.starts.append(start)
            head, = ax.plot([], [], [], marker="o", ms=8, color=color, mec=theme["marker_edge"], mew=1.4,
                            zorder=6, ls="")
            self.runs.append((trace, np.stack([x, y, zs], 1), shadow, ghost, line, head))

    def update(self, i: int) -> None:
        painter = self.painter
        plan, field, theme = painter.plan, painter.field, painter.theme
        azimuth, elevation = float(plan.azimuth[i]), float(plan.elevation[i])
        for k, (trace, pts, shadow, ghost, line, head) in enumerate(self.runs):
            if plan.shown is not None:  # a storyboard's beat may hide a run, or all of them
                on = bool(plan.shown[i, k])
                for artist in (shadow, ghost, line, head, self.starts[k]):
                    artist.set_visible(on)
                if not on:
                    continue
            s = int(plan.steps[i, k])
            p = pts[visible_vertices(s)].copy()
            if painter.morph is not None:  # the path lies on the surface of this moment
                p[:, 2] = field.height(p[:, 0], p[:, 1]) + painter.lift
            p[~field.covers(p)] = np.nan  # off the map: not drawn
            hidden = self._hidden(p, azimuth, elevation)
            seg_hidden = hidden[:-1] | hidden[1:] if len(p) > 1 else hidden
            # NaN breaks a line: the solid path keeps visible segments, the ghost the hidden ones.
            shown = p.copy()
            ghosted = p.copy()
            vis_v = np.zeros(len(p), bool)
            gho_v = np.zeros(len(p), bool)
            if len(p) > 1:
                vis_v[:-1] |= ~seg_hidden
                vis_v[1:] |= ~seg_hidden
                gho_v[:-1] |= seg_hidden
                gho_v[1:] |= seg_hidden
            shown[~vis_v] = np.nan
            ghosted[~gho_v] = np.nan
            line.set_data_3d(shown[:, 0], shown[:, 1], shown[:, 2])
            ghost.set_visible(bool(gho_v.any()))  # an empty line still costs a draw
            ghost.set_data_3d(ghosted[:, 0], ghosted[:, 1], ghosted[:, 2])
            shadow.set_data_3d(p[:, 0], p[:, 1], np.full(len(p), painter.floor))
            drawn = np.nonzero(np.isfinite(p[:, 0]))[0]
            last = drawn[-1:] if len(drawn) else drawn  # where the path was last on the map
            head.set_data_3d(p[last, 0], p[last, 1], p[last, 2])
            # A run that diverged ends in a cross; one that left the map in a hollow square at the edge.
            diverged = trace.diverged_at >= 0 and s >= trace.steps
            left = bool(len(last) and last[0] < len(p) - 1)
            head.set_marker("X" if diverged else "s" if left else "o")
            # Behind a hill the marker is a ring in the run's own colour, like its dashed ghost: a faded
            # disc reads as grey, as another object.
            behind = bool(len(last) and hidden[last[0]])
            color = head.get_color()
            head.set_markerfacecolor("none" if behind else theme["bg"] if left and not diverged else color)
            head.set_markeredgecolor(color if behind else theme["marker_edge"])
            head.set_markeredgewidth(2.2 if behind else 1.4)

    def _hidden(self, p: np.ndarray, azimuth: float, elevation: float) -> np.ndarray:
        """Occlusion for every vertex, ray-marched at no more than OCCLUSION_SAMPLES of them: whether a
        hill hides the path changes slowly along it, and the march costs more than drawing the line."""
        field, eye = self.painter.field, self.painter.eye  # this view's camera (see Painter.paint)
        if len(p) <= OCCLUSION_SAMPLES:
            return field.hidden(p, azimuth, elevation, eye)
        probe = np.round(np.linspace(0, len(p) - 1, OCCLUSION_SAMPLES)).astype(int)
        flags = field.hidden(p[probe], azimuth, elevation, eye)
        nearest = np.clip(np.searchsorted(probe, np.arange(len(p)) - (probe[1] - probe[0]) / 2), 0, len(probe) - 1)
        return flags[nearest]


class Minima(Overlay):
    """The surface's known minima as small stars, on the surface and on the floor map; a ModelsPlane's
    stars are its models a, b, c, each named just above its star."""

    def setup(self, painter) -> None:
        self.painter, self.marks = painter, []
        m = painter.landscape.minima
        if not len(m):
            return
        field = painter.field
        inside = field.covers(np.column_stack([m, np.zeros(len(m))]))
        m = m[inside]
        zs = field.height(m[:, 0], m[:, 1]) + painter.lift
        star = dict(marker="*", ms=11, color=STAR, mec=painter.theme["bg"], mew=0.8, ls="")
        painter.ax.plot(m[:, 0], m[:, 1], zs, zorder=4.5, **star)
        painter.ax.plot(m[:, 0], m[:, 1], np.full(len(m), painter.floor), zorder=1.5, alpha=0.9, **star)
        names = [name for name, keep in zip(painter.landscape.facts.get("models", {}), inside) if keep]
        self.marks = [((x, y, z), name) for (x, y), z, name in zip(m, zs, names)]

    def paste(self, pixels: np.ndarray, i: int) -> None:
        if not self.marks:
            return
        painter = self.painter
        xyz = np.array([p for p, _ in self.marks], dtype=float)
        px, py, _ = proj3d.proj_transform(xyz[:, 0], xyz[:, 1], xyz[:, 2], painter.ax.M)
        screen = painter.ax.transData.transform(np.column_stack([px, py]))
        lift = POINTS["legend"] * painter.look.dpi / 72.0
        clip = painter.axes.clip
        for (x, y), (_, name) in zip(screen, self.marks):
            if clip is not None and not (clip[0] <= x <= clip[2] and clip[1] <= pixels.shape[0] - y <= clip[3]):
                continue  # its star is beyond the picture's frame (a zoom)
            sprite = painter.sprites.get(name, STAR, POINTS["legend"], weight="bold", va="bottom")
            sprite.paste(pixels, x, pixels.shape[0] - y - 0.6 * lift)


class Arrows(Overlay):
    """Per run, as the style asks: the negative gradient at the head (a textbook surface's) and the step
    just taken, its length relative to the run's longest."""

    LENGTH = 0.16  # an arrow's length, as a share of the map's larger side

    def setup(self, painter) -> None:
        self.painter = painter
        style, theme = painter.style, painter.theme
        self.arrows = []  # (run index, kind, artist)
        for k, (trace, color) in enumerate(zip(painter.landscape.traces, painter.plan.colors)):
            kinds = [kind for kind, on in (("gradient", style.gradient_arrows and trace.grad is not None),
                                           ("velocity", style.velocity_arrows)) if on]
            for kind in kinds:
                line, = painter.ax.plot([], [], [], color=theme["fg"] if kind == "gradient" else color, lw=2.4,
                                        ls="-" if kind == "gradient" else (0, (1, 1)), zorder=6.5,
                                        solid_capstyle="round")
                self.arrows.append((k, kind, line))

    def _arrow(self, start: np.ndarray, direction: np.ndarray, length: float) -> np.ndarray:
        """Points of an arrow on the surface: shaft and two barbs, NaN-separated, in data units."""
        d = direction / (np.hypot(*direction) or 1.0)
        tip = start[:2] + length * d
        barbs = [tip - 0.35 * length * (np.array([[c, -s_], [s_, c]]) @ d)
                 for c, s_ in ((np.cos(0.45), np.sin(0.45)), (np.cos(-0.45), np.sin(-0.45)))]
        xy = np.array([start[:2], tip, [np.nan, np.nan], barbs[0], tip, [np.nan, np.nan], barbs[1], tip])
        z = self.painter.field.height(np.nan_to_num(xy[:, 0]), np.nan_to_num(xy[:, 1])) + self.painter.lift
        z[np.isnan(xy[:, 0])] = np.nan
        return np.column_stack([xy, z])

    def update(self, i: int) -> None:
        if not self.arrows:
            return
        painter = self.painter
        field = painter.field
        span = max(field.span[0], field.span[1]) * self.LENGTH
        for k, kind, line in self.arrows:
            trace = painter.landscape.traces[k]
            s = int(painter.plan.steps[i, k])
            here = np.array([trace.alpha[s], trace.beta[s]])
            if kind == "gradient":
                direction, length = -trace.grad[s], span
            else:  # the step just taken, its length relative to the run's longest step
                prev = max(s - 1, 0)
                direction = here - np.array([trace.alpha[prev], trace.beta[prev]])
                steps = np.hypot(np.diff(trace.alpha), np.diff(trace.beta))
                longest = float(np.nanmax(steps)) if steps.size else 0.0
                length = span * (np.hypot(*direction) / longest if longest > 0 else 0.0)
            if not np.isfinite(direction).all() or np.hypot(*direction) == 0 or not field.covers(
                    np.array([[*here, 0.0]]))[0]:
                line.set_data_3d([], [], [])
                continue
            pts = self._arrow(here, direction, max(length, 0.25 * span) if kind == "velocity" else length)
            line.set_data_3d(pts[:, 0], pts[:, 1], pts[:, 2])
