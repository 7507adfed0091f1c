"""Stage one: what is shown. A Scene and its parts as frozen dataclasses, validated at construction.

A scene never trains or draws. Every check raises SceneError naming the field and what was expected.
The parts live by concern: ``data``, ``runs``, ``planes`` (and the Grid), ``view`` (camera, moves,
style: nothing that changes a number), ``checks`` (each check of a value, in one place) and ``scene``
(the Scene and Evolve). ``compare``, ``loader``, ``losses`` and ``optimizers`` complete the stage."""
from .data import Data, LoaderData, as_data  # noqa: F401
from .runs import Run, SURFACE_STEPS, TUNE, TUNE_LRS  # noqa: F401
from .planes import (CustomPlane, Grid, HessianPlane, Interpolation, ModelsPlane, PCAPlane, Plane,  # noqa: F401
                     RandomPlane, ThroughModels, WeightsPlane, plane_kinds)
from .view import Camera, Move, Style  # noqa: F401
from .story import Beat, Callout  # noqa: F401
from .scene import DEVICES, Evolve, GRID_BYTES_PER_POINT, MAX_NAME, MAX_SURFACES, Scene, Sharpness  # noqa: F401
