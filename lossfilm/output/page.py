"""The interactive page beside a film: a plotly figure of the same numbers that a reader turns with the
mouse, hovers for (alpha, beta, loss), and plays to grow the paths.

Made on the client from the computed numbers (never painted), so it works with every scene, ``-j N`` and
``--scheduler`` alike. plotly is imported only here, and only when a page is asked for. The figure is a
plain dict (plotly's JSON schema), so building it needs no plotly at all; ``write_html`` hands it to
``plotly.io``. Animation frames carry only the path traces: the surface is sent once.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from .._plumbing.files import write_text
from ..landscape import Landscape, Trace
from ..paint.colors import THEMES
from ..plan import FramePlan
from ..scene.view import Style

MAX_FRAMES = 48  # slider positions: enough for a smooth play, few enough for a small page
MAX_PATH_POINTS = 400  # a longer path is subsampled (its ends and the current point kept) on the page
FRAME_PATH_POINTS = 150  # the same in the animation's frames, which hold every path once per frame
MAX_SURFACE_POINTS = 160  # per axis; a finer grid is subsampled (hover then reads the nearest kept point)
MINIMUM_COLOR = "#ffd166"  # the film's star colour


def _colorscale(cmap_name: str, background: str, n: int = 32) -> list:
    """The film's colour map (trimmed where it would vanish into the background) as plotly's scale."""
    import matplotlib

    from ..paint.colors import contrasting

    cmap = contrasting(matplotlib.colormaps[cmap_name], background)
    return [[float(t), "rgb({:.0f},{:.0f},{:.0f})".format(*(255 * np.asarray(cmap(t)[:3])))]
            for t in np.linspace(0.0, 1.0, n)]


def _every(n: int, most: int) -> np.ndarray:
    return np.arange(n) if n <= most else np.unique(np.round(np.linspace(0, n - 1, most)).astype(int))


def _heights(loss: np.ndarray, log: bool) -> np.ndarray:
    if not log:
        return np.asarray(loss, np.float64)
    from ..paint.colors import log_heights

    return log_heights(loss)


def _finite(a: np.ndarray) -> list:
    """A JSON-safe list: NaN and inf become null (plotly leaves a gap there)."""
    return [float(f"{v:.7g}") if np.isfinite(v) else None for v in np.asarray(a, np.float64).ravel().tolist()]


def _epochs(trace: Trace) -> np.ndarray:
    """The epoch each index of the path is in (1-based; 0 for the start)."""
    idx = np.arange(len(trace.alpha))
    return np.searchsorted(np.asarray(trace.epoch_ends), idx, side="left") + (idx > 0)


def _steps(trace: Trace) -> np.ndarray:
    return np.asarray(trace.step_numbers) if trace.step_numbers is not None else np.arange(len(trace.alpha))


class _Height:
    """Where a point of a path or a marker is drawn: at its loss (log10 of it on a log axis, never
    below the surface's lowest point), lifted a little so the surface does not swallow it."""

    LIFT = 0.015  # of the surface's height range, as the film lifts its paths

    def __init__(self, surface_heights: np.ndarray, log: bool, landscape: Landscape):
        finite = surface_heights[np.isfinite(surface_heights)]
        self.lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        self.log, self.lift = log, self.LIFT * max(hi - self.lo, 1e-12)
        self.landscape = landscape

    def on_surface(self, x, y, loss) -> np.ndarray:
        """A path's heights: at its loss, but never under the drawn surface (in a trench narrower than
        the grid the true loss lies below the grid's interpolation, where the surface would hide it)."""
        under = self(_surface_at(self.landscape, np.asarray(x, np.float64), np.asarray(y, np.float64)))
        z = self(loss)
        return np.where(np.isfinite(under) & np.isfinite(z), np.maximum(z, under), z)

    def __call__(self, loss) -> np.ndarray:
        loss = np.asarray(loss, np.float64)
        if self.log:
            with np.errstate(divide="ignore", invalid="ignore"):
                z = np.where(loss > 0, np.log10(np.where(loss > 0, loss, 1.0)), self.lo)
            z = np.where(np.isfinite(loss), np.maximum(z, self.lo), np.nan)
        else:
            z = loss
        return z + self.lift


def _path_trace(trace: Trace, upto: int, keep: np.ndarray, label: str, color: str, height: _Height) -> dict:
    """Run ``label``'s path from its start up to index ``upto``, with a marker at its current point."""
    idx = keep[keep <= upto]
    if not len(idx) or idx[-1] != upto:
        idx = np.append(idx, upto)
    z = height.on_surface(trace.alpha[idx], trace.beta[idx], trace.loss[idx])
    size = np.zeros(len(idx))
    size[-1] = 7.0
    size[0] = max(size[0], 4.0)
    custom = np.stack([_steps(trace)[idx], _epochs(trace)[idx], trace.loss[idx]], 1)
    return {
        "type": "scatter3d", "mode": "lines+markers", "name": label, "legendgroup": label,
        "x": _finite(trace.alpha[idx]), "y": _finite(trace.beta[idx]), "z": _finite(z),
        "line": {"color": color, "width": 6},
        "marker": {"color": color, "size": size.tolist(), "line": {"color": "#ffffff", "width": 1}},
        "customdata": [[int(s), int(e), float(f"{v:.7g}") if np.isfinite(v) else None] for s, e, v in custom],
        # A surface's runs count steps only: no epoch to tell.
        "hovertemplate": f"{label}<br>step %{{customdata[0]}}"
                         + (" · epoch %{customdata[1]}" if len(trace.epoch_ends) else "")
                         + "<br>loss %{customdata[2]:.5g}<extra></extra>",
    }


def figure(landscape: Landscape, plan: FramePlan, style: Style, frames: int = MAX_FRAMES) -> dict:
    """The page's plotly figure as a dict: surface, one path trace per run (their final state), the
    known minima or the paths' end points, and ``frames`` animation frames growing the paths."""
    theme = THEMES[style.theme]
    log = style.zscale == "log"
    rows, cols = _every(len(landscape.betas), MAX_SURFACE_POINTS), _every(len(landscape.alphas), MAX_SURFACE_POINTS)
    loss = landscape.loss[np.ix_(rows, cols)]
    heights = _heights(loss, log)
    loss_name = style.loss_label or plan.loss_label
    z_name = style.z_label or plan.loss_label
    a_name, b_name = landscape.axis_labels
    surface = {
        "type": "surface", "name": "surface", "x": _finite(landscape.alphas[cols]), "y": _finite(landscape.betas[rows]),
        "z": [_finite(r) for r in heights], "customdata": [_finite(r) for r in loss],
        "colorscale": _colorscale(style.cmap, theme["bg"]), "showscale": True,
        "colorbar": {"title": {"text": f"log10 {loss_name}" if log else loss_name}, "len": 0.6, "thickness": 14},
        "hovertemplate": f"{a_name} %{{x:.4g}}<br>{b_name} %{{y:.4g}}<br>{loss_name} %{{customdata:.5g}}<extra></extra>",
        "contours": {"z": {"show": False}}, "lighting": {"ambient": 0.65, "diffuse": 0.6, "specular": 0.05},
    }
    data = [surface]
    height = _Height(heights, log, landscape)
    runs = list(zip(landscape.traces, plan.labels, plan.colors))
    keeps = [_every(len(t.alpha), MAX_PATH_POINTS) for t, _, _ in runs]
    path_indices = list(range(1, 1 + len(runs)))
    data += [_path_trace(t, len(t.alpha) - 1, keep, label, color, height) for (t, label, color), keep in zip(runs, keeps)]
    if len(landscape.minima):
        m = np.asarray(landscape.minima, np.float64)
        z = height(_surface_at(landscape, m[:, 0], m[:, 1]))
        models = list(landscape.facts.get("models", {}))  # a ModelsPlane's a, b, c, else a surface's minima
        data.append({"type": "scatter3d", "mode": "markers+text" if models else "markers",
                     "name": "the plane's models" if models else "known minima", "x": _finite(m[:, 0]),
                     "y": _finite(m[:, 1]), "z": _finite(z), "text": models or None, "textposition": "top center",
                     "marker": {"symbol": "diamond", "size": 6, "color": MINIMUM_COLOR, "line": {"color": "#000000", "width": 1}},
                     "hovertemplate": ("%{text}" if models else "known minimum")
                                      + f"<br>{a_name} %{{x:.4g}}<br>{b_name} %{{y:.4g}}<extra></extra>"})
    else:
        ends = [(t, label) for t, label, _ in runs if len(t.alpha)]
        last = [int(np.nonzero(np.isfinite(t.loss))[0][-1]) if np.isfinite(t.loss).any() else 0 for t, _ in ends]
        data.append({"type": "scatter3d", "mode": "markers", "name": "end points",
                     "x": _finite([t.alpha[i] for (t, _), i in zip(ends, last)]),
                     "y": _finite([t.beta[i] for (t, _), i in zip(ends, last)]),
                     "z": _finite(height([t.loss[i] for (t, _), i in zip(ends, last)])),
                     "text": [label for _, label in ends],
                     "customdata": _finite([t.loss[i] for (t, _), i in zip(ends, last)]),
                     "marker": {"symbol": "diamond-open", "size": 7, "color": theme["fg"]},
                     "hovertemplate": "%{text} ends here<br>loss %{customdata:.5g}<extra></extra>"})

    # Frames: the runs' shared clock, as in the film (plan.steps), sampled to at most `frames` positions.
    pick = _every(len(plan.steps), frames)
    frame_keeps = [_every(len(t.alpha), FRAME_PATH_POINTS) for t, _, _ in runs]
    animation = []
    story = plan.story
    if story is not None:  # a storyboard's frames pick the moments the film shows, each beat's at least once
        pick = np.unique(np.concatenate([pick, story.bounds[:-1], [c.start + (c.stop - c.start) // 2
                                                                   for c in story.callouts]]))
        pick = pick[pick < len(plan.steps)].astype(int)
        # plotly's animate changes the annotations a frame gives and keeps the rest: every frame gives as
        # many as the busiest, those unused hidden.
        most = max((sum(c.start <= g < c.stop for c in story.callouts) for g in range(len(plan.steps))), default=0)
    for n, f in enumerate(pick):
        frame = {"name": str(n), "traces": path_indices,
                 "data": [_path_trace(t, int(plan.steps[f, k]), keep, label, color, height)
                          if plan.shown is None or plan.shown[f, k] else _no_path(label, color)
                          for k, ((t, label, color), keep) in enumerate(zip(runs, frame_keeps))]}
        if story is not None:
            frame["layout"] = _story_layout(story, int(f), most, landscape, height, theme)
        animation.append(frame)
    lead = runs[0][0] if runs else None
    labels = [f"step {lead.step_at(int(plan.steps[f, 0]))}" if lead is not None else str(n) for n, f in enumerate(pick)]
    # The current step is written above the slider; the steps' own labels (one per frame) would overlap.
    slider = {"active": len(pick) - 1, "x": 0.1, "len": 0.88, "y": 0.03, "ticklen": 3, "tickcolor": theme["dim"],
              "currentvalue": {"visible": True, "prefix": "", "font": {"color": theme["fg"]}},
              "font": {"color": "rgba(0,0,0,0)"}, "bgcolor": theme["grid"], "bordercolor": theme["dim"],
              "steps": [{"label": lab, "method": "animate",
                         "args": [[str(n)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                             "transition": {"duration": 0}}]} for n, lab in enumerate(labels)]}
    play = {"type": "buttons", "showactive": False, "x": 0.0, "y": 0.02, "xanchor": "left", "yanchor": "bottom",
            "pad": {"r": 8, "t": 8}, "font": {"color": theme["fg"]}, "bgcolor": theme["grid"],
            "bordercolor": theme["dim"], "direction": "left",
            "buttons": [{"label": "▶ play", "method": "animate",
                         "args": [None, {"frame": {"duration": 80, "redraw": True}, "fromcurrent": False,
                                         "transition": {"duration": 0}, "mode": "immediate"}]},
                        {"label": "❚❚ pause", "method": "animate",
                         "args": [[None], {"frame": {"duration": 0, "redraw": False}, "mode": "immediate"}]}]}
    title = "Loss landscape" if style.title is None else style.title
    axis = {"color": theme["fg"], "gridcolor": theme["grid"], "backgroundcolor": theme["bg"], "showbackground": True,
            "zerolinecolor": theme["dim"]}
    zaxis = dict(axis, title={"text": f"log10 {z_name}" if log else z_name})
    if log:
        finite = heights[np.isfinite(heights)]
        if finite.size:
            ticks = np.arange(np.floor(finite.min()), np.ceil(finite.max()) + 1)
            zaxis.update(tickvals=ticks.tolist(), ticktext=[f"1e{int(t)}" for t in ticks])
    layout = {
        "title": {"text": title + (f"<br><sub>{style.subtitle}</sub>" if style.subtitle else ""), "x": 0.02},
        "paper_bgcolor": theme["bg"], "plot_bgcolor": theme["bg"], "font": {"color": theme["fg"]},
        "legend": {"x": 0.01, "y": 0.92, "bgcolor": "rgba(0,0,0,0)"},
        "margin": {"l": 0, "r": 0, "t": 60, "b": 60},
        "scene": {"xaxis": dict(axis, title={"text": a_name}), "yaxis": dict(axis, title={"text": b_name}),
                  "zaxis": zaxis, "aspectmode": "manual", "aspectratio": {"x": 1, "y": 1, "z": 0.62},
                  "camera": {"eye": _eye(float(plan.azimuth[0]), float(plan.elevation[0]))}},
        "updatemenus": [play], "sliders": [slider],
    }
    return {"data": data, "layout": layout, "frames": animation}


def _no_path(label: str, color: str) -> dict:
    """A run a storyboard's beat hides: its trace, empty."""
    return {"type": "scatter3d", "mode": "lines+markers", "name": label, "legendgroup": label, "x": [], "y": [],
            "z": [], "line": {"color": color, "width": 6}, "marker": {"color": color}}


def _story_layout(story, f: int, most: int, landscape: Landscape, height: "_Height", theme: dict) -> dict:
    """A storyboard's frame ``f`` on the page: its callouts as 3-D annotations at their points (an arrow to
    the surface), ``most`` in all with the unused hidden; the beat's title in the lower left (always
    given, hidden when no card shows)."""
    notes = []
    for c in story.callouts:
        if c.start <= f < c.stop:
            a, b = (float(v) for v in c.points[f - c.start])
            z = float(height(_surface_at(landscape, np.array([a]), np.array([b])))[0])
            notes.append({"x": a, "y": b, "z": z, "text": c.text, "showarrow": c.arrow, "arrowcolor": theme["fg"],
                          "arrowhead": 2, "ax": 40, "ay": -40, "font": {"color": theme["fg"], "size": 13},
                          "bgcolor": theme["bg"], "bordercolor": theme["fg"], "borderpad": 4, "opacity": 0.92})
    notes += [{"x": 0, "y": 0, "z": 0, "text": "", "visible": False, "showarrow": False}] * (most - len(notes))
    card = next((title for start, stop, title in story.cards if start <= f < stop), None)
    paper = [{"text": f"<b>{card or ''}</b>", "visible": bool(card), "xref": "paper", "yref": "paper", "x": 0.02,
              "y": 0.1, "showarrow": False, "font": {"color": theme["fg"], "size": 18}, "bgcolor": theme["bg"],
              "bordercolor": theme["dim"], "borderpad": 6}]
    return {"scene": {"annotations": notes}, "annotations": paper}


def _eye(azimuth: float, elevation: float, distance: float = 2.0) -> dict:
    """plotly's camera eye for the film's first view (mplot3d's azimuth and elevation, in degrees)."""
    a, e = np.radians(azimuth), np.radians(elevation)
    return {"x": float(distance * np.cos(e) * np.cos(a)), "y": float(distance * np.cos(e) * np.sin(a)),
            "z": float(distance * np.sin(e))}


def _surface_at(landscape: Landscape, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    from ..paint.colors import bilinear

    return bilinear(landscape.alphas, landscape.betas, np.asarray(landscape.loss, np.float64), x, y)


def embedded_figure(html: str, panel: int | None = None) -> dict:
    """The figure a page written by ``write_html`` carries (for tests and tools that read pages back);
    on a comparison's page, that of panel number ``panel``."""
    tag = "lossfilm-figure" if panel is None else f"lossfilm-figure-{panel}"
    start = html.index(f'<script type="application/json" id="{tag}">')
    start = html.index(">", start) + 1
    return json.loads(html[start:html.index("</script>", start)])


def write_html(views, path: Path, js: str = "inline", captions=None) -> Path:
    """A plotly page at ``path`` of ``views``, a list of (landscape, plan, style): one figure filling the
    page, or a comparison's panels side by side, each under its caption. ``js``: "inline" (plotly.js in
    the page: one self-contained file that works offline), "cdn" (a script tag to plotly's CDN) or
    "directory" (plotly.min.js beside the page)."""
    if js not in ("inline", "cdn", "directory"):  # the html format's row offers these; anything else is a bug
        raise ValueError(f"js: expected inline, cdn or directory, got {js!r}")
    path = Path(path)
    style = views[0][2]
    bg, fg = THEMES[style.theme]["bg"], THEMES[style.theme]["fg"]
    # Each figure goes in once, as JSON, and the page draws it from there: a test (or any tool) reads the
    # numbers back from the page exactly as plotly receives them.
    single = len(views) == 1
    blocks, ids = [], []
    for k, (landscape, plan, view_style) in enumerate(views):
        blob = json.dumps(figure(landscape, plan, view_style), separators=(",", ":"), allow_nan=False).replace("</", "<\\/")
        div, fig_id = ("lossfilm-page", "lossfilm-figure") if single else (f"lossfilm-page-{k}", f"lossfilm-figure-{k}")
        head = "" if single else f'<h2 class="caption">{_escape(captions[k] if captions else "")}</h2>'
        blocks.append(f'<div class="panel">{head}<div id="{div}" class="plot"></div></div>\n'
                      f'<script type="application/json" id="{fig_id}">{blob}</script>\n')
        ids.append((div, fig_id))
    title = _escape(style.title or "Loss landscape") if single else _escape(" vs ".join(captions or []))
    css = ("html,body{margin:0;height:100%;background:" + bg + "}#lossfilm-page{width:100%;height:100vh}"
           if single else
           "html,body{margin:0;background:" + bg + "}body{display:flex;flex-wrap:wrap}"
           ".panel{flex:1 1 " + f"{max(30, 96 // len(views))}" + "vw;min-width:320px}"
           ".caption{color:" + fg + ";font:600 16px sans-serif;text-align:center;margin:8px 0 0}"
           ".plot{width:100%;height:88vh}")
    draw = "".join(
        f"  draw('{div}', '{fig_id}');\n" for div, fig_id in ids)
    html = (f'<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>{title}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<style>{css}</style>\n"
            f"<script>window.PlotlyConfig = {{MathJaxConfig: 'local'}};</script>\n{_plotly_js(js, path)}\n</head>\n"
            f"<body>\n{''.join(blocks)}"
            "<script>(function () {\n"
            "  function draw(div, fig) {\n"
            "    var f = JSON.parse(document.getElementById(fig).textContent);\n"
            "    var d = document.getElementById(div);\n"
            "    Plotly.newPlot(d, f.data, f.layout, {responsive: true, displaylogo: false})\n"
            "      .then(function () { return Plotly.addFrames(d, f.frames); })\n"
            "      .then(function () { d.setAttribute('data-ready', '1'); });\n"
            "  }\n"
            f"{draw}"
            "})();</script>\n</body>\n</html>\n")
    return write_text(path, html)


def _plotly_js(js: str, page: Path) -> str:
    """The script tag that loads plotly.js: inlined, from plotly's CDN, or from a file beside the page."""
    from plotly.offline import get_plotlyjs, get_plotlyjs_version

    if js == "inline":
        return f'<script type="text/javascript">{get_plotlyjs()}</script>'
    if js == "cdn":
        return f'<script src="https://cdn.plot.ly/plotly-{get_plotlyjs_version()}.min.js" charset="utf-8"></script>'
    bundle = page.parent / "plotly.min.js"
    if not bundle.exists():
        tmp = bundle.with_name(f".{bundle.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(get_plotlyjs(), encoding="utf-8")
            os.replace(tmp, bundle)
        finally:
            tmp.unlink(missing_ok=True)
    return '<script src="plotly.min.js" charset="utf-8"></script>'


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
