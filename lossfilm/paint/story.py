"""A storyboard's overlays: each beat's title as a lower-third card, and callouts that point at the
surface: a text box placed clear of every other text and inside the frame, with a leader line to its
point (a dot, or a ring where a hill hides the point, as a path's hidden stretch is dashed). Both fade
in and out. Placement is a pure function of the frame (no state carried from the last frame), so every
worker paints the same film.
"""
from __future__ import annotations

import numpy as np
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.transforms import IdentityTransform

from .layout import POINTS, overlaps
from .overlays import Overlay
from .sprites import Sprite

FADE_LEVELS = 8  # a box is pre-faded at this many opacities: a paste stays one multiply-add
CARD_POINTS = 13  # the title card's text, a little larger than the frame's title
# Where a callout's box goes around its point, in order of preference: up right, up left, down right,
# down left, above, below, right, left (y grows downwards).
DIRECTIONS = [(1, -1), (-1, -1), (1, 1), (-1, 1), (0, -1), (0, 1), (1, 0), (-1, 0)]
DISTANCES = (1.0, 1.8, 2.8)


def boxed(lines: list[Sprite], fg, bg, edge, pad: float) -> np.ndarray:
    """RGBA (straight alpha) of text lines on a rounded, nearly opaque box with a thin edge."""
    gap = int(round(0.35 * max(s.height for s in lines)))
    w = int(np.ceil(max(s.width for s in lines) + 2 * pad))
    h = int(np.ceil(sum(s.height for s in lines) + gap * (len(lines) - 1) + 2 * pad))
    r = min(pad, h / 2)
    yy, xx = np.mgrid[0:h, 0:w] + 0.5
    # Distance outside a rounded rectangle, antialiased over one pixel.
    dx = np.maximum(np.maximum(r - xx, xx - (w - r)), 0)
    dy = np.maximum(np.maximum(r - yy, yy - (h - r)), 0)
    d = np.hypot(dx, dy) - r
    inside = np.clip(0.5 - d, 0, 1)
    ring = np.clip(1.0 - np.abs(d + 0.8), 0, 1) * inside
    bg_rgb, edge_rgb = np.array(to_rgba(bg)[:3]) * 255, np.array(to_rgba(edge)[:3]) * 255
    rgb = bg_rgb * (1 - ring[..., None]) + edge_rgb * ring[..., None]
    alpha = inside * (0.88 + 0.12 * ring)
    y = pad
    for s in lines:  # each line's ink over the box, left-aligned
        x0, y0 = int(round(pad)), int(round(y))
        a = s.alpha[..., 0]
        region = (slice(y0, y0 + s.height), slice(x0, x0 + s.width))
        rgb[region] = rgb[region] * (1 - a[..., None]) + s.rgb * a[..., None]
        alpha[region] = np.maximum(alpha[region], a)
        y += s.height + gap
    return np.dstack([rgb, alpha * 255]).round().clip(0, 255).astype(np.uint8)


class faded:
    """The box at FADE_LEVELS opacities (``levels[k]``: k + 1 eighths), each anchored at its top left and
    made when first asked for: a worker painting frames without this callout makes none (each level holds
    four float arrays of the box)."""

    def __init__(self, rgba: np.ndarray):
        self.rgba, self._made = rgba, {}

    def __getitem__(self, k: int) -> Sprite:
        k %= FADE_LEVELS
        if k not in self._made:
            copy = self.rgba.copy()
            copy[..., 3] = np.round(self.rgba[..., 3].astype(np.float32) * (k + 1) / FADE_LEVELS).astype(np.uint8)
            self._made[k] = Sprite(copy, 0.0, 0.0)
        return self._made[k]

    @property
    def size(self) -> tuple[int, int]:
        """(width, height) of the box, without making a level."""
        return self.rgba.shape[1], self.rgba.shape[0]


def _sprite_at(levels: list[Sprite], opacity: float) -> Sprite | None:
    k = int(round(opacity * FADE_LEVELS))
    return levels[k - 1] if k > 0 else None


