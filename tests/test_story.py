"""The lecturer's storyboard: beats that move the camera and grow the paths, callouts that point at the
surface, chapters and captions. Checked on the frames as painted, the MP4's chapter marks and subtitle
track as ffmpeg reads them back, the captions files, the page's frames, and a <video> in Chromium."""
import dataclasses
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
from mpl_toolkits.mplot3d import proj3d

from lossfilm import Beat, Callout, Grid, Move, Run, Scene, Style, surfaces
from lossfilm.errors import BadInput, SceneError
from lossfilm.paint.layout import overlaps
from lossfilm.pictures import view_of
from lossfilm.settings import Options
from lossfilm.studio import landscape_for, render

from conftest import ROOT

STORY = [
    Beat(1.5, title="The valley", camera=Move(1.5, turns=0.1), paths="hidden",
         callouts=[Callout("the minimum", at="minimum")]),
    Beat(1.5, title="They set off", grow_to=40, callouts=[Callout("both start here", at="SGD@0", seconds=1)]),
    Beat(1.0, callouts=[Callout("a point on the wall", at=(-1.0, 1.5)),
                        Callout("momentum builds speed", at="Momentum")]),  # a hold: nothing grows
    Beat(2.0, title="The finish", grow_to="end", camera=Move(1.5, zoom=1.4, focus=True),
         callouts=[Callout("SGD", at="SGD", seconds=1.5)]),
]


def story_scene(**changes) -> Scene:
    fields = dict(name="story", surface=surfaces.rosenbrock(), start=(-1.5, 2.0),
                  runs=[Run("sgd", lr=1e-3, steps=120, label="SGD"),
                        Run("sgd", lr=1e-3, steps=120, options={"momentum": 0.9}, label="Momentum")],
                  style=Style(zscale="log", title="A storyboard"), story=STORY)
    fields.update(changes)
    return Scene(**fields)


@pytest.fixture(scope="module")
def numbers(cache_dir):
    scene = story_scene()
    return scene, landscape_for(scene, cache_dir=cache_dir)[0]


def picture(scene, landscape, size=(854, 480), fps=8, min_text_px=None):
    settings = Options(quality="low", size=size, fps=fps).check().resolve(scene)
    if min_text_px:
        settings = settings.resized(*size, min_text_px)
    return view_of(scene, landscape, settings)[0]


# --- the scene ---------------------------------------------------------------------------------------------

def test_the_film_is_as_long_as_its_beats_and_duration_scales_every_beat(numbers):
    scene, land = numbers
    assert scene.duration == 6.0
    plan = picture(scene, land, fps=10).plan
    assert list(plan.story.bounds) == [0, 15, 30, 40, 60]
    half = Options(quality="low", fps=10, duration=3.0).check().resolve(scene)
    assert list(view_of(scene, land, half)[0].plan.story.bounds) == [0, 8, 15, 20, 30]


def test_paths_grow_only_in_a_beat_that_says_how_far_and_hide_where_asked(numbers):
    scene, land = numbers
    plan = picture(scene, land, fps=10).plan
    steps, shown = plan.steps, plan.shown
    assert (steps[:15] == 0).all() and not shown[:15].any()  # the surface alone
    assert steps[29].tolist() == [40, 40] and shown[15:].all()  # grown to step 40 by the beat's end
    assert (steps[30:40] == 40).all()  # the hold
    assert steps[-1].tolist() == [120, 120]
    assert (np.diff(steps[:, 0]) >= 0).all()
    # The camera turns in the first beat, holds through the next two, zooms in the last.
    assert plan.azimuth[14] - plan.azimuth[0] > 30 and np.ptp(plan.azimuth[15:40]) == 0
    assert np.ptp(plan.zoom[:40]) == 0 and plan.zoom[-1] == pytest.approx(1.4)


def test_a_hold_beat_paints_the_same_frame_while_its_callouts_hold_still(numbers):
    """During a hold (no growth, no camera move) the paths' pixels do not change: the whole frame is the
    same once the callouts have faded in."""
    scene, land = numbers
    story = [Beat(1.0, grow_to=30), Beat(1.5)]
    scene = dataclasses.replace(scene, story=story)
    painter = picture(scene, land, fps=10).painter()
    frames = [np.asarray(painter.paint(i)).copy() for i in range(10, 25)]
    assert all(np.array_equal(frames[0], f) for f in frames[1:])
    painter.close()


