"""The scenes that ship with lossfilm, by name from any folder (``lossfilm rosenbrock_race``), listed with
their one-line descriptions (``lossfilm --list``), and a starter scene to write your own from
(``lossfilm init my_scene.py``). Nothing here imports torch or runs a scene."""
from __future__ import annotations

import ast
import os
import re
from pathlib import Path

_HERE = Path(__file__).resolve().parent
LINE = 100  # characters of a scene's description in --list


def folder() -> Path:
    """Where the shipped scenes are: ``scenes/`` beside the package in a checkout, inside it once installed."""
    for candidate in (_HERE.parent / "scenes", _HERE / "scenes"):
        if (candidate / "article.py").is_file():
            return candidate
    return _HERE / "scenes"


def names() -> list[str]:
    return sorted(p.stem for p in folder().glob("*.py") if not p.name.startswith("_"))


def path_of(name: str) -> Path | None:
    """The shipped scene ``name`` (``rosenbrock_race``, ``rosenbrock_race.py`` or ``scenes/rosenbrock_race.py``
    as the README writes it), or None."""
    where = Path(name)
    if where.parent not in (Path("."), Path("scenes")) or where.suffix not in ("", ".py"):
        return None
    path = folder() / f"{where.stem}.py"
    return path if where.stem in names() else None


def resolve(argument: str) -> str:
    """A scene argument as a file to load: the file when it exists (a path always wins), else the shipped
    scene of that name, else the argument itself (the loader then says it is not found)."""
    if Path(argument).exists():
        return argument
    shipped = path_of(argument)
    return str(shipped) if shipped is not None else argument


def described() -> list[tuple[str, str]]:
    """(name, the first line of its docstring) for every shipped scene, read without running it."""
    out = []
    for name in names():
        doc = ast.get_docstring(ast.parse((folder() / f"{name}.py").read_text(encoding="utf-8"))) or ""
        text = " ".join(doc.strip().split("\n\n")[0].split())
        first = re.split(r"(?<!\bal)\.\s+(?=[A-Z`])", text)[0].rstrip(".")  # its first sentence ("et al." is not an end)
        out.append((name, (first[:LINE - 1].rstrip() + "…" if len(first) > LINE else first) or "(no description)"))
    return out


STARTER = '''"""My first scene: a small MLP learns two moons; SGD and Adam from the same start, filmed on the plane
of the first run's main directions (a PCA of its path), the camera turning a quarter while they grow.

Render it:  lossfilm {file}        (or: python render.py {file})
"""
from lossfilm import Camera, Move, PCAPlane, Run, Scene, Style, datasets, models

scene = Scene(
    name="{name}",                                     # the output files: media/{name}.mp4, .gif
    # Data: generated from a seed (no download). Your own: Data(x_train, y_train, x_test, y_test),
    # an (x, y) pair, a torch Dataset or a DataLoader.
    data=datasets.moons(n=1000, noise=0.15, seed=0),
    # Model: a function returning a fresh nn.Module (every run starts from the same weights).
    model=models.mlp(inputs=2, hidden=(16, 16), outputs=2),
    loss="cross_entropy",                              # or "mse", or any (output, target) -> scalar
    runs=[Run("sgd", lr=0.1, epochs=20, batch_size=64, label="SGD"),
          Run("adam", lr=0.01, epochs=20, batch_size=64, label="Adam")],
    # The slice of weight space: PCA of the first run's path through its end point. Others:
    # RandomPlane(seed=0), HessianPlane(), ModelsPlane("a", "b", "c"), Interpolation("a", "b").
    plane=PCAPlane(),
    camera=Camera(azimuth=-60, elevation=32, moves=[Move(6, turns=0.25), Move(2)]),
    style=Style(title="Two optimizers, one landscape", subtitle="an MLP on two moons · PCA plane"),
    duration=8,                                        # seconds
)
'''


def write_starter(path: Path) -> Path:
    """The starter scene at ``path`` (refused where a file is already), its name taken from the file's."""
    from .errors import BadInput

    path = Path(path)
    if path.suffix != ".py":
        raise BadInput(f"init {path}: expected a .py file name for the new scene")
    if path.exists():
        raise BadInput(f"init {path}: a file is already there (choose another name)")
    name = "".join(c if c.isalnum() or c in "_-" else "_" for c in path.stem) or "my_scene"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(STARTER.format(name=name, file=path.name), encoding="utf-8")
    os.replace(tmp, path)
    return path
