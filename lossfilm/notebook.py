"""Show a rendered film inline in a Jupyter notebook: ``show(lossfilm.render(scene, ...))``.

The returned object embeds the file (base64) in its HTML representation, which Jupyter displays;
nothing here imports IPython.
"""
from __future__ import annotations

import base64
from pathlib import Path

_KINDS = {".mp4": ("video", "video/mp4"), ".webm": ("video", "video/webm"), ".gif": ("img", "image/gif"),
          ".png": ("img", "image/png")}
_PREFERENCE = ("mp4", "webm", "gif", "png")


class Inline:
    def __init__(self, path: Path, width: int):
        self.path, self.width = Path(path), width

    def _repr_html_(self) -> str:
        tag, mime = _KINDS[self.path.suffix.lower()]
        data = base64.b64encode(self.path.read_bytes()).decode("ascii")
        src = f"data:{mime};base64,{data}"
        if tag == "video":
            return f'<video src="{src}" width="{self.width}" controls autoplay loop muted playsinline></video>'
        return f'<img src="{src}" width="{self.width}"/>'

    def __repr__(self) -> str:
        return f"Inline({str(self.path)!r})"


def show(result, fmt: str | None = None, width: int = 640) -> Inline:
    """``result``: a render Result (its first output in mp4, webm, gif, png order, or ``fmt``) or a path."""
    if isinstance(result, (str, Path)):
        path = Path(result)
    else:
        outputs = result.outputs
        choice = fmt or next((f for f in _PREFERENCE if f in outputs), None)
        if choice not in outputs:
            raise ValueError(f"show: no {fmt or 'displayable'} output among {', '.join(outputs)}")
        path = Path(outputs[choice])
    if path.suffix.lower() not in _KINDS:
        raise ValueError(f"show: expected an .mp4, .webm, .gif or .png file, got {path.name}")
    if not path.is_file():
        raise FileNotFoundError(path)
    return Inline(path, width)