def test_a_callouts_leader_ends_at_the_projection_of_its_point(numbers):
    scene, land = numbers
    pic = picture(scene, land, fps=10)
    painter = pic.painter()
    callouts = next(o for o in painter.overlays if type(o).__name__ == "Callouts")
    plan = pic.plan.story
    wall = next(k for k, c in enumerate(plan.callouts) if c.text == "a point on the wall")
    checked = 0
    for i in range(30, 40):
        painter.paint(i)
        ends = callouts.ends()
        if wall not in ends:
            continue
        # The point's projection after the frame was drawn, from the axes' own matrix.
        a, b = -1.0, 1.5
        z = painter.field.height(np.array([a]), np.array([b])) + painter.lift
        px, py, _ = proj3d.proj_transform(np.array([a]), np.array([b]), z, painter.ax.M)
        x, y = painter.ax.transData.transform(np.column_stack([px, py]))[0]
        tip = ends[wall][1]
        assert abs(tip[0] - x) <= 2 and abs(tip[1] - (painter.look.height - y)) <= 2, (tip, x, y)
        checked += 1
    assert checked >= 8
    painter.close()


@pytest.mark.parametrize("size,min_text", [((854, 480), None), ((720, 720), None), ((480, 854), None),
                                           ((480, 270), 11.0)])
def test_no_text_box_overlaps_another_or_leaves_the_frame_in_any_frame(numbers, size, min_text):
    scene, land = numbers
    painter = picture(scene, land, size=size, fps=6, min_text_px=min_text).painter()
    w, h = size
    seen = set()
    for i in range(len(painter.plan)):
        painter.paint(i)
        boxes = painter.text_boxes(i)
        axes = painter.axes
        names = [axes.z_name_box] if axes.z_name_box[2] > axes.z_name_box[0] else []
        shown = list(boxes.items()) + [(f"axis {k}", b) for k, b in enumerate(axes.boxes + axes.z_boxes + names)]
        seen.update(k for k in boxes if k.startswith(("callout", "title card")))
        for name, (left, top, right, bottom) in shown:
            assert left >= 0 and top >= 0 and right <= w and bottom <= h, (i, name)
        story_text = [(k, b) for k, b in shown if k.startswith(("callout", "title card"))]
        for name, box in story_text:
            for other, obox in shown:
                if other != name:
                    assert not overlaps(box, obox), (i, name, other, box, obox)
    assert {"title card", "callout 0", "callout 3", "callout 4"} <= seen
    painter.close()


def test_the_flat_view_shows_the_same_story(numbers):
    scene, land = numbers
    scene = dataclasses.replace(scene, style=dataclasses.replace(scene.style, view="2d"))
    painter = picture(scene, land, fps=6).painter()
    first = np.asarray(painter.paint(2)).copy()
    boxes = painter.text_boxes(2)
    assert "title card" in boxes and "callout 0" in boxes
    # The runs are hidden in the first beat, shown in the second.
    start = painter.to_pixels(-1.5, 2.0)[0].round().astype(int)
    painter.paint(12)
    later = np.asarray(painter.paint(12)).copy()
    x, y = start
    assert not np.array_equal(first[y - 3:y + 4, x - 3:x + 4], later[y - 3:y + 4, x - 3:x + 4])
    painter.close()


# --- bad input ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("story,field", [
    ([], "story"),
    ([Beat(0)], "story[0].seconds"),
    ([Beat(2), Beat(-1)], "story[1].seconds"),
    ([Beat(2, grow_to=5000)], "story[0].grow_to"),
    ([Beat(2, grow_to=50), Beat(2, grow_to=10)], "story[1].grow_to"),
    ([Beat(2, grow_to="epoch 2")], "story[0].grow_to"),  # a surface's runs have no epochs
    ([Beat(2), Beat(2, callouts=[Callout("x", at="SGD@500")])], "story[1].callouts[0].at"),
    ([Beat(2, callouts=[Callout("x", at="Adam")])], "story[0].callouts[0].at"),
    ([Beat(2, paths=["Adam"])], "story[0].paths"),
    ([Beat(2, title="$\\frac{1}{$")], "story[0].title"),
    ([Beat(2, callouts=[Callout("$x^$", at="SGD")])], "story[0].callouts[0].text"),
    ([Beat(2, camera=Move(3))], "story[0].camera.seconds"),
    (["not a beat"], "story[0]"),
])
def test_a_bad_story_is_refused_naming_the_field(story, field):
    with pytest.raises(SceneError) as err:
        story_scene(story=story)
    assert err.value.field == field


