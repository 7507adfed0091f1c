"""Keep torch.optim from importing TorchDynamo (the compiler) in a process that never compiles.

Every torch.optim optimizer imports ``torch._dynamo`` the first time it is built or stepped, only to
mark its methods "not to be traced" (``disable``) and to put graph breaks around ``step`` (a no-op
outside compilation). That import takes 1.1 s on this machine: a third of a cold textbook-surface
render's start-up, paid before the first step. ``defer()`` puts a stand-in module under that name
that answers those two calls exactly as TorchDynamo does when nothing is being compiled, and imports
the real module, in place of itself, the moment anything else is asked of it (``torch.compile`` in a
scene file, say): from then on every call goes to the real one, including those of optimizers made
before. Only the command line calls it (its process is ours); the library never does.

A submodule imported through the stand-in (``import torch._dynamo.config`` in a scene file) loads the
real package first, whose own ``__init__`` imports most submodules: a finder at the front of
``sys.meta_path`` then hands back the module the package already made instead of letting the import
system execute the file a second time (a second ``config`` module, whose settings nothing reads).
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

NAME = "torch._dynamo"


class _Deferred(types.ModuleType):
    """Stands in for torch._dynamo until the real one is needed."""

    def __init__(self):
        super().__init__(NAME, __doc__)
        self._real = None
        # Every `import torch._dynamo` reads __spec__ (is it still initialising?): a spec of our own
        # answers that. A submodule's import reads __path__: that loads the real module, like any other
        # attribute would.
        self.__spec__ = importlib.machinery.ModuleSpec(NAME, None)
        self.__package__ = NAME

    def _load(self):
        if self._real is None:
            if sys.modules.get(NAME) is self:
                del sys.modules[NAME]
            try:
                real = importlib.import_module(NAME)  # also binds torch._dynamo to the real module
            except BaseException:
                sys.modules.setdefault(NAME, self)
                raise
            object.__setattr__(self, "_real", real)
        return self._real

    def __setattr__(self, name: str, value) -> None:
        # A submodule imported through the stand-in is bound on it (the import system took the parent
        # from sys.modules before the real one replaced it): the real package gets the name too.
        object.__setattr__(self, name, value)
        real = self.__dict__.get("_real")
        if real is not None and not name.startswith("_"):
            setattr(real, name, value)

    _IMPORT = ("__path__",)

    def __getattr__(self, name: str):
        if name.startswith("__") and name.endswith("__") and name not in self._IMPORT:
            # Probes such as inspect.getmodule's hasattr(module, "__file__") over every module.
            raise AttributeError(name)
        return getattr(self._load(), name)

    def graph_break(self, msg: str = "") -> None:
        if self._real is not None:
            return self._real.graph_break(msg)
        # Nothing can be compiling without the real module: a graph break is a no-op.

    def disable(self, fn=None, recursive: bool = True, *, wrapping: bool = True, **kwargs):
        if self._real is not None:
            return self._real.disable(fn, recursive, wrapping=wrapping, **kwargs)
        if fn is None:
            return lambda f: self.disable(f, recursive, wrapping=wrapping, **kwargs)
        stub = self

        def run(*args, **kw):  # eager until the compiler is loaded, then exactly what it would do
            if stub._real is None:
                return fn(*args, **kw)
            real = getattr(run, "_real_disabled", None)
            if real is None:
                real = run._real_disabled = stub._real.disable(fn, recursive, wrapping=False, **kwargs)
            return real(*args, **kw)

        return run


class _Submodules(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of ``torch._dynamo.<sub>`` while the stand-in was the parent: the real package is loaded
    first, and a submodule its ``__init__`` already made is handed back as it is, never executed again.
    It stays on ``sys.meta_path`` (a prefix test per import): leaving it from inside ``find_spec`` would
    shift the list the import system is walking and skip the next finder."""

    def __init__(self, stub: _Deferred):
        self.stub = stub

    def find_spec(self, name, path=None, target=None):
        if not name.startswith(NAME + "."):
            return None
        self.stub._load()
        if name in sys.modules:  # made by the real package's own imports
            return importlib.machinery.ModuleSpec(name, self)
        return None  # not made yet: the usual finders load it, once

    def create_module(self, spec):
        return sys.modules[spec.name]

    def exec_module(self, module) -> None:
        pass


def defer() -> bool:
    """Install the stand-in unless TorchDynamo is already imported; True if installed."""
    if NAME in sys.modules:
        return False
    stub = _Deferred()
    sys.modules[NAME] = stub
    sys.meta_path.insert(0, _Submodules(stub))
    return True
