"""How a film is seen: the camera and its moves, and the style. Nothing here changes a number, so
none of it is part of the cache's key (``__changes_no_numbers__``).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import SceneError
from .checks import _color, _number, _text

# Editing this module (a Style field, a docstring) must not throw away cached landscapes: compute.cache
# leaves a module that says so out of its digest of the computing code, and does not follow its imports.
__changes_no_numbers__ = True


@dataclass(frozen=True)
class Move:
    """One segment of a camera move: over ``seconds``, turn by ``turns`` orbits and ease elevation and
    zoom to the given values (None keeps them). ``focus=True`` moves the picture so that the first run's
    end point comes to the centre of the frame (with ``zoom``: zoom towards the end point); ``False``
    moves back. ``Move(2)`` alone holds still for two seconds."""

    seconds: float
    turns: float = 0.0
    elevation: float | None = None
    zoom: float | None = None
    focus: bool | None = None
    ease: str = "in_out"
    # Where the focus is during this move, travelling from the first point to the second: two (alpha, beta)
    # points, or two numbers meaning alpha (an Interpolation's t) on the map's middle line, so that
    # ``Move(6, zoom=2.2, focus=True, along=(-0.5, 1.5))`` flies the camera along an interpolation's
    # ribbon. None: the first run's end point.
    along: tuple | None = None

    def __post_init__(self) -> None:
        if self.along is not None:
            if not isinstance(self.along, (tuple, list)) or len(self.along) != 2:
                raise SceneError("camera.moves.along", "two points (alpha, beta), or two numbers (t from, t to)",
                                 self.along)
            ends = []
            for end in self.along:
                if isinstance(end, (tuple, list)):
                    if len(end) != 2:
                        raise SceneError("camera.moves.along", "points of two numbers (alpha, beta)", end)
                    ends.append(tuple(_number(v, "camera.moves.along") for v in end))
                else:
                    ends.append((_number(end, "camera.moves.along"), None))
            object.__setattr__(self, "along", tuple(ends))
        object.__setattr__(self, "seconds", _number(self.seconds, "camera.moves.seconds", positive=True))
        object.__setattr__(self, "turns", _number(self.turns, "camera.moves.turns"))
        if self.elevation is not None and not -90 <= _number(self.elevation, "camera.moves.elevation") <= 90:
            raise SceneError("camera.moves.elevation", "degrees between -90 and 90", self.elevation)
        if self.zoom is not None:
            _number(self.zoom, "camera.moves.zoom", positive=True)
        if self.focus not in (None, True, False):
            raise SceneError("camera.moves.focus", "True, False or None", self.focus)
        if self.ease not in ("linear", "in_out"):
            raise SceneError("camera.moves.ease", "'linear' or 'in_out'", self.ease)


@dataclass(frozen=True)
class Camera:
    """How the film is seen: start azimuth, elevation and zoom, then either ``turns`` of steady orbit over
    the clip (the default: one) or a list of ``moves``, whose durations are scaled to fill the clip."""

    azimuth: float = -60.0
    elevation: float = 32.0
    turns: float = 1.0
    zoom: float = 1.0
    moves: tuple[Move, ...] = ()

    def __post_init__(self) -> None:
        moves = tuple(self.moves)
        if not all(isinstance(m, Move) for m in moves):
            raise SceneError("camera.moves", "a list of Move(seconds, turns, elevation, zoom)", self.moves)
        object.__setattr__(self, "moves", moves)
        object.__setattr__(self, "azimuth", _number(self.azimuth, "camera.azimuth"))
        object.__setattr__(self, "elevation", _number(self.elevation, "camera.elevation"))
        if not -90 <= self.elevation <= 90:
            raise SceneError("camera.elevation", "degrees between -90 and 90", self.elevation)
        object.__setattr__(self, "turns", _number(self.turns, "camera.turns"))
        object.__setattr__(self, "zoom", _number(self.zoom, "camera.zoom", positive=True))


@dataclass(frozen=True)
class Style:
    """The look: theme, colormap, path colours."""

    theme: str = "dark"
    cmap: str = "viridis"
    path_colors: tuple[str, ...] = ("#ff4d6d", "#ffb703", "#4cc9f0", "#c77dff", "#ffffff")
    title: str | None = None
    subtitle: str | None = None
    floor: bool = True  # the floor map with each path's shadow
    hud: bool = True  # epoch / step / loss text
    loss_curve: bool = True  # an inset of loss against step growing with the paths 
    loss_curve_log: bool = False
    colorbar: bool = False
    # Teaching overlays at each run's current point, on a surface: the downhill gradient's direction,
    # and the step the optimizer takes (its velocity, for momentum methods).
    gradient_arrows: bool = False
    velocity_arrows: bool = False
    zscale: str = "linear"  # "log" for surfaces whose values span decades
    z_label: str | None = None  # the z axis's name (default: the loss's, e.g. "test MSE")
    loss_label: str | None = None  # the loss's name in the HUD, inset and colour bar (default e.g. "test MSE")
    # The loss range the heights and colours span, (lo, hi) in loss units; None: the surface's own.
    # Compare(shared_z=True) sets it to the union of its panels' ranges, so heights compare.
    z_range: tuple[float, float] | None = None
    # An evolving film (Evolve): False keeps one z range for all its surfaces, so heights compare across
    # time; True gives each moment's surface its own range (the z axis relabelled as it morphs), so a
    # late, flat surface still shows its shape.
    z_follows: bool = False
    # "3d": the surface turning in 3-D; "2d": seen from above, a map with contour lines and the paths on
    # it (an Interpolation: a plain plot of the loss along t). The camera is not used in 2-D.
    view: str = "3d"
    # "smooth": each facet's colour blends between its corners (Gouraud); "flat": one colour per facet,
    # 10-25 % cheaper to paint, for a batch where speed counts more than the last polish.
    shading: str = "smooth"
    # The scene's own overlays, drawn on every frame above the picture, in the 3-D and the flat view: one
    # object each of a class with setup/update/paste (lossfilm.paint.overlays.Overlay). They travel to the
    # workers with the style, so each must pickle (its class at module level of an importable module).
    overlays: tuple = ()

    def __post_init__(self) -> None:
        if isinstance(self.overlays, (list, tuple)):
            object.__setattr__(self, "overlays", tuple(self.overlays))
        else:
            raise SceneError("style.overlays", "a list of overlay objects", self.overlays)
        for i, overlay in enumerate(self.overlays):
            if isinstance(overlay, type) or not all(callable(getattr(overlay, m, None))
                                                    for m in ("setup", "update", "paste", "boxes")):
                raise SceneError(f"style.overlays[{i}]", "an overlay object (an instance of a subclass of "
                                                         "lossfilm.paint.overlays.Overlay)", overlay)
        if self.z_follows is True and (self.z_range is not None or self.colorbar):
            raise SceneError("style.z_follows", "False with z_range= or colorbar=True (one range for the film)",
                             self.z_follows)
        if self.z_range is not None:
            if not isinstance(self.z_range, (tuple, list)) or len(self.z_range) != 2:
                raise SceneError("style.z_range", "a (lo, hi) pair of losses", self.z_range)
            lo, hi = (_number(v, "style.z_range") for v in self.z_range)
            if lo >= hi or (self.zscale == "log" and lo <= 0):
                raise SceneError("style.z_range", "lo < hi" + (" and lo > 0 on a log z axis" if self.zscale == "log"
                                                               else ""), self.z_range)
            object.__setattr__(self, "z_range", (lo, hi))
        if self.theme not in ("dark", "light"):
            raise SceneError("style.theme", "'dark' or 'light'", self.theme)
        if self.shading not in ("smooth", "flat"):
            raise SceneError("style.shading", "'smooth' or 'flat'", self.shading)
        if self.view not in ("3d", "2d"):
            raise SceneError("style.view", "'3d' or '2d'", self.view)
        if self.zscale not in ("linear", "log"):
            raise SceneError("style.zscale", "'linear' or 'log'", self.zscale)
        for name in ("floor", "hud", "loss_curve", "loss_curve_log", "colorbar", "gradient_arrows", "velocity_arrows",
                     "z_follows"):
            if not isinstance(getattr(self, name), bool):
                raise SceneError(f"style.{name}", "True or False", getattr(self, name))
        _text(self.title, "style.title")
        _text(self.subtitle, "style.subtitle")
        _text(self.z_label, "style.z_label")
        _text(self.loss_label, "style.loss_label")
        import matplotlib

        if self.cmap not in matplotlib.colormaps:
            raise SceneError("style.cmap", "a matplotlib colormap name such as 'viridis'", self.cmap)
        if isinstance(self.path_colors, str) or not isinstance(self.path_colors, (tuple, list)) or not self.path_colors:
            raise SceneError("style.path_colors", "one or more matplotlib colours", self.path_colors)
        object.__setattr__(self, "path_colors", tuple(self.path_colors))
        for i, c in enumerate(self.path_colors):
            if c is None:
                raise SceneError(f"style.path_colors[{i}]", "a matplotlib colour such as '#ff5a36'", c)
            _color(c, f"style.path_colors[{i}]")
