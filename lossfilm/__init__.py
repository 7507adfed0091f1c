"""lossfilm: films of neural-network loss landscapes.

scene -> compute -> plan -> paint -> encode; see DESIGN.md. Scene files import their parts from here.
"""
from .scene import Camera, Data, Grid, Run, Scene, Style, WeightsPlane
from . import datasets, models

__all__ = ["Camera", "Data", "Grid", "Run", "Scene", "Style", "WeightsPlane", "datasets", "models", "render"]


def render(*args, **kwargs):
    """Render a Scene to files; see :func:`lossfilm.studio.render`."""
    from .studio import render as _render

    return _render(*args, **kwargs)
