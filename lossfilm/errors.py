"""The two kinds of failure the command line tells apart: bad input (exit 2) and a failed render (exit 1)."""
from __future__ import annotations

import contextlib
from typing import Any


class BadInput(Exception):
    """Input a user can fix: the command line prints one line and exits 2."""


class SceneError(BadInput):
    """A scene field that is not what it should be."""

    def __init__(self, field: str, expected: str, got: Any = None, *, source: str | None = None):
        self.field, self.expected, self.got, self.source = field, expected, got, source
        super().__init__(self._text())

    def _text(self) -> str:
        where = f"{self.source}: " if self.source else ""
        got = "" if self.got is None else f", got {self.got!r}"
        if len(got) > 80:
            got = got[:77] + "..."
        return f"{where}{self.field}: expected {self.expected}{got}"

    def at(self, source: str) -> "SceneError":
        """The same error, told where it came from (a scene file, a scene name)."""
        if not self.source:
            self.source = source
            self.args = (self._text(),)
        return self


class MissingPackage(BadInput, ImportError):
    """An optional package a feature needs and this environment lacks: one line naming what to install."""

    def __init__(self, package: str, what: str, extra: str):
        super().__init__(f"{what} needs the {package} package: pip install 'lossfilm[{extra}]' "
                         f"(or pip install -r requirements-{extra}.txt)")
        self.name = package


def needs(module: str, what: str, extra: str, package: str | None = None):
    """``module`` imported, or MissingPackage naming ``package`` (default: the module's top name)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.partition(".")[0]
        if exc.name and not (module == exc.name or module.startswith(exc.name + ".")):
            raise  # something else the package imports is missing: its own error
        raise MissingPackage(package or top, what, extra) from None


class RenderError(Exception):
    """Rendering failed for a reason outside the scene (ffmpeg, disk): exit 1."""


def one_line(message) -> str:
    """A message on one line: an exception's text may span several (Dask's, ffmpeg's, torch's)."""
    return " ".join(str(message).split())


@contextlib.contextmanager
def users_part(part: str, expected: str):
    """Code of the scene's own (its model, loss, data, optimizer, scheduler) that raises inside the block
    is the scene's error, at any time, not only in the preflight: a SceneError naming ``part`` and what
    was expected, so the command says which scene file and which part, exits 2 and writes nothing for
    that scene, instead of a bare "error: RuntimeError" naming nothing. Keep the block to the call
    itself: lossfilm's own code inside it would be blamed on the scene."""
    try:
        yield
    except (SceneError, MemoryError):
        raise
    except Exception as exc:
        raise SceneError(part, f"{expected}; it raised {type(exc).__name__}: {one_line(exc)[:300]}") from exc