def test_a_point_off_the_map_is_refused_before_training_on_a_fixed_grid_and_after_compute_otherwise(cache_dir):
    from lossfilm import WeightsPlane, datasets, models

    def scene(grid):
        return Scene(name="off", data=datasets.piecewise(n=200, seed=1), model=models.article_net,
                     plane=WeightsPlane("0.weight", "2.weight"), grid=grid, runs=[Run(epochs=1, label="SGD")],
                     story=[Beat(2, callouts=[Callout("far away", at=(9.0, 0.0))])])

    with pytest.raises(SceneError) as err:
        scene(Grid(a=(-2, 2), b=(-2, 2), step=0.1, fit="fixed"))
    assert err.value.field == "story[0].callouts[0].at"
    grown = scene(Grid(a=(-2, 2), b=(-2, 2), step=0.1))
    with pytest.raises(BadInput, match=r"story\[0\]\.callouts\[0\]\.at: expected a point on the map"):
        view_of(grown, landscape_for(grown, cache_dir=cache_dir)[0], Options(quality="low").check().resolve(grown))


def test_the_command_line_refuses_a_bad_story_before_training_with_one_line(rejected):
    done = rejected("bad_story", "from lossfilm import Beat, Callout, Run, Scene, surfaces\n"
                                 "scene = Scene(name='bad_story', surface=surfaces.rosenbrock(), start=(-1.5, 2),\n"
                                 "              runs=[Run('sgd', lr=1e-3, steps=50, label='SGD')],\n"
                                 "              story=[Beat(2), Beat(2, callouts=[Callout('x', at='SGD@99')])])\n")
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad_story.py" in lines[0] and "story[1].callouts[0].at" in lines[0], lines


def test_captions_need_a_story(cli, tmp_path):
    done = cli("scenes/rosenbrock_race.py", "-q", "low", "--format", "vtt", "-o", str(tmp_path))
    assert done.returncode == 2 and "format vtt: expected a scene with a story" in done.stderr
    assert not list(tmp_path.iterdir())


# --- chapters, captions, the page, a browser ------------------------------------------------------------

def _ffmpeg():
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture(scope="module")
def rendered(numbers, cache_dir, tmp_path_factory):
    scene, _ = numbers
    out = tmp_path_factory.mktemp("story")
    result = render(scene, quality="low", formats=["mp4", "webm", "vtt", "srt", "html"], out=out, fps=10,
                    cache_dir=cache_dir, jobs=2)
    return scene, result, out


def test_the_mp4_carries_the_beats_as_chapters_and_a_soft_subtitle_track(rendered):
    scene, result, out = rendered
    meta = out / "read.ffmeta"
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-i", result.outputs["mp4"], "-f", "ffmetadata", str(meta)],
                   check=True)
    text = meta.read_text()
    base = int(re.search(r"TIMEBASE=1/(\d+)", text)[1])
    chapters = [(int(a) / base, int(b) / base, t) for a, b, t in
                re.findall(r"\[CHAPTER\]\nTIMEBASE=\S+\nSTART=(\d+)\nEND=(\d+)\ntitle=(.*)", text)]
    # Titled beats are chapters; the untitled third beat belongs to the second's.
    assert chapters == [(0.0, 1.5, "The valley"), (1.5, 4.0, "They set off"), (4.0, 6.0, "The finish")]
    assert result.facts["chapters"] == [{"start": a, "end": b, "title": t, "note": None} for a, b, t in chapters]
    probe = subprocess.run([_ffmpeg(), "-hide_banner", "-i", result.outputs["mp4"]], capture_output=True, text=True)
    assert re.search(r"Subtitle: mov_text", probe.stderr)
    srt = out / "track.srt"
    subprocess.run([_ffmpeg(), "-v", "error", "-y", "-i", result.outputs["mp4"], "-map", "0:s:0", str(srt)], check=True)
    assert "the minimum" in srt.read_text() and "The finish" in srt.read_text()
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no hidden master or part left


