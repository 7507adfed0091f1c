"""Keep torch.optim from importing TorchDynamo (the compiler) in a process that never compiles.

Every torch.optim optimizer imports ``torch._dynamo`` the first time it is built or stepped, only to
mark its methods "not to be traced" (``disable``) and to put graph breaks around ``step`` (a no-op
outside compilation). That import takes 1.1 s on this machine: a third of a cold textbook-surface
render's start-up, paid before the first step. ``defer()`` puts a stand-in module under that name
that answers those two calls exactly as TorchDynamo does when nothing is being compiled, and imports
the real module, in place of itself, the moment anything else is asked of it (``torch.compile`` in a
scene file, say): from then on every call goes to the real one, including those of optimizers made
before. Only the command line calls it (its process is ours); the library never does.
"""
from __future__ import annotations

import importlib
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
                self._real = importlib.import_module(NAME)  # also binds torch._dynamo to the real module
            except BaseException:
                sys.modules.setdefault(NAME, self)
                raise
        return self._real

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


def defer() -> bool:
    """Install the stand-in unless TorchDynamo is already imported; True if installed."""
    if NAME in sys.modules:
        return False
    sys.modules[NAME] = _Deferred()
    return True
