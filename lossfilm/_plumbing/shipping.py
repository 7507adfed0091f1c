"""Ship this lossfilm to a Dask cluster, so that a cluster needs only the requirements installed.

Since 2024 Dask's scheduler, not only its workers, unpickles the tasks, and both need to import lossfilm
to do so. Before the first task the client asks the scheduler and every worker which lossfilm they can
import (a digest of its files) and what of the requirements they lack. Where lossfilm is missing or
another version, this package goes up as a zip (``Client.upload_file``, which also reaches workers that
join later) and the digests are asked again. A node that still cannot run the tasks is bad input: one
line naming the node and what it lacks.

The probe functions below travel by value (cloudpickle), since the far side may not have lossfilm yet.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import zipfile
from pathlib import Path

from ..errors import BadInput

PACKAGE = Path(__file__).resolve().parents[1]  # lossfilm/
# What each side imports to run our tasks. The scheduler only unpickles them: numpy arrays and
# lossfilm's dataclasses (settings.Look, not the painter, travels in a task for that reason).
WORKER_NEEDS = ("numpy", "torch", "matplotlib", "imageio_ffmpeg")
SCHEDULER_NEEDS = ("numpy",)
_SHIPPED = (".py", ".c")


def _walk(root):
    """(relative name, bytes) of the package's shipped files, in a fixed order; works inside a zip."""
    out = []
    stack = [("", root)]
    while stack:
        prefix, node = stack.pop()
        for entry in node.iterdir():
            name = f"{prefix}{entry.name}"
            if entry.is_dir():
                if entry.name != "__pycache__":
                    stack.append((name + "/", entry))
            elif entry.name.endswith(_SHIPPED):
                out.append((name, entry.read_bytes()))
    return sorted(out)


def _digest(files) -> str:
    h = hashlib.sha256()
    for name, data in files:
        h.update(name.encode() + b"\0" + data + b"\0")
    return h.hexdigest()


def probe(needs) -> dict:
    """On a node: which of ``needs`` fail to import, and the digest of the lossfilm it imports (None)."""
    import importlib
    import importlib.resources

    missing = []
    for name in needs:
        try:
            importlib.import_module(name)
        except Exception:
            missing.append(name)
    try:
        digest = _digest(_walk(importlib.resources.files("lossfilm")))
    except Exception:
        digest = None
    return {"missing": missing, "lossfilm": digest}


def forget() -> None:
    """On a node: drop an imported lossfilm, so that the uploaded one is imported whole, not mixed."""
    import sys

    for name in [m for m in sys.modules if m == "lossfilm" or m.startswith("lossfilm.")]:
        del sys.modules[name]


def local_digest() -> str:
    return _digest(_walk(PACKAGE))


def _ask(client) -> dict[str, dict]:
    answers = {f"worker {addr}": a for addr, a in client.run(probe, WORKER_NEEDS).items()}
    answers["the scheduler"] = client.run_on_scheduler(probe, SCHEDULER_NEEDS)
    return answers


def ship(client, address: str) -> None:
    """Make sure the scheduler and every worker import this lossfilm; raise BadInput if they cannot."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    want = local_digest()
    answers = _ask(client)
    _check_missing(answers, address)
    if any(a["lossfilm"] != want for a in answers.values()):
        client.run(forget)
        client.run_on_scheduler(forget)
        with tempfile.TemporaryDirectory() as folder:
            archive = Path(folder) / f"lossfilm_{want[:12]}.zip"
            with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
                for name, data in _walk(PACKAGE):
                    z.writestr(f"lossfilm/{name}", data)
            try:
                client.upload_file(os.fspath(archive), load=True)
            except Exception as exc:
                raise BadInput(f"--scheduler {address}: could not send lossfilm to the cluster "
                               f"({type(exc).__name__}: {exc})") from None
        answers = _ask(client)
        _check_missing(answers, address)
        stale = [who for who, a in answers.items() if a["lossfilm"] != want]
        if stale:
            raise BadInput(f"--scheduler {address}: {', '.join(stale)} could not load the lossfilm sent to it "
                           "(install this project there: pip install .)")


def _check_missing(answers: dict[str, dict], address: str) -> None:
    lacking = {who: a["missing"] for who, a in answers.items() if a["missing"]}
    if lacking:
        who, missing = next(iter(lacking.items()))
        more = f" (and {len(lacking) - 1} more)" if len(lacking) > 1 else ""
        raise BadInput(f"--scheduler {address}: {who}{more} cannot import {', '.join(missing)}: expected the "
                       "requirements installed there (pip install -r requirements.txt -r requirements-dask.txt)")