def test_the_vtt_and_srt_cues_are_the_beats_and_callouts_times(rendered):
    scene, result, out = rendered
    vtt = Path(result.outputs["vtt"]).read_text()
    assert vtt.startswith("WEBVTT\n")

    def seconds(stamp):
        h, m, s = stamp.replace(",", ".").split(":")
        return int(h) * 3600 + int(m) * 60 + float(s)

    for text, sep in ((vtt, "."), (Path(result.outputs["srt"]).read_text(), ",")):
        cues = re.findall(r"(\d\d:\d\d:\d\d[.,]\d{3}) --> (\d\d:\d\d:\d\d[.,]\d{3})\n(.+)", text)
        got = {t: (seconds(a), seconds(b)) for a, b, t in cues}
        assert got["The valley"] == (0.0, 1.2)  # a card shows for 80 % of a short beat
        assert got["the minimum"] == (0.0, 1.5)
        assert got["both start here"] == (1.5, 2.5)
        assert got["momentum builds speed"] == (3.0, 4.0)
        assert got["SGD"] == (4.0, 5.5)
        assert all(sep in a for a, _, _ in cues)


def test_the_page_shows_the_callouts_at_their_moments_and_hides_hidden_runs(rendered):
    from lossfilm.output.page import embedded_figure

    scene, result, out = rendered
    fig = embedded_figure(Path(result.outputs["html"]).read_text())
    texts = [[a["text"] for a in f["layout"]["scene"]["annotations"] if a.get("visible", True)] for f in fig["frames"]]
    assert ["the minimum"] in texts and any("momentum builds speed" in t for t in texts)
    first = fig["frames"][0]
    assert first["data"][0]["x"] == [] and "The valley" in first["layout"]["annotations"][0]["text"]
    # plotly's animate keeps annotations a frame does not give: every frame gives as many, unused hidden.
    assert len({len(f["layout"]["scene"]["annotations"]) for f in fig["frames"]}) == 1
    assert not fig["frames"][-1]["layout"]["annotations"][0]["visible"]


def test_a_video_with_the_vtt_track_shows_the_cue_at_its_time_in_chromium(rendered):
    from test_page import CHROMIUM, _browser

    sync_playwright = _browser()
    scene, result, out = rendered
    page_file = out / "player.html"
    page_file.write_text(f'<!DOCTYPE html><html><body><video id="v" muted src="{Path(result.outputs["webm"]).name}">'
                         f'<track id="t" kind="captions" default src="{Path(result.outputs["vtt"]).name}">'
                         "</video></body></html>")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu",
                                                                    "--allow-file-access-from-files"])
        try:
            page = browser.new_page()
            page.goto(page_file.resolve().as_uri())
            page.wait_for_function("document.getElementById('v').readyState >= 1 && "
                                   "document.getElementById('t').readyState === 2", timeout=30_000)

            def cues_at(t):
                page.evaluate(f"document.getElementById('v').currentTime = {t}")
                page.wait_for_function(f"Math.abs(document.getElementById('v').currentTime - {t}) < 0.01 && "
                                       "!document.getElementById('v').seeking", timeout=10_000)
                page.wait_for_timeout(150)
                return page.evaluate("Array.from(document.getElementById('v').textTracks[0].activeCues || [])"
                                     ".map(c => c.text)")

            at_start, at_hold = cues_at(0.5), cues_at(3.5)
        finally:
            browser.close()
    assert set(at_start) == {"The valley", "the minimum"}
    assert set(at_hold) == {"a point on the wall", "momentum builds speed"}


def test_the_shipped_lecture_scenes_load_with_their_stories():
    from lossfilm.scene.loader import load_scenes

    for name in ("lecture_momentum", "lecture_rosenbrock"):
        scene = load_scenes(ROOT / "scenes" / f"{name}.py")[0]
        assert 30 <= scene.duration <= 60 and 5 <= len(scene.story) <= 7
        assert sum(1 for b in scene.story if b.title) >= 4 and any(b.note for b in scene.story)


def test_a_scene_without_a_story_plans_and_paints_as_before(article, article_landscape):
    """No story: the plan has none, the painter adds no story overlay and never touches the paths'
    visibility (bench/frame_digests.py compares the frames themselves before and after a change)."""
    pic = view_of(article, article_landscape, Options(quality="low", fps=4, duration=1).check().resolve(article))[0]
    assert pic.plan.story is None and pic.plan.shown is None
    painter = pic.painter()
    assert not [o for o in painter.overlays if type(o).__name__ in ("TitleCard", "Callouts")]
    painter.close()
