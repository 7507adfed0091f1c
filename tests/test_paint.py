"""Pure pieces of the picture: the plan, occlusion, decimation, text sprites."""
import numpy as np
import pytest

from lossfilm.paint.geometry import HeightField, _decimate
from lossfilm.paint.colors import robust_range
from lossfilm.plan import GROW_SHARE, camera_path, path_steps
from lossfilm.scene.view import Camera


def test_camera_makes_one_orbit_that_loops():
    az, el, zoom, focus = camera_path(Camera(azimuth=-60, elevation=30, turns=1), 120)
    assert (focus == 0).all()
    assert az[0] == -60 and np.allclose(np.diff(az), 3.0) and az[-1] + 3 == 300
    assert (el == 30).all() and (zoom == 1).all()


def test_paths_grow_on_one_clock_then_hold():
    steps = path_steps([1375, 500], 100)
    assert steps[0].tolist() == [0, 0]
    assert (np.diff(steps, axis=0) >= 0).all()
    done = int(np.argmax(steps[:, 0] == 1375))
    assert done == pytest.approx(GROW_SHARE * 100, abs=2)
    assert (steps[done:, 0] == 1375).all() and steps[-1, 1] == 500
    # one clock: while both grow they show the same step
    assert (steps[:20, 0] == steps[:20, 1]).all()


def _ridge():
    xs = ys = np.linspace(-1, 1, 41)
    X, _ = np.meshgrid(xs, ys)
    z = np.where(np.abs(X) < 0.1, 1.0, 0.0)  # a wall along x = 0, the rest flat at 0
    return HeightField(xs, ys, z, (-0.2, 1.2))


def test_a_wall_between_point_and_camera_hides_it():
    field = _ridge()
    low = np.array([[-0.6, 0.0, 0.05]])  # on the flat, just left of the wall
    # camera to the right (azimuth 0 looks from +x), low elevation: the wall is in the way
    assert field.hidden(low, azimuth=0, elevation=10)[0]
    # camera to the left: nothing in the way
    assert not field.hidden(low, azimuth=180, elevation=10)[0]
    # from straight above nothing hides a point on the flat
    assert not field.hidden(low, azimuth=0, elevation=89)[0]


def test_decimation_keeps_equal_facets_through_the_minimum_and_both_ends():
    idx = _decimate(87, 44, keep=49)
    assert idx[0] == 0 and idx[-1] == 86 and 49 in idx
    inner = np.diff(idx[1:-1])
    assert (inner == inner[0]).all()
    assert _decimate(30, 60).tolist() == list(range(30))


def test_robust_range_clips_a_few_huge_values_only():
    z = np.linspace(0, 1, 1000)
    assert robust_range(z) == (0.0, 1.0)
    z[-5:] = 1e9
    lo, hi = robust_range(z)
    assert lo == 0 and hi < 2


def test_text_sprites_put_ink_where_asked():
    from lossfilm.paint.sprites import MonoLine, TextSprites

    frame = np.zeros((60, 200, 4), np.uint8)
    TextSprites(100).get("w1", "#ffffff", 10).paste(frame, 100, 30)
    ys, xs = np.nonzero(frame[..., 0])
    assert abs(xs.mean() - 100) < 3 and abs(ys.mean() - 30) < 3
    line = MonoLine(100, "#ff0000", 9)
    blank = frame.copy()
    line.paste(frame, "12", 10, 55)
    assert (frame[..., 0] != blank[..., 0]).any() and frame[..., 1].max() == blank[..., 1].max()


def test_camera_moves_follow_their_keyframes_with_easing():
    from lossfilm.scene.view import Move

    cam = Camera(azimuth=0, elevation=30, zoom=1,
                 moves=(Move(2, turns=0.5), Move(1, elevation=60), Move(1, zoom=2, focus=True), Move(1)))
    az, el, zoom, focus = camera_path(cam, 101)  # t = i / 100; segment ends at 0.4, 0.6, 0.8, 1.0
    assert (focus[:61] == 0).all() and focus[70] == pytest.approx(0.5) and (focus[80:] == 1).all()
    assert az[0] == 0 and el[0] == 30 and zoom[0] == 1
    assert az[40] == pytest.approx(180) and el[40] == 30  # the orbit is done, elevation untouched
    assert az[20] == pytest.approx(90)  # eased: half way in time is half way in angle...
    assert az[10] < 45  # ...but slow at the start
    assert el[60] == pytest.approx(60) and zoom[60] == 1
    assert zoom[80] == pytest.approx(2)
    assert (az[80:] == az[80]).all() and (el[80:] == 60).all() and (zoom[80:] == 2).all()  # the hold
    assert np.all(np.diff(az) >= 0) and np.all(np.diff(el) >= 0)


