"""Small C libraries of the package (mlp_kernel.c, raster.c): built once per machine with the system C
compiler, cached under the user's cache directory and loaded with ctypes. Nothing here imports torch.

The cache key covers the source, the flags, the compiler and the CPU's instruction set (libraries are
built with -march=native, so a home directory shared by different cluster nodes gets one build per
kind of CPU, never a library that would fault on another).
"""
from __future__ import annotations

import ctypes
import hashlib
import importlib.resources
import os
import platform
import shutil
import subprocess
import sysconfig
import tempfile
from pathlib import Path

FLAGS = ["-O3", "-march=native", "-fPIC", "-shared", "-fno-math-errno", "-fno-trapping-math"]


def cpu_signature() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith(("flags", "Features")):
                    return line
    except OSError:
        pass
    return platform.machine() + platform.processor()


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lossfilm"


def compiler() -> str | None:
    for cc in (os.environ.get("CC"), sysconfig.get_config_var("CC"), "cc", "gcc", "clang"):
        if cc and shutil.which(cc.split()[0]):
            return cc.split()[0]
    return None


def build(package: str, source_name: str, flags: list[str] = FLAGS) -> tuple[ctypes.CDLL | None, str]:
    """(library, status) for the C file ``source_name`` of ``package`` (the kernel's own subpackage, which
    ships the file beside its module); the library is None, and the status
    says why, when ``LOSSFILM_NATIVE=0``, there is no compiler, or the build fails. Status words:
    "built", "cached", or the reason."""
    if os.environ.get("LOSSFILM_NATIVE", "1") == "0":
        return None, "off (LOSSFILM_NATIVE=0)"
    cc = compiler()
    if cc is None:
        return None, "no C compiler"
    stem = Path(source_name).stem
    try:  # through the package's loader: lossfilm may be running from a zip (shipped to a cluster)
        source = importlib.resources.files(package).joinpath(source_name).read_bytes()
    except OSError as exc:
        return None, f"{source_name} unreadable ({type(exc).__name__})"
    key = hashlib.sha256(b"\0".join([source, " ".join(flags).encode(), cc.encode(),
                                     cpu_signature().encode()])).hexdigest()[:16]
    target = cache_dir() / f"{stem}-{key}.so"
    try:
        if target.exists():
            status = "cached"
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Built beside the target and renamed into place: concurrent renders never load half a file.
            fd, tmp = tempfile.mkstemp(suffix=".so", dir=target.parent)
            os.close(fd)
            try:
                with tempfile.TemporaryDirectory() as folder:
                    src = Path(folder) / source_name
                    src.write_bytes(source)
                    subprocess.run([cc, *flags, str(src), "-o", tmp, "-lm"], check=True, capture_output=True,
                                   timeout=120)
                os.replace(tmp, target)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
            status = "built"
        return ctypes.CDLL(str(target)), status
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"build failed ({type(exc).__name__})"
