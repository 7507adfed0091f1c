"""The 3-D picture's lean axes: box edges, tick labels and axis names as sprites on the edges that face
the camera, kept clear of each other and of the text.
"""
from __future__ import annotations


import matplotlib
import matplotlib.colors
import numpy as np
from matplotlib.ticker import MaxNLocator
from mpl_toolkits.mplot3d import proj3d

from .layout import POINTS, overlaps
from .sprites import Sprite, TextSprites
from .geometry import HeightField


def _tick_label(value: float) -> str:
    # Round numbers read as written (2000, not 2e+03); others in three digits.
    text = str(int(round(value))) if value == round(value) and abs(value) < 1e6 else f"{value:.3g}"
    return text.replace("-", "\u2212")


class LeanAxes:
    """Axis lines, a few tick labels and the axis names, kept on the box edges that face the camera.

    mplot3d's own axes (panes, grid, ticks, their layout) cost about 40 % of a frame. Here the lines
    are two artists that move, and every label is a sprite pasted at its projected position.
    """

    def __init__(self, ax, field: HeightField, floor: float, names: tuple[str, str, str], theme: dict,
                 ticks: int, sprites: TextSprites, beta_ticks: dict | None = None,
                 zrange: tuple[float, float] | None = None, show_names: bool = True):
        self.ax = ax
        self.show_names = show_names  # a small frame shows the ticks that fit and no axis names
        (x0, y0, _), span = field.lo, field.span
        x1, y1, z1 = x0 + span[0], y0 + span[1], field.lo[2] + span[2]
        self.box = (x0, x1, y0, y1, floor, z1)
        self.pad = 0.07 * span
        self.zrange = zrange or (float(field.z.min()), float(field.z.max()))
        dim, fg = theme["dim"], theme["fg"]

        def ticks_in(lo, hi):
            return [v for v in MaxNLocator(ticks).tick_values(lo, hi) if lo <= v <= hi]

        def label(v):
            return sprites.get(_tick_label(v), dim, POINTS["tick"])

        self.xticks = [(v, label(v)) for v in ticks_in(x0, x1)]
        # Named ticks where beta is not a number (an Interpolation's two splits), else numbers. A name is
        # set a tenth in from its edge, clear of the other axis's tick at the corner.
        self.yticks = ([(y0 + (0.1 + 0.8 * (float(v) - y0) / (y1 - y0)) * (y1 - y0), sprites.get(text, dim, POINTS["tick"]))
                        for v, text in beta_ticks.items()] if beta_ticks else [(v, label(v)) for v in ticks_in(y0, y1)])
        self.zticks = [(v, label(v)) for v in ticks_in(*self.zrange)]
        self._label, self._ticks_in = label, ticks_in
        self.names = [sprites.get(n, fg, POINTS["axis_name"]) for n in names]
        ax.plot([x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0], [floor] * 5, color=dim, lw=0.6, zorder=0.5)
        self.zline, = ax.plot([x0, x0], [y0, y0], list(self.zrange), color=dim, lw=0.8, zorder=7)
        self.labels: list[tuple[tuple[float, float, float], Sprite]] = []
        self.clip = None  # the picture's frame (pixel box) when a camera move zooms in or slides
        self.obstacles: list = []  # pixel boxes (the text) the z axis name keeps clear of
        # This frame's own text (a storyboard's card and callouts): every label gives way to it, or is dropped.
        self.keep_clear: list = []
        rgb = np.round(np.asarray(matplotlib.colors.to_rgb(theme["bg"])) * 255).astype(np.uint8)
        self._bg24 = np.array([*rgb, 0], np.uint8).view(np.uint32)[0]  # the background's RGB bits as a pixel

    def retick(self, lo: float, hi: float) -> None:
        """Label the z axis for values lo..hi drawn over its whole extent (an evolving film whose z range
        follows its surfaces): each tick value at the height it is drawn at."""
        z0, z1 = self.zrange
        values = self._ticks_in(lo, hi)
        self.zticks = [(z0 + (v - lo) / (hi - lo) * (z1 - z0), self._label(v)) for v in values]
        self.tick_texts = [_tick_label(v) for v in values]

    def update(self, azimuth: float, elevation: float) -> None:
        """Choose the edges for this view and place every label (drawn later by ``paste``)."""
        x0, x1, y0, y1, floor, ztop = self.box
        a = np.radians(azimuth)
        # The camera sits along (cos a, sin a): label the edges on its side, pushed outwards.
        near_y, out_y = (y1, 1) if np.sin(a) > 0 else (y0, -1)
        near_x, out_x = (x1, 1) if np.cos(a) > 0 else (x0, -1)
        far_x, far_y = x0 + x1 - near_x, y0 + y1 - near_y
        ty, tx = near_y + out_y * self.pad[1], near_x + out_x * self.pad[0]
        labels = [((v, ty, floor), s) for v, s in self.xticks] + [((tx, v, floor), s) for v, s in self.yticks]
        self.ticks = len(labels)
        # The axis names, and the points of their edges they are pushed away from (see paste).
        labels.append((((x0 + x1) / 2, near_y + out_y * 2.4 * self.pad[1], floor), self.names[0]))
        labels.append(((near_x + out_x * 2.4 * self.pad[0], (y0 + y1) / 2, floor), self.names[1]))
        self.name_bases = [((x0 + x1) / 2, near_y, floor), (near_x, (y0 + y1) / 2, floor)]
        # The loss axis stands on whichever side corner appears further right, clear of the text column.
        corners = ((near_x, far_y), (far_x, near_y))
        right = np.array([-np.sin(a), np.cos(a)])  # screen-right in the xy plane for this azimuth
        scale = np.array([1 / (x1 - x0), 1 / (y1 - y0)])
        cx, cy = max(corners, key=lambda c: float(np.dot(np.asarray(c) * scale, right)))
        ox = self.pad[0] * 0.8 * (1 if cx == x1 else -1)
        oy = self.pad[1] * 0.8 * (1 if cy == y1 else -1)
        self.zline.set_data_3d([cx, cx], [cy, cy], list(self.zrange))
        labels += [((cx + ox, cy + oy, v), s) for v, s in self.zticks]
        labels.append(((cx + ox, cy + oy, self.zrange[1] + 0.12 * (ztop - floor)), self.names[2]))
        self.labels = labels

    def anchored(self) -> list:
        """The labels whose places the picture keeps room for: all of them, or without the axis names
        on a small frame, which shows none (call after ``update``)."""
        if self.show_names:
            return self.labels
        names = (self.ticks, self.ticks + 1, len(self.labels) - 1)
        return [label for k, label in enumerate(self.labels) if k not in names]

    def paste(self, frame: np.ndarray) -> None:
        """Paste the labels at their projected positions; call after the frame is drawn (it sets ax.M)."""
        if not self.labels:
            return
        xyz = np.array([p for p, _ in self.labels] + self.name_bases, dtype=float)
        px, py, _ = proj3d.proj_transform(xyz[:, 0], xyz[:, 1], xyz[:, 2], self.ax.M)
        screen = self.ax.transData.transform(np.column_stack([px, py]))
        screen[:, 1] = frame.shape[0] - screen[:, 1]  # rows from the top
        bases, screen = screen[len(self.labels):], screen[:len(self.labels)]
        sprites = [s for _, s in self.labels]
        # Text stays whole inside the frame, or inside the picture's frame when a move zooms in past it.
        band = self.clip if self.clip is not None else (0.0, 0.0, float(frame.shape[1]), float(frame.shape[0]))
        shown = set(range(len(sprites)))
        taken = []
        for k in range(self.ticks):  # the floor's ticks that fit: whole, and clear of those kept
            box = sprites[k].box(*screen[k])
            if not _within(box, band) or any(overlaps(box, t, 2)
                                             for t in taken + list(self.obstacles) + self.keep_clear):
                shown.discard(k)
            else:
                taken.append(box)

        def inside(k):  # a long name stays inside the frame
            left, top, right, bottom = sprites[k].box(*screen[k])
            screen[k, 0] += max(0.0, band[0] + 2.0 - left) - max(0.0, right - (band[2] - 2.0))
            screen[k, 1] += max(0.0, band[1] + 2.0 - top) - max(0.0, bottom - (band[3] - 2.0))

        for k, base in zip((self.ticks, self.ticks + 1), bases):
            if not self.show_names:
                shown.discard(k)
                continue
            inside(k)
            screen[k] = _clear_of(sprites[k], screen[k], base, taken + self.keep_clear)
            inside(k)
            box = sprites[k].box(*screen[k])
            if _within(box, band) and not any(overlaps(box, t, 2) for t in self.keep_clear):
                taken.append(box)
            else:  # pushed out by the ticks at the band's edge: a name is never cut
                shown.discard(k)
        self.boxes = taken  # where the floor's labels went: the ticks shown, then the axis names
        # The z axis's ticks, bottom up, each kept only clear of those kept and of the floor's labels: seen
        # from high above, the axis shortens until its labels would print over one another.
        self.z_boxes = []
        for k in range(self.ticks + 2, len(sprites) - 1):
            box = sprites[k].box(*screen[k])
            if not _within(box, band) or any(overlaps(box, t, 2) for t in self.z_boxes + taken + list(self.obstacles)
                                             + self.keep_clear):
                shown.discard(k)
            else:
                self.z_boxes.append(box)
        if self.obstacles:  # the z axis's name (the last label) moves left, clear of the text
            screen[-1] = _clear_of(sprites[-1], screen[-1], screen[-1] + (1.0, 0.0), self.obstacles, tries=200)
        last = len(sprites) - 1
        inside(last)
        screen[-1] = self._clear_of_picture(frame, sprites[-1], screen[-1], taken + self.z_boxes)
        self.z_name_box = sprites[-1].box(*screen[-1])
        if not self.show_names or not _within(self.z_name_box, band) or any(
                overlaps(self.z_name_box, t, 2) for t in self.keep_clear):
            shown.discard(last)
            self.z_name_box = (self.z_name_box[0], self.z_name_box[1], self.z_name_box[0], self.z_name_box[1])
        for k, ((x, y), sprite) in enumerate(zip(screen, sprites)):
            if k in shown:
                sprite.paste(frame, x, y)

    def _clear_of_picture(self, frame: np.ndarray, sprite, at: np.ndarray, taken: list, gap: int = 3) -> np.ndarray:
        """``at`` moved the least distance (up, or sideways, leftwards counting double) so that the z
        axis's name covers none of the drawn picture and no text: seen from the side, the surface's high
        corner beside the axis rises into the name's place. The frame holds the drawn surface and the
        static layer here, so its own pixels are the test; every offset within a quarter of the frame is
        tried at once through a summed-area table. Where none is free, the name stays where it was."""
        h, w = frame.shape[:2]
        left, top, right, bottom = sprite.box(*at)
        bw, bh = int(np.ceil(right - left)) + 2, int(np.ceil(bottom - top)) + 2
        bx, by = int(np.floor(left)) - 1, int(np.floor(top)) - 1  # the box's top-left pixel now
        top_limit = 2 if self.clip is None else max(2, int(np.ceil(self.clip[1])))
        x0, x1 = max(bx - w // 8, 2), min(bx + bw + w // 4, w - 2)
        y0, y1 = max(by - h // 4, top_limit), min(by + bh, h)
        if x1 - x0 < bw or y1 - y0 < bh:
            return at
        texts = list(self.obstacles) + list(taken)
        box = (left, top, right, bottom)
        if x0 <= bx and bx + bw <= x1 and y0 <= by and by + bh <= y1 and not any(
                overlaps(box, t, gap) for t in texts) and self._ink(frame[by:by + bh, bx:bx + bw]).sum() < 3:
            return at  # the usual case: already clear
        ink = self._ink(frame[y0:y1, x0:x1])
        for l, t, r, b in texts:  # noqa: E741
            ink[max(int(t) - gap - y0, 0):max(int(np.ceil(b)) + gap - y0, 0),
                max(int(l) - gap - x0, 0):max(int(np.ceil(r)) + gap - x0, 0)] = True
        table = np.zeros((ink.shape[0] + 1, ink.shape[1] + 1), np.int32)
        table[1:, 1:] = ink.cumsum(0).cumsum(1)
        count = table[bh:, bw:] - table[:-bh, bw:] - table[bh:, :-bw] + table[:-bh, :-bw]
        ys, xs = np.nonzero(count < 3)  # top-left corners, in the region, of boxes free of ink
        dx, dy = xs + x0 - bx, ys + y0 - by
        ok = dy <= 0  # never down, into the z axis's own ticks
        if not ok.any():
            return at
        cost = np.hypot(np.where(dx < 0, 2.0 * dx, dx), dy)[ok]
        k = int(np.argmin(cost))
        return at + (float(dx[ok][k]), float(dy[ok][k]))

    def _ink(self, pixels: np.ndarray) -> np.ndarray:
        """Where ``pixels`` (rows, columns, RGBA) are not the background: anything drawn, to its
        faintest anti-aliased fringe (one comparison of whole pixels: a channel-wise tolerance cost
        3 ms for the search's region)."""
        return (pixels.view(np.uint32)[..., 0] & np.uint32(0xFFFFFF)) != self._bg24

def _within(box, band, slack: float = 0.5) -> bool:
    return (box[0] >= band[0] - slack and box[1] >= band[1] - slack and box[2] <= band[2] + slack
            and box[3] <= band[3] + slack)


def _clear_of(sprite, at: np.ndarray, base: np.ndarray, taken: list, step: float = 3.0, tries: int = 60,
              gap: float = 3.0) -> np.ndarray:
    """``at`` moved away from ``base`` (its axis edge) until the sprite's ink is ``gap`` pixels clear of
    every box in ``taken``: a long axis name seen at a steep angle would otherwise cover tick labels."""
    direction = at - base
    norm = float(np.hypot(*direction))
    direction = direction / norm if norm > 1e-9 else np.array([0.0, 1.0])
    for _ in range(tries):
        box = sprite.box(*at)
        if not any(overlaps(box, t, gap) for t in taken):
            break
        at = at + step * direction
    return at