def test_camera_move_validation():
    from lossfilm.errors import SceneError
    from lossfilm.scene.view import Move

    with pytest.raises(SceneError, match="camera.moves.seconds"):
        Move(0)
    with pytest.raises(SceneError, match="camera.moves.elevation"):
        Move(1, elevation=120)
    with pytest.raises(SceneError, match="camera.moves"):
        Camera(moves=("orbit",))


def test_axis_names_never_cover_tick_labels_as_the_camera_turns(article_landscape):
    """A long axis name seen at a steep angle used to sit on the middle tick label."""
    import dataclasses

    from lossfilm.settings import Look
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.scene.view import Style

    land = dataclasses.replace(article_landscape, axis_labels=("α (random direction 1)", "β (random direction 2)"))
    painter = Painter(land, plan(land, Camera(), 16), Style(), Look(854, 480, 30))
    try:
        for i in range(16):
            painter.paint(i)
            boxes = painter.axes.boxes
            ticks, names = boxes[:-2], boxes[-2:]
            for left, top, right, bottom in names:
                assert right > left and bottom > top
                for l, t, r, b in ticks:  # noqa: E741
                    assert not (left < r and l < right and top < b and t < bottom), (i, (left, top), (l, t))
    finally:
        painter.close()


@pytest.mark.parametrize("elevation", [32, 75, 85])
def test_z_tick_labels_never_print_over_one_another_seen_from_above(article_landscape, elevation):
    """Seen from high above the z axis shortens until its ticks would print over one another and under
    its name: each tick is kept only clear of the ones kept and of the floor's labels, and the name
    clear of them all; from the usual height all of them show."""
    from lossfilm.paint.layout import overlaps
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.scene.view import Camera, Style
    from lossfilm.settings import Look

    painter = Painter(article_landscape, plan(article_landscape, Camera(elevation=elevation), 8), Style(),
                      Look(1280, 720, 60))
    try:
        for i in range(0, 8, 2):
            painter.paint(i)
            axes = painter.axes
            zs = axes.z_boxes
            assert len(zs) >= 1
            if elevation == 32:
                assert len(zs) == len(axes.zticks)
            if elevation == 85:  # all three would overlap
                assert len(zs) < len(axes.zticks)
            for k, a in enumerate(zs):
                assert not overlaps(a, axes.z_name_box, 0), (i, a, axes.z_name_box)
                assert not any(overlaps(a, b, 0) for b in zs[k + 1:] + axes.boxes), (i, a)
    finally:
        painter.close()


@pytest.mark.parametrize("name", ["article_as_published", "article", "rosenbrock_race", "beale", "himmelblau_starts",
                                  "spirals_pca"])
def test_occlusion_agrees_with_a_z_buffer_of_the_drawn_surface(name, cache_dir):
    """The ray march goes to mplot3d's perspective eye and samples the surface wherever the ray crosses a
    grid line and where it leaves the map: against a true z-buffer of the drawn triangles it agrees on
    nearly every path point of every run in every frame. A march at 48 fixed distances stepped over a
    steep rim at the map's edge (Himmelblau: 5 % agreement at frame 140) and over narrow ridges
    (spirals_pca 35 %, Beale 82 %), and parallel rays misjudge points near a silhouette."""
    from pathlib import Path

    from zbuffer import hidden_by_surface, painted_depth

    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.scene.loader import load_scenes
    from lossfilm.settings import Look
    from lossfilm.studio import landscape_for

    scene = load_scenes(Path(__file__).resolve().parents[1] / "scenes" / f"{name}.py")[0]
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    frame_plan = plan(land, scene.camera, 240)
    painter = Painter(land, frame_plan, scene.style, Look(854, 480, 40))
    ours, parallel = [], []
    try:
        for i in range(20, 240, 40):  # frame 0 has one point a run: a rate of 0 or 1 that says nothing
            painter.paint(i)
            depth = painted_depth(painter)
            az, el = float(frame_plan.azimuth[i]), float(frame_plan.elevation[i])
            for run in range(len(painter.runs)):
                pts = painter.runs[run][1][:int(frame_plan.steps[i, run]) + 1]
                pts = pts[painter.field.covers(pts)]
                if len(pts) < 10:
                    continue
                truth = hidden_by_surface(painter, pts, depth)
                ours.append((painter.field.hidden(pts, az, el, painter.field.eye(painter.ax.M)) == truth).mean())
                parallel.append((painter.field.hidden(pts, az, el) == truth).mean())
    finally:
        painter.close()
    # Within a few points of the z-buffer (itself read at the pixel under each point's centre).
    assert len(ours) >= 5 and min(ours) >= 0.9 and np.mean(ours) >= 0.98, ours
    assert np.mean(ours) >= np.mean(parallel), (np.mean(ours), np.mean(parallel))


