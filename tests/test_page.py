"""The interactive page (--format html), checked in a real headless Chromium, and show() in a notebook;
made from the computed numbers. The npz and PLY files: test_npz_and_ply.py."""
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from lossfilm.output.page import embedded_figure
from lossfilm.studio import render

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _figure(result) -> dict:
    return embedded_figure(Path(result.outputs["html"]).read_text(encoding="utf-8"))


def test_the_page_carries_the_landscape(article_page):
    result, land = article_page
    fig = _figure(result)
    surface = fig["data"][0]
    assert surface["type"] == "surface"
    assert max(land.loss.shape) <= 160  # the article's grid is small enough to be sent whole
    np.testing.assert_allclose(surface["x"], land.alphas, rtol=1e-6)
    np.testing.assert_allclose(surface["y"], land.betas, rtol=1e-6)
    np.testing.assert_allclose(np.array(surface["z"], float), land.loss, rtol=1e-6)
    np.testing.assert_allclose(np.array(surface["customdata"], float), land.loss, rtol=1e-6)
    path = fig["data"][1]
    t = land.traces[0]
    assert path["name"] == "SGD" and path["type"] == "scatter3d"
    np.testing.assert_allclose(path["x"][-1], t.alpha[-1], rtol=1e-6)
    np.testing.assert_allclose(path["y"][-1], t.beta[-1], rtol=1e-6)
    step, epoch, loss = path["customdata"][-1]
    assert step == t.steps and epoch == 25 and loss == pytest.approx(float(t.loss[-1]), rel=1e-6)
    # Axis titles as in the film; the frames update the path traces only, never resend the surface.
    scene = fig["layout"]["scene"]
    assert scene["xaxis"]["title"]["text"] == "w1" and scene["yaxis"]["title"]["text"] == "w2"
    assert scene["zaxis"]["title"]["text"] == "test MSE"
    assert fig["frames"] and all(f["traces"] == [1] and [d["type"] for d in f["data"]] == ["scatter3d"]
                                 for f in fig["frames"])
    grown = [len(f["data"][0]["x"]) for f in fig["frames"]]
    assert grown == sorted(grown) and grown[0] < grown[-1]


def test_a_race_has_a_path_trace_and_legend_entry_per_run(race):
    scene, result, land = race
    fig = _figure(result)
    paths = [d for d in fig["data"] if d["type"] == "scatter3d" and d.get("mode") == "lines+markers"]
    assert [p["name"] for p in paths] == ["SGD", "SGD + momentum 0.9", "NAdam", "Adam (lr 1)"]
    assert all(p.get("showlegend", True) for p in paths)
    minima = [d for d in fig["data"] if d["name"] == "known minima"]
    assert len(minima) == 1 and minima[0]["x"] == [1.0] and minima[0]["y"] == [1.0]
    assert fig["layout"]["scene"]["zaxis"]["title"]["text"].startswith("log10")
    assert all(f["traces"] == [1, 2, 3, 4] for f in fig["frames"])
    assert set(result.outputs) == {"mp4", "html", "npz", "ply"}


def test_html_js_modes_and_a_bad_one(article, cache_dir, tmp_path, cli):
    small = render(article, quality="low", formats=["html"], out=tmp_path / "cdn", fps=4, duration=1,
                   cache_dir=cache_dir, html_js="cdn")
    page = Path(small.outputs["html"])
    assert "cdn.plot.ly/plotly-" in page.read_text() and page.stat().st_size < 2**20
    beside = render(article, quality="low", formats=["html"], out=tmp_path / "dir", fps=4, duration=1,
                    cache_dir=cache_dir, html_js="directory")
    assert (tmp_path / "dir" / "plotly.min.js").stat().st_size > 2**20
    assert '<script src="plotly.min.js"' in Path(beside.outputs["html"]).read_text()
    done = cli("scenes/article.py", "--format", "html", "--html-js", "web", "-o", str(tmp_path / "bad"))
    assert done.returncode == 2 and "--html-js" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "bad").exists() or not any((tmp_path / "bad").iterdir())


