"""Show a rendered film inline in a Jupyter notebook: ``show(lossfilm.render(scene, ...))``.

The returned object embeds the file (base64) in its HTML representation, which Jupyter displays;
nothing here imports IPython.
"""
from __future__ import annotations

import base64
import html
from pathlib import Path

from .output.formats import FORMATS


def _shown() -> dict[str, object]:
    """Formats a page can show, moving pictures first, in the format table's order."""
    shown = [f for f in FORMATS.values() if f.inline]
    order = ("video", "img", "iframe")  # an interactive page only when asked for, or when alone
    return {f.name: f for f in sorted(shown, key=lambda f: order.index(f.inline))}


def _by_suffix(path: Path):
    return next((f for f in _shown().values() if f.ext == path.suffix.lower().lstrip(".")), None)


class Inline:
    def __init__(self, path: Path, width: int):
        self.path, self.width = Path(path), width

    def _repr_html_(self) -> str:
        fmt = _by_suffix(self.path)
        tag, mime = fmt.inline, fmt.mime
        if tag == "iframe":  # the page itself, in a frame of its own (its scripts stay out of the notebook's)
            page = html.escape(self.path.read_text(encoding="utf-8"), quote=True)
            return f'<iframe srcdoc="{page}" width="{self.width}" height="{int(self.width * 0.66)}" frameborder="0"></iframe>'
        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        src = f"data:{mime};base64,{data}"
        if tag == "video":
            return f'<video src="{src}" width="{self.width}" controls autoplay loop muted playsinline></video>'
        return f'<img src="{src}" width="{self.width}"/>'

    def __repr__(self) -> str:
        return f"Inline({str(self.path)!r})"


def show(result, fmt: str | None = None, width: int = 640) -> Inline:
    """``result``: a render Result (its first film, else its first picture, or ``fmt``) or a path."""
    if isinstance(result, (str, Path)):
        path = Path(result)
    else:
        outputs = result.outputs
        choice = fmt or next((f for f in _shown() if f in outputs), None)
        if choice not in outputs:
            raise ValueError(f"show: no {fmt or 'displayable'} output among {', '.join(outputs)}")
        path = Path(outputs[choice])
    if _by_suffix(path) is None:
        kinds = ", ".join(f".{f.ext}" for f in _shown().values())
        raise ValueError(f"show: expected one of {kinds}, got {path.name}")
    if not path.is_file():
        raise FileNotFoundError(path)
    return Inline(path, width)