def test_smooth_shading_has_no_facet_steps(article_landscape):
    """Gouraud shading: across the lit surface the colour changes a little from pixel to pixel; flat facets
    are plateaus of one colour (most neighbours identical) that step at every facet edge."""
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.scene.view import Camera, Style
    from lossfilm.settings import Look

    steps = {}
    for smooth in (False, True):
        painter = Painter(article_landscape, plan(article_landscape, Camera(), 2), Style(
            floor=False, loss_curve=False, hud=False, title="", shading="smooth" if smooth else "flat"),
            Look(1280, 720, 60))
        frame = np.asarray(painter.paint(0))[..., :3].astype(int).copy()
        painter.close()
        bg = np.array([0x0d, 0x11, 0x17])
        surface = np.abs(frame - bg).sum(-1) > 60
        inner = surface[:, 1:-1] & surface[:, :-2] & surface[:, 2:]
        jump = np.abs(np.diff(frame, axis=1)).sum(-1)[:, 1:]  # between each pixel and the next
        steps[smooth] = np.count_nonzero((jump == 0) & inner) / max(np.count_nonzero(inner), 1)  # plateaus
    assert steps[False] > 0.8 and steps[True] < 0.6 * steps[False], steps


@pytest.mark.parametrize("sign", [1, -1], ids=["along x = y", "along x = -y"])
def test_quads_split_along_a_diagonal_valley(sign):
    """Each quad is split into triangles along its diagonal whose ends are closest in height: a narrow
    valley running diagonally across the grid is followed by triangle edges (both ends of every
    crossed quad's split on the valley floor), not cut across into teeth."""
    from matplotlib.figure import Figure

    from lossfilm.paint.surface import FastSurface, _surface

    x = np.linspace(-1, 1, 9)
    X, Y = np.meshgrid(x, x)
    Z = np.minimum(np.abs(X - sign * Y), 0.3)  # a trench one grid point wide
    ax = Figure().add_subplot(projection="3d")
    surface = FastSurface.adopt(_surface(ax, X, Y, Z, np.ones(Z.shape + (4,))))
    surface.smooth(x, x, np.ones(Z.shape + (4,)))
    z = surface._corners[2].reshape(-1, 4)
    on_floor = (z == 0).sum(1) == 2  # the quads the valley crosses corner to corner
    assert on_floor.sum() >= 7
    for q in np.nonzero(on_floor)[0]:
        a, b = surface._splits[q]
        shared = sorted(set(a) & set(b))  # the diagonal both triangles have
        assert len(shared) == 2 and (z[q, shared] == 0).all(), (q, z[q], surface._splits[q])


@pytest.mark.parametrize("decades", [2, 10, 30])
def test_a_log_axis_is_ticked_on_decades_and_reads_as_powers_of_ten(decades):
    """The loss inset once labelled 51.7, 3.88e-11 and 2.91e-23 (beale): three values spread evenly."""
    from lossfilm.paint.chrome import log_ticks, power_labels

    lo = 3.7e-5
    hi = lo * 10 ** decades
    ticks = log_ticks(lo, hi)
    exponents = np.log10(ticks)
    assert 2 <= len(ticks) <= 4 and np.allclose(exponents, np.round(exponents))  # powers of ten only
    assert all(lo <= t <= hi for t in ticks) and len(set(np.diff(exponents).round(6))) <= 1  # evenly spaced
    labels = power_labels(ticks)
    assert all(label.startswith("10") for label in labels) and not any("e" in label or "." in label for label in labels)
    if decades == 30:
        assert 1.0 in ticks and "10⁰" in labels  # counted from 10⁰, so the ones that show are round


def test_a_narrow_log_range_gets_round_steps():
    from lossfilm.paint.chrome import log_ticks, power_labels

    assert power_labels(log_ticks(0.019, 1.22)) == ["0.1", "1"]
    assert power_labels(log_ticks(0.11, 0.3)) == ["0.2", "0.3"]
    assert power_labels(log_ticks(103.6, 115.1)) == ["105", "110", "115"]
    assert power_labels(log_ticks(1.5e-5, 1.6e-5)) == ["1.5×10⁻⁵", "1.55×10⁻⁵", "1.6×10⁻⁵"]
