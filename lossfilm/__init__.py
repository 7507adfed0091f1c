"""lossfilm: films of neural-network loss landscapes.

scene -> compute -> plan -> paint -> encode; see DESIGN.md. Scene files import their parts from here.
"""
import importlib

from .scene.compare import Compare
from .scene.view import Camera, Move, Style
from .scene.planes import (CustomPlane, Grid, HessianPlane, Interpolation, ModelsPlane, PCAPlane, Plane, RandomPlane,
                           WeightsPlane)
from .scene.data import Data
from .scene.scene import Evolve, Scene, Sharpness
from .scene.story import Beat, Callout
from .scene.runs import Run
from .trajectory import Trajectory, record

__all__ = ["Beat", "Callout", "Camera", "Compare", "CustomPlane", "Data", "Evolve", "Grid", "HessianPlane", "Interpolation", "ModelsPlane", "Move", "PCAPlane", "Plane",
           "RandomPlane", "Run", "Scene", "Sharpness", "Style", "Trajectory", "WeightsPlane", "record",
           "datasets", "models", "render", "render_files", "show", "surfaces"]


def __getattr__(name):
    # Imported when a scene asks: painting processes import this package without needing them.
    if name in ("datasets", "models", "lightning", "surfaces"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def render(*args, **kwargs):
    """Render a Scene to files; see :func:`lossfilm.studio.render`."""
    from .studio import render as _render

    return _render(*args, **kwargs)


def render_files(*args, **kwargs):
    """Render every scene of some scene files; see :func:`lossfilm.studio.render_files`."""
    from .studio import render_files as _render_files

    return _render_files(*args, **kwargs)


def show(*args, **kwargs):
    """Show a rendered film inline in a notebook; see :func:`lossfilm.notebook.show`."""
    from .notebook import show as _show

    return _show(*args, **kwargs)
