"""A progress bar per stage on a terminal (tqdm), or nothing."""
from __future__ import annotations

from typing import Callable


def bars(enabled: bool):
    """A progress factory: ``bar(stage, total)`` -> callback(n), or None when not on a terminal."""
    if not enabled:
        return None
    from tqdm import tqdm

    bars = []

    def make(stage: str, total: int) -> Callable[[int], None]:
        b = tqdm(total=total, desc=f"{stage:>14}", leave=False, dynamic_ncols=True)
        bars.append(b)

        def tick(n: int = 1) -> None:
            b.update(n)
            if b.n >= total:
                b.close()

        return tick

    make.close = lambda: [b.close() for b in bars]  # type: ignore[attr-defined]
    return make