def _lines(painter, text: str, color, points: float, room: float, weight: str = "normal") -> list[Sprite]:
    from .chrome import _wrapped

    return [painter.sprites.get(line, color, points, weight=weight, ha="left", va="top")
            for line in _wrapped(text, room, points, painter.look.dpi, weight).split("\n")]


class TitleCard(Overlay):
    """The beat's title, lower left of the picture, for the beat's first seconds (StoryPlan.cards)."""

    def setup(self, painter) -> None:
        self.painter, self.story = painter, painter.plan.story
        look, theme = painter.look, painter.theme
        points = POINTS["legend"] if look.small else CARD_POINTS  # a blog's GIF: the card leaves the picture room
        pad = 0.55 * points * look.dpi / 72.0
        self.cards = {}
        for _, _, title in self.story.cards:
            if title not in self.cards:
                lines = _lines(painter, title, theme["fg"], points, 0.8 * look.width - 2 * pad, "bold")
                self.cards[title] = faded(boxed(lines, theme["fg"], theme["bg"], theme["dim"], pad))
        self.places = {title: self._place(*levels.size) for title, levels in self.cards.items()}

    def _place(self, w: int, h: int) -> tuple[float, float]:
        """Lower left of the picture's part of the frame, lifted clear of the text there; else the frame's."""
        painter, look = self.painter, self.painter.look
        taken = painter.chrome.obstacles()  # the text every frame keeps
        margin = 0.03 * min(look.width, look.height)
        free = _picture_band(painter)
        for left, bottom in ((free[0] + margin, free[3] - margin), (margin, look.height - margin)):
            left = min(max(left, margin), look.width - margin - w)
            for lift in np.arange(0, look.height, 4.0):
                box = (left, bottom - lift - h, left + w, bottom - lift)
                if box[1] < margin:
                    break
                if not any(overlaps(box, t, 4) for t in taken):
                    return box[0], box[1]
        return margin, look.height - margin - h

    def paste(self, pixels, i):
        title, opacity = self.story.card_fade(i)
        sprite = _sprite_at(self.cards[title], opacity) if title else None
        if sprite is not None:
            sprite.paste(pixels, *self.places[title])

    def boxes(self, i):
        title, opacity = self.story.card_fade(i)
        if not title or _sprite_at(self.cards[title], opacity) is None:
            return {}
        x, y = self.places[title]
        w, h = self.cards[title].size
        return {"title card": (x, y, x + w, y + h)}


def _picture_band(painter) -> tuple[float, float, float, float]:
    framing = getattr(painter, "framing", None)
    if framing is not None and framing.free is not None:
        return tuple(framing.free)
    bbox = painter.ax.get_window_extent()
    h = painter.look.height
    return bbox.x0, h - bbox.y1, bbox.x1, h - bbox.y0


