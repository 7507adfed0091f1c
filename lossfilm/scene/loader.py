"""Scene files -> Scene objects. A scene file is a Python module; every Scene at its top level is rendered,
in the order the file defines them (or the order of a module-level ``scenes`` list)."""
from __future__ import annotations

import importlib.util
import sys
import traceback
from pathlib import Path

from ..errors import BadInput, SceneError
from .compare import Compare
from .scene import Scene


def _line_in(path: Path, exc: BaseException) -> int | None:
    """The last line of the scene file in the exception's traceback: where the user should look."""
    line = None
    for frame in traceback.extract_tb(exc.__traceback__):
        if Path(frame.filename).resolve() == path.resolve():
            line = frame.lineno
    return line


def load_scenes(path: str | Path) -> list[Scene]:
    path = Path(path)
    shown = str(path)
    if not path.is_file():
        raise BadInput(f"{shown}: scene file not found (a scene file's path, or a shipped scene's name: see --list)"
                       if not path.exists() else f"{shown}: expected a scene file, got a folder")
    if path.suffix != ".py":
        raise BadInput(f"{shown}: expected a Python scene file (.py)")
    name = f"lossfilm_scene_{abs(hash(path.resolve()))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    added = folder not in sys.path
    if added:
        sys.path.insert(0, folder)  # so a scene can import its sibling scene files
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        raise BadInput(f"{shown}:{exc.lineno}: syntax error: {exc.msg}") from None
    except SceneError as exc:
        line = _line_in(path, exc)
        raise exc.at(f"{shown}:{line}" if line else shown) from None
    except BadInput as exc:
        raise BadInput(f"{shown}: {exc}") from None
    except SystemExit as exc:  # a scene file is read, not run: it may not end the command
        line = _line_in(path, exc)
        raise BadInput(f"{shown}:{line or '?'}: the scene file called sys.exit({exc.code!r}); expected it to "
                       "define scenes and return") from None
    except Exception as exc:
        line = _line_in(path, exc)
        raise BadInput(f"{shown}:{line or '?'}: the scene file raised {type(exc).__name__}: {exc}") from None
    finally:
        sys.modules.pop(name, None)
        if added:
            sys.path.remove(folder)
    listed = getattr(module, "scenes", None)
    if listed is not None:
        scenes = [listed] if isinstance(listed, (Scene, Compare)) else list(listed)
        if not scenes or not all(isinstance(s, (Scene, Compare)) for s in scenes):
            raise SceneError("scenes", "a list of Scene (or Compare) objects", listed, source=shown)
    else:
        scenes = [v for k, v in vars(module).items() if isinstance(v, (Scene, Compare)) and not k.startswith("_")]
        # A scene imported from a sibling file is that file's scene, not this one's.
        scenes = list({id(s): s for s in scenes}.values())
        # A scene that is a panel of a comparison in this file is filmed as that panel, not alone too.
        panels = {id(p) for s in scenes if isinstance(s, Compare) for p in s.scenes}
        scenes = [s for s in scenes if id(s) not in panels]
    if not scenes:
        raise BadInput(f"{shown}: expected at least one Scene at module level (e.g. scene = Scene(...)), found none")
    return scenes
