"""Files written whole or not at all: one atomic, pickle-free .npz writer for the cache, saved paths and the
npz format, and one for text (the html page, captions)."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np


def write_npz(path: Path | str, arrays: dict) -> Path:
    """``np.savez`` under a temporary name beside ``path`` (``.<stem>.<pid>.tmp.npz``, which the next
    render's clean-up recognises if this process dies), renamed when whole."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_text(path: Path | str, text: str) -> Path:
    """``text`` (UTF-8) under a temporary name beside ``path`` (``.<stem>.<pid>.tmp<suffix>``), renamed
    when whole."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp{path.suffix}")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