class Callouts(Overlay):
    """Every callout of the story (StoryPlan.callouts): box, leader line and the point's mark; clear of the
    title ``card`` too."""

    def __init__(self, card: TitleCard | None = None):
        self.card = card

    def setup(self, painter) -> None:
        self.painter, self.story = painter, painter.plan.story
        look, theme = painter.look, painter.theme
        points = POINTS["tick"] + 1 if look.small else POINTS["legend"] + 1
        pad = 0.5 * points * look.dpi / 72.0
        room = (0.5 if look.small else 0.42) * look.width - 2 * pad
        self.sprites = [faded(boxed(_lines(painter, c.text, theme["fg"], points, room), theme["fg"], theme["bg"],
                                    theme["fg"], pad)) for c in self.story.callouts]
        self.reach = 0.07 * min(look.width, look.height) + 8
        self.margin = 0.015 * min(look.width, look.height) + 2
        self.head = 6.0 * look.dpi / 72.0  # a run head's radius and a little more, in pixels (8 pt markers)
        self.fixed = painter.chrome.obstacles()
        lw = max(1.2, 1.1 * look.dpi / 100)
        host = painter.ax
        self.leaders, self.marks = [], []
        for _ in self.story.callouts:
            leader = Line2D([], [], color=theme["fg"], lw=lw, alpha=0.9, transform=IdentityTransform(), zorder=8,
                            solid_capstyle="round")
            mark = Line2D([], [], color=theme["fg"], marker="o", ms=5.5, mew=1.6, ls="", mec=theme["bg"],
                          transform=IdentityTransform(), zorder=8.5)
            for artist in (leader, mark):
                artist.set_clip_on(False)
                artist.set_visible(False)
                host.add_artist(artist)
            self.leaders.append(leader)
            self.marks.append(mark)
        self.animated = tuple(self.leaders) + tuple(self.marks)
        self.axis_text = hasattr(getattr(painter, "axes", None), "keep_clear")  # the 3-D view's box labels
        self.placed: dict[int, tuple] = {}

    def _targets(self, i: int) -> list[tuple[int, np.ndarray, bool]]:
        """(callout index, pixel of its point, hidden behind a hill) for each callout at frame ``i``."""
        painter = self.painter
        out = []
        for k, c in enumerate(self.story.callouts):
            if not c.start <= i < c.stop:
                continue
            a, b = c.points[i - c.start]
            at = painter.to_pixels(a, b)[0]
            hidden = False
            field = getattr(painter, "field", None)
            if field is not None and hasattr(painter, "eye"):
                eye = painter.eye if painter.eye is not None else field.eye(painter.ax.get_proj())
                z = field.height(np.array([a]), np.array([b])) + painter.lift
                hidden = bool(field.hidden(np.array([[a, b, z[0]]]), float(painter.plan.azimuth[i]),
                                           float(painter.plan.elevation[i]), eye)[0])
            out.append((k, at, hidden))
        return out

    def _place(self, sprite: Sprite, at: np.ndarray, taken: list, points: list, leaders: list) -> tuple:
        """The box's top left: the first place around ``at`` inside the frame, clear of ``taken`` text and
        of every callout's point, whose leader crosses no other leader or text; else the least bad place
        inside the frame."""
        look, m = self.painter.look, self.margin
        w, h = sprite.width, sprite.height
        best, best_cost = None, np.inf
        for d in DISTANCES:
            for dx, dy in DIRECTIONS:
                px, py = at[0] + dx * self.reach * d / (1.41 if dx and dy else 1.0), \
                    at[1] + dy * self.reach * d / (1.41 if dx and dy else 1.0)
                left = px if dx > 0 else px - w if dx < 0 else px - w / 2
                top = py if dy > 0 else py - h if dy < 0 else py - h / 2
                box = (left, top, left + w, top + h)
                if box[0] < m or box[1] < m or box[2] > look.width - m or box[3] > look.height - m:
                    continue
                cost = sum(_area(box, t, 4) for t in taken) + sum(
                    _area(box, (p[0] - 8, p[1] - 8, p[0] + 8, p[1] + 8)) for p in points)
                leader = (_edge_point(box, at), (float(at[0]), float(at[1])))
                cost += 0.25 * w * h * (sum(_crosses(leader, other) for other in leaders)
                                        + sum(_through(leader, t) for t in taken)
                                        + sum(_near(leader, p, self.head) for p in points if p is not at))
                if cost == 0:
                    return left, top
                if cost < best_cost:
                    best, best_cost = (left, top), cost
        if best is None:  # no place around the point fits the frame: the nearest place inside it
            left = float(np.clip(at[0] - w / 2, m, max(m, look.width - m - w)))
            top = float(np.clip(at[1] - h - self.reach, m, max(m, look.height - m - h)))
            best = (left, top)
        return best

    def update(self, i: int) -> None:
        card = list(self.card.boxes(i).values()) if self.card is not None else []
        taken = self.fixed + card
        targets = self._targets(i)
        points = [at for _, at, _ in targets]
        leaders = []
        self.placed = {}
        for k, leader in enumerate(self.leaders):
            leader.set_visible(False)
            self.marks[k].set_visible(False)
        theme = self.painter.theme
        for k, at, hidden in targets:
            c = self.story.callouts[k]
            opacity = c.fade(i, self.story.fps)
            sprite = _sprite_at(self.sprites[k], opacity)
            if sprite is None:
                continue
            x, y = self._place(sprite, at, taken, points, leaders if c.arrow else [])
            box = (x, y, x + sprite.width, y + sprite.height)
            taken.append(box)
            self.placed[k] = (sprite, x, y, box)
            if c.arrow:
                end = _edge_point(box, at)
                leaders.append((end, (float(at[0]), float(at[1]))))
                height = self.painter.look.height
                tip = np.asarray(at, float)
                if c.marked:  # a run's head, a star: its own mark, the leader stops at its rim
                    gap = np.subtract(end, tip)
                    tip = tip + gap / max(np.hypot(*gap), 1e-9) * min(self.head, 0.5 * np.hypot(*gap))
                self.leaders[k].set_data([end[0], tip[0]], [height - end[1], height - tip[1]])
                self.leaders[k].set_alpha(0.9 * opacity)
                self.leaders[k].set_visible(True)
                if c.marked:
                    continue
                mark = self.marks[k]
                mark.set_data([at[0]], [height - at[1]])
                mark.set_markerfacecolor("none" if hidden else theme["fg"])
                mark.set_markeredgecolor(theme["fg"] if hidden else theme["bg"])
                mark.set_alpha(opacity)
                mark.set_visible(True)
        if self.axis_text:  # the 3-D box's labels give way to the story's text this frame
            self.painter.axes.keep_clear = [p[3] for p in self.placed.values()] + card

    def paste(self, pixels, i):
        for sprite, x, y, _ in self.placed.values():
            sprite.paste(pixels, x, y)

    def boxes(self, i):
        return {f"callout {k}": p[3] for k, p in self.placed.items()}

    def ends(self) -> dict:
        """Each shown callout's leader: (its end at the box, its end at the point), in pixels from the top."""
        h = self.painter.look.height
        out = {}
        for k in self.placed:
            if self.leaders[k].get_visible():
                xs, ys = self.leaders[k].get_data()
                out[k] = ((xs[0], h - ys[0]), (xs[1], h - ys[1]))
        return out