def test_show_puts_the_page_in_a_frame_when_it_is_asked_for(article_page):
    from lossfilm.notebook import show

    result, _ = article_page
    shown = show(result)._repr_html_()
    assert shown.startswith("<iframe srcdoc=") and "lossfilm-figure" in shown


# --- in a real browser -----------------------------------------------------------------------------------

def _browser():
    if CHROMIUM is None:
        if os.environ.get("LOSSFILM_REQUIRE_BROWSER"):
            pytest.fail("chromium is not installed (.ci/run installs Debian's chromium)")
        pytest.skip("needs Debian's chromium (apt-get install chromium); .ci/run installs it")
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    return sync_playwright


def _ink(png: bytes) -> np.ndarray:
    import io

    import matplotlib.image

    return (matplotlib.image.imread(io.BytesIO(png), format="png")[..., :3] * 255).astype(int)


def test_the_page_loads_offline_shows_the_surface_and_plays_in_chromium(race):
    sync_playwright = _browser()
    scene, result, land = race
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])
        try:
            page = browser.new_page(viewport={"width": 900, "height": 600})
            errors, asked = [], []
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("http*://**", lambda route: (asked.append(route.request.url), route.abort()))  # offline
            page.goto(Path(result.outputs["html"]).resolve().as_uri())
            page.wait_for_selector("#lossfilm-page[data-ready='1']", timeout=90_000)
            page.wait_for_timeout(300)
            shot = page.screenshot()
            Path(result.outputs["html"]).with_suffix(".before.png").write_bytes(shot)
            before = _ink(shot)
            page.get_by_text("play").click()
            page.wait_for_timeout(500)
            during = _ink(page.screenshot())
        finally:
            browser.close()
    assert errors == [] and asked == []
    # The surface is drawn in viridis: a good share of the frame is its yellow-green, not the background.
    bg = np.array([0x0d, 0x11, 0x17])
    painted = np.abs(before - bg).sum(-1) > 60
    greenish = (before[..., 1] > 120) & (before[..., 2] < 140) & (before[..., 1] > before[..., 2])
    assert painted.mean() > 0.08 and greenish.mean() > 0.04, (painted.mean(), greenish.mean())
    # Play restarts the paths from their first step: the runs' colours change in the picture.
    def run_pixels(img):
        return np.abs(img - np.array([0xc7, 0x7d, 0xff])).sum(-1) < 60  # Adam's violet path
    assert run_pixels(before).sum() > 50
    assert (run_pixels(before) != run_pixels(during)).sum() > 50


def test_a_comparisons_page_draws_every_panel_under_its_caption_in_chromium(tmp_path):
    from lossfilm import Compare, Run, Scene, surfaces
    from lossfilm.studio import render

    sync_playwright = _browser()
    a = Scene(name="page_a", surface=surfaces.himmelblau(), start=(0.0, 0.0), runs=[Run("adam", lr=0.1, steps=40)],
              duration=1, fps=4)
    b = Scene(name="page_b", surface=surfaces.booth(), start=(-5.0, 5.0), runs=[Run("adam", lr=0.3, steps=40)],
              duration=1, fps=4)
    result = render(Compare([a, b], captions=["Himmelblau", "Booth"]), formats=["html"], out=tmp_path, use_cache=False)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 600})
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.route("http*://**", lambda route: route.abort())
            page.goto(Path(result.outputs["html"]).resolve().as_uri())
            for k in range(2):
                page.wait_for_selector(f"#lossfilm-page-{k}[data-ready='1']", timeout=90_000)
            captions = page.locator(".caption").all_inner_texts()
            boxes = [page.locator(f"#lossfilm-page-{k}").bounding_box() for k in range(2)]
        finally:
            browser.close()
    assert errors == [] and captions == ["Himmelblau", "Booth"]
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] + 1 and boxes[0]["width"] > 300  # side by side
