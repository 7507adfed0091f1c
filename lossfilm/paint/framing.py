"""Where the 3-D picture sits in the frame: scaled and slid so that, at every view of the camera move,
the surface, its floor and its axis labels fill the part of the frame the text leaves free; zoomed and
focused per frame as the plan says; clipped to that part when a move goes past it."""
from __future__ import annotations

import numpy as np
from mpl_toolkits.mplot3d import proj3d

from .geometry import BOX_ASPECT
from .layout import POINTS, free_band

BASE_ZOOM = 0.94  # the box's diagonal and its labels stay inside the frame at every azimuth


class Framing:
    """The 3-D axes' zoom and position for one painter. ``fit(text)`` measures the picture over the
    whole move against the text's boxes; ``frame(i)`` sets frame i's zoom and focus."""

    FIT_VIEWS = 36

    def __init__(self, painter, rect, zoom: float):
        self.painter = painter
        self.ax, self.look, self.plan = painter.ax, painter.look, painter.plan
        self.rect = rect
        self.base_zoom = BASE_ZOOM  # until fit measures the picture against the text
        self.focus_centre = (0.5, 0.5)  # until fit finds the picture's part of the frame
        self.rows = None  # the rows the picture may take, once the header and footer close in
        self.zoom = zoom
        self.free = None
        self.ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * self.zoom)

    def frame(self, i: int) -> None:
        """Frame ``i``'s zoom and focus (the view itself is the painter's)."""
        plan = self.plan
        if plan.zoom[i] != self.zoom:
            self.zoom = float(plan.zoom[i])
            self.ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * self.zoom)
        self.focus(float(plan.focus[i]), None if plan.focus_point is None else plan.focus_point[i])

    def _picture_extent(self, azimuth: float, elevation: float) -> np.ndarray:
        """The pixel box (left, top, right, bottom) of the surface, its floor and its axis labels' anchor
        points at one view."""
        painter = self.painter
        grid = painter.field.vertices()
        painter.axes.update(azimuth, elevation)
        axes = painter.axes
        labels = np.array([p for p, _ in axes.anchored()], dtype=float).reshape(-1, 3)
        # Label anchors count, their ink does not: the free band keeps a text line's margin for that. The
        # z axis's name (the last label) is the exception: a long name would reach past that margin.
        half = np.zeros((len(labels), 2))
        if len(labels) and axes.show_names:
            name = axes.labels[-1][1]
            half[-1] = (name.width / 2, name.height / 2)
        pts = np.concatenate([grid, np.column_stack([grid[:, :2], np.full(len(grid), painter.floor)]), labels])
        px_, py_, _ = proj3d.proj_transform(pts[:, 0], pts[:, 1], pts[:, 2], self.ax.get_proj())
        screen = self.ax.transData.transform(np.column_stack([px_, py_]))
        screen[:, 1] = self.look.height - screen[:, 1]
        pad = np.concatenate([np.zeros((2 * len(grid), 2)), half])
        return np.array([(screen[:, 0] - pad[:, 0]).min(), (screen[:, 1] - pad[:, 1]).min(),
                         (screen[:, 0] + pad[:, 0]).max(), (screen[:, 1] + pad[:, 1]).max()])

    def picture_box(self) -> tuple[float, float, float, float]:
        """The pixel box of the surface, its floor and its axis labels over the whole camera move (the
        focus slide aside), at the current zoom and position. Every view is measured at the move's
        widest zoom: a move that zooms in goes past the frame's edge on purpose (measuring it there
        shrank the whole film to fit its closest view)."""
        plan, boxes = self.plan, []
        widest = float(np.min(plan.zoom))
        for i in np.unique(np.linspace(0, len(plan) - 1, self.FIT_VIEWS).round().astype(int)):
            self.ax.view_init(elev=float(plan.elevation[i]), azim=float(plan.azimuth[i]))
            self.ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * widest)
            self.ax.apply_aspect()
            boxes.append(self._picture_extent(float(plan.azimuth[i]), float(plan.elevation[i])))
        self.ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * self.zoom)
        b = np.array(boxes)
        return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())

    def fit(self, text: list) -> None:
        """Scale and slide the 3-D picture so that, at every view of the camera move, it fills the
        largest part of the frame ``text`` (pixel boxes) leaves free, and touches no text."""
        look, plan = self.look, self.plan
        font = POINTS["tick"] * look.dpi / 72.0
        self.painter.axes.obstacles = text  # the z axis's name keeps clear of every text
        # A small frame has little room to spare: its band is cut for the picture's shape, not its area.
        aspect = None
        if look.small:
            left, top, right, bottom = self.picture_box()
            aspect = (right - left) / max(bottom - top, 1.0)
        free = free_band(look.width, look.height, text, margin=0.012 * look.width, rows=self.rows, aspect=aspect)
        # Focusing brings a point to the middle of the picture's part of the frame, not of the frame.
        self.focus_centre = ((free[0] + free[2]) / 2 / look.width, 1 - (free[1] + free[3]) / 2 / look.height)
        if np.ptp(plan.zoom) > 0 or plan.focus.max() > 0:
            # A move that zooms in or slides the picture aside goes past the frame it was fitted to: it is
            # seen through that frame (the text stays clear of it), not drawn under the text.
            self.clip(free)
        # The labels are pasted centred on their anchors: keep half a label clear all round.
        free = (free[0] + 2.5 * font, free[1] + font, free[2] - 2.5 * font, free[3] - font)
        for _ in range(3):  # the projection is not exactly linear in the zoom: measure again
            left, top, right, bottom = self.picture_box()
            scale = min((free[2] - free[0]) / (right - left), (free[3] - free[1]) / (bottom - top))
            cx, cy = self._axes_centre()
            # Zooming scales the picture about the axes' centre; sliding the axes moves it whole.
            new = np.array([cx + scale * (left - cx), cy + scale * (top - cy), cx + scale * (right - cx),
                            cy + scale * (bottom - cy)])
            dx = (free[0] + free[2]) / 2 - (new[0] + new[2]) / 2
            dy = (free[1] + free[3]) / 2 - (new[1] + new[3]) / 2
            self.base_zoom *= scale
            x, y, w, h = self.rect
            self.rect = (x + dx / look.width, y - dy / look.height, w, h)
            self.ax.set_position(self.rect)
            if abs(scale - 1) < 0.01 and abs(dx) < 1 and abs(dy) < 1:
                break
        self.ax.set_box_aspect(tuple(BOX_ASPECT), zoom=self.base_zoom * self.zoom)
        self.free = free

    def slack(self) -> float:
        """How much taller the band the text leaves free is than the fitted picture, in pixels."""
        left, top, right, bottom = self.picture_box()
        return max(0.0, (self.free[3] - self.free[1]) - (bottom - top))

    def clip(self, band) -> None:
        """Draw the 3-D picture only inside ``band`` (pixel left, top, right, bottom), labels included."""
        from matplotlib.transforms import Bbox

        left, top, right, bottom = band
        box = Bbox.from_extents(left, self.look.height - bottom, right, self.look.height - top)
        for artist in self.ax.get_children():
            artist.set_clip_box(box)
            artist.set_clip_on(True)
        self.painter.axes.clip = band

    def _axes_centre(self) -> tuple[float, float]:
        self.ax.apply_aspect()
        b = self.ax.get_position()
        return (b.x0 + b.x1) / 2 * self.look.width, (1 - (b.y0 + b.y1) / 2) * self.look.height

    def focus(self, amount: float, point: np.ndarray | None = None) -> None:
        """Slide the 3-D axes so that the first run's end point (or ``point``, (alpha, beta) on the
        surface; a NaN beta is the map's middle line) moves ``amount`` of the way to the centre of the
        frame. mplot3d always centres the box; moving the axes moves the whole picture, and the
        projection (so the labels and the occlusion test) stays as it is."""
        painter = self.painter
        x, y, w, h = self.rect
        self.ax.set_position(self.rect)
        if amount <= 0:
            return
        self.ax.apply_aspect()  # the 3-D box keeps its aspect: the active position is a centred part
        f = painter.field
        if point is not None and np.isfinite(point[0]):
            a = float(np.clip(point[0], f.xs[0], f.xs[-1]))
            b = float((f.ys[0] + f.ys[-1]) / 2 if not np.isfinite(point[1]) else np.clip(point[1], f.ys[0], f.ys[-1]))
            end = np.array([a, b, float(f.height(np.array([a]), np.array([b]))[0]) + painter.lift])
        else:
            pts = painter.paths.runs[0][1]
            on_map = np.nonzero(f.covers(pts) & np.isfinite(pts).all(1))[0]
            if not len(on_map):  # the run never was on the map: nothing to centre on
                return
            end = pts[on_map[-1]]  # where it was last on the map (a run that diverged flies off it)
        px, py, _ = proj3d.proj_transform(end[:1], end[1:2], end[2:3], self.ax.get_proj())
        fx, fy = painter.fig.transFigure.inverted().transform(self.ax.transData.transform((px[0], py[0])))
        cx, cy = self.focus_centre
        self.ax.set_position((x + amount * (cx - fx), y + amount * (cy - fy), w, h))