def _crosses(s, t) -> bool:
    """Whether two segments ((x, y), (x, y)) cross."""
    def side(a, b, c):
        return (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])

    (p, q), (r, u) = s, t
    return side(p, q, r) * side(p, q, u) < 0 and side(r, u, p) * side(r, u, q) < 0


def _near(s, point, distance: float) -> bool:
    """Whether a segment passes within ``distance`` of a point (another callout's: a leader must not seem
    to point at it)."""
    (x0, y0), (x1, y1) = s
    d = np.array([x1 - x0, y1 - y0])
    u = np.clip(np.dot([point[0] - x0, point[1] - y0], d) / max(np.dot(d, d), 1e-9), 0, 1)
    return bool(np.hypot(x0 + u * d[0] - point[0], y0 + u * d[1] - point[1]) < distance)


def _through(s, box) -> bool:
    """Whether a segment passes through a box (sampled; a leader is a few hundred pixels at most)."""
    (x0, y0), (x1, y1) = s
    u = np.linspace(0.05, 0.95, 12)
    xs, ys = x0 + (x1 - x0) * u, y0 + (y1 - y0) * u
    return bool(((xs > box[0]) & (xs < box[2]) & (ys > box[1]) & (ys < box[3])).any())


def _area(a, b, gap: float = 0.0) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0]) + gap
    h = min(a[3], b[3]) - max(a[1], b[1]) + gap
    return max(0.0, w) * max(0.0, h)


def _edge_point(box, at) -> tuple[float, float]:
    """Where a leader from the box's centre towards ``at`` leaves the box."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    dx, dy = at[0] - cx, at[1] - cy
    if dx == 0 and dy == 0:
        return cx, cy
    hw, hh = (box[2] - box[0]) / 2, (box[3] - box[1]) / 2
    t = min(hw / abs(dx) if dx else np.inf, hh / abs(dy) if dy else np.inf)
    return cx + dx * t, cy + dy * t


def story_overlays(painter) -> list:
    """The storyboard's overlays for a painter whose plan has a story, set up in order; else none."""
    if painter.plan.story is None:
        return []
    from .overlays import set_up

    card = TitleCard()
    return set_up([card, Callouts(card)], painter)
