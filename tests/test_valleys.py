"""The drawn surface's mesh: grid points snapped onto narrow valleys' floors, the height field read back
from the drawn triangles, and the quads painted back to front as a z-buffer sees them."""
import numpy as np
import pytest

from lossfilm.paint.geometry import _decimate, smoothed
from lossfilm.paint.valleys import (TRIANGLES, TRIANGLES_1_3, corner_ids, drawn_heights, splits_along_1_3,
                                    valley_snapped)
from zbuffer import zbuffer

SLOPE, OFFSET = 0.45, 0.05  # the valley's floor: y = SLOPE x + OFFSET, crossing the lattice at a slant


def _trench(n=160):
    """A valley 0.01 wide (a facet is 0.037 wide) in log z: loss 1e-2 (1 + 0.3 x) on its floor."""
    xs = ys = np.linspace(-1, 1, n)
    X, Y = np.meshgrid(xs, ys)
    floor = 1e-2 * (1 + 0.3 * X)
    d = (Y - SLOPE * X - OFFSET) / np.hypot(1, SLOPE)  # distance from the floor line
    return xs, ys, np.log10(floor + 400 * d ** 2)


def _lattice(xs, ys, z, quads=54):
    ri, ci = _decimate(len(ys), quads), _decimate(len(xs), quads)
    return ri, ci, smoothed(z, len(ys) / len(ri), len(xs) / len(ci))[np.ix_(ri, ci)]


def _floor_along(X, Y, Z, ci):
    """Per inner lattice column: the lowest drawn height, against the true floor under it."""
    lowest = Z[:, 1:-1].min(0)
    i = Z[:, 1:-1].argmin(0)
    x = X[i, np.arange(1, len(ci) - 1)]
    return lowest, np.log10(1e-2 * (1 + 0.3 * x))


def test_a_narrow_valleys_floor_is_drawn_at_its_height_all_along():
    """On the regular lattice a valley narrower than a facet is sampled at its floor here and high on its
    wall there, so the drawn floor rises and falls along the valley by most of its depth (a saw in
    silhouette). With the grid points snapped onto its floor, the drawn floor follows the true one."""
    xs, ys, z = _trench()
    ri, ci, zd = _lattice(xs, ys, z)
    X0, Y0 = np.meshgrid(xs[ci], ys[ri])
    inside = (SLOPE * X0[0, 1:-1] + OFFSET > -0.95) & (SLOPE * X0[0, 1:-1] + OFFSET < 0.95)
    lowest, truth = _floor_along(X0, Y0, zd, ci)
    regular = np.abs(lowest - truth)[inside]
    X, Y, Z, moved = valley_snapped(xs, ys, z, ri, ci, zd, 0.002 * np.ptp(z), log=True)
    lowest, truth = _floor_along(X, Y, Z, ci)
    snapped = np.abs(lowest - truth)[inside]
    assert regular.max() > 0.8 and np.ptp(regular) > 0.4, regular  # the teeth, in decades
    assert snapped.max() < 0.05, snapped
    # Every moved point lies on the floor (its height is the loss there), in its own cell.
    on = moved
    d = (Y[on] - SLOPE * X[on] - OFFSET) / np.hypot(1, SLOPE)
    assert on.sum() >= 50 and np.abs(d).max() < 0.004
    np.testing.assert_allclose(Z[on], np.log10(1e-2 * (1 + 0.3 * X[on]) + 400 * d ** 2), atol=0.02)
    cell = np.diff(xs[ci]).max()
    assert np.abs(X - X0).max() <= cell / 2 + 1e-9 and np.abs(Y - Y0).max() <= cell / 2 + 1e-9
    # No facet folds over: the moved grid keeps its order along both axes, and its edges stay put.
    assert (np.diff(X, axis=1) > 0).all() and (np.diff(Y, axis=0) > 0).all()
    assert (X[:, 0] == xs[0]).all() and (X[:, -1] == xs[-1]).all()
    assert (Y[0] == ys[0]).all() and (Y[-1] == ys[-1]).all()


def test_smooth_surfaces_and_broad_valleys_keep_their_lattice():
    """A point moves only for a floor in its cell lower than its own height: a plane or a broad bowl whose
    lowest point is a lattice point stays the regular lattice."""
    xs = ys = np.linspace(-1, 1, 121)
    X, Y = np.meshgrid(xs, ys)
    for z in (0.3 * X + 0.2 * Y, X ** 2 + Y ** 2):
        ri, ci, zd = _lattice(xs, ys, z, 40)
        _, _, Z, moved = valley_snapped(xs, ys, z, ri, ci, zd, 0.002 * np.ptp(z))
        assert not moved.any()
        np.testing.assert_array_equal(Z, zd)


def test_the_height_field_is_the_drawn_triangles():
    """The height field that paths sit on and the occlusion test reads is the drawn mesh: against
    matplotlib's own linear interpolation over the same triangles."""
    from matplotlib.tri import LinearTriInterpolator, Triangulation

    xs, ys, z = _trench(90)
    ri, ci, zd = _lattice(xs, ys, z, 30)
    X, Y, Z, moved = valley_snapped(xs, ys, z, ri, ci, zd, 0.002 * np.ptp(z), log=True)
    assert moved.any()
    heights = drawn_heights(X, Y, Z, moved, xs[ci], ys[ri], xs, ys)
    iy, ix = (a.reshape(-1, 4) for a in corner_ids(*Z.shape))
    corners = np.where(splits_along_1_3(Z[iy, ix], moved[iy, ix])[:, None, None], TRIANGLES_1_3, TRIANGLES)
    q = np.arange(len(iy))[:, None, None]
    ids = (iy * Z.shape[1] + ix)[q, corners].reshape(-1, 3)
    tri = Triangulation(X.ravel(), Y.ravel(), ids)
    px, py = np.meshgrid(xs, ys)
    theirs = LinearTriInterpolator(tri, Z.ravel())(px, py)
    assert np.ma.count(theirs) > 0.98 * theirs.size  # all but points on the outline, where either may say
    np.testing.assert_allclose(heights[~theirs.mask], theirs[~theirs.mask], atol=1e-9)
    # Where no point moved the field is the lattice's own triangles: at the lattice points, its heights.
    np.testing.assert_allclose(heights[np.ix_(ri, ci)][~moved], Z[~moved], atol=1e-12)


def _core(quads):
    """Pixels whose 3 x 3 neighbourhood shows one quad: off the quads' edges, where either of two
    neighbours may take a pixel."""
    inner = quads[1:-1, 1:-1]
    h, w = quads.shape
    core = np.zeros(quads.shape, bool)
    core[1:-1, 1:-1] = np.logical_and.reduce([inner == quads[1 + a:h - 1 + a, 1 + b:w - 1 + b]
                                              for a in (-1, 0, 1) for b in (-1, 0, 1)])
    return core & (quads >= 0)


@pytest.mark.parametrize("name", ["rosenbrock_race", "optimizer_race"])
def test_the_surface_is_painted_back_to_front_as_a_z_buffer_sees_it(name, cache_dir):
    """The painter's algorithm on narrow valleys with steep walls: the quad painted last at each pixel is
    the one a z-buffer of the same triangles shows there. In mplot3d's order, by mean depth, a steep
    wall's quads came before flatter neighbours they stand behind, and the far wall of optimizer_race's
    valley showed through the near one in teeth (frame 120)."""
    from pathlib import Path

    from lossfilm.paint.surface import FastSurface
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.scene.loader import load_scenes
    from lossfilm.settings import Look
    from lossfilm.studio import landscape_for

    scene = load_scenes(Path(__file__).resolve().parents[1] / "scenes" / f"{name}.py")[0]
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    painter = Painter(land, plan(land, scene.camera, 240), scene.style, Look(854, 480, 40))
    try:
        painter.paint(120)
        ax = painter.ax
        surface = next(c for c in ax.collections if isinstance(c, FastSurface))
        n = len(surface._colors3d)
        code = np.arange(n) + 1
        surface._colors3d = np.column_stack([(code & 255) / 255, ((code >> 8) & 255) / 255, (code >> 16) / 255,
                                             np.ones(n)])
        # Each quad's two triangles as painted, every corner in the quad's own colour.
        surface._corner_colors = np.repeat(surface._colors3d, 4, axis=0)
        for artist in ax.get_children():
            if artist is not surface:
                artist.set_visible(False)

        def painted():
            painter.canvas.draw()
            rgb = np.asarray(painter.canvas.buffer_rgba())[..., :3].astype(np.int64)
            return rgb[..., 0] + (rgb[..., 1] << 8) + (rgb[..., 2] << 16) - 1

        ours = painted()
        truth = zbuffer(ax, surface, ours.shape)
        core = _core(truth)

        def by_mean_depth():
            v = ax.M @ surface._corners
            return np.argsort((v[2] / v[3]).reshape(-1, 4).mean(1))[::-1]

        surface._back_to_front = by_mean_depth
        theirs = painted()
    finally:
        painter.close()
    wrong, wrong_before = (ours != truth)[core].sum(), (theirs != truth)[core].sum()
    assert core.sum() > 5000
    assert wrong <= 0.0025 * core.sum() and wrong < wrong_before, (wrong, wrong_before, core.sum())


def test_a_narrow_valleys_walls_are_lit_evenly_along_it(cache_dir, monkeypatch):
    """The points beside a snapped floor lie between a half and one and a half facets from it, wherever
    the valley crosses the lattice, so hill-shading them lit the walls' triangles in teeth along the
    valley (Rosenbrock's near its minimum, frame 40). Near a floor in log z the light blends into a
    broad average: along lines parallel to the floor on both walls, the painted brightness varies
    about its trend a third as much as with each point's own light."""
    from mpl_toolkits.mplot3d import proj3d

    from lossfilm import Camera, Run, Scene, Style, surfaces
    from lossfilm.paint import painter as paint
    from lossfilm.plan import plan
    from lossfilm.settings import Look
    from lossfilm.studio import landscape_for

    across = float(np.hypot(1, SLOPE))
    scene = Scene(name="trench", surface=surfaces.function(
        lambda x, y: 1e-2 * (1 + 0.3 * x) + 400 * ((y - SLOPE * x - OFFSET) / across) ** 2,
        domain=((-1, 1), (-1, 1)), start=(-0.5, 0.5)), runs=[Run("sgd", lr=1e-4, steps=3)],
        camera=Camera(elevation=80, azimuth=-60),  # from above: both walls in view
        style=Style(zscale="log", floor=False, loss_curve=False, hud=False, title=""))
    land = landscape_for(scene, cache_dir=cache_dir)[0]

    def ripple():
        painter = paint.Painter(land, plan(land, scene.camera, 2), scene.style, Look(1280, 720, 60))
        try:
            lum = np.asarray(painter.paint(0))[..., :3].astype(float) @ [0.299, 0.587, 0.114]
            assert painter.field.mesh is not None  # the floor was snapped
            x = np.linspace(-0.7, 0.7, 600)
            cell = 2 / 54
            spread = []
            for d in (-0.9, -0.6, -0.3, 0.3, 0.6, 0.9):  # facets from the floor, on either wall
                y = SLOPE * x + OFFSET + d * cell * across
                z = painter.field.height(x, y)
                px, py, _ = proj3d.proj_transform(x, y, z, painter.ax.M)
                s = painter.ax.transData.transform(np.column_stack([px, py]))
                h, w = lum.shape
                v = lum[np.clip(np.round(h - s[:, 1]).astype(int), 0, h - 1),
                        np.clip(np.round(s[:, 0]).astype(int), 0, w - 1)]
                k = 41  # about three facets along the valley: the trend, not the teeth
                spread.append(np.std(v[k:-k] - np.convolve(v, np.ones(k) / k, mode="same")[k:-k]))
            return np.array(spread)
        finally:
            painter.close()

    ours = ripple()
    from lossfilm.paint import surface as drawn

    monkeypatch.setattr(drawn, "light_weights", lambda X, *a, **k: np.ones(X.shape))
    lit_throughout = ripple()
    assert (ours < 0.55 * lit_throughout).all() and ours.mean() < 0.4 * lit_throughout.mean(), (ours, lit_throughout)


def test_light_weights_fade_from_the_floor():
    """No light of its own on a floor point, all of it from `reach` steps away, rising smoothly between."""
    from lossfilm.paint.valleys import light_weights

    X, Y = np.meshgrid(np.arange(10.0), np.arange(8.0))
    moved = np.zeros(X.shape, bool)
    moved[4, 2] = True
    w = light_weights(X, Y, moved, 1.0, 1.0, reach=3.0)
    d = np.hypot(X - 2, Y - 4)
    assert w[4, 2] == 0 and (w[d >= 3] == 1).all() and ((w > 0) & (w < 1))[(d > 0) & (d < 3)].all()
    assert (np.diff(w[4, 2:]) >= 0).all()  # rising away from the floor


def test_a_quad_with_two_floor_points_on_a_diagonal_is_split_along_it():
    """A floor that rises along its valley can differ more between its two points than the walls'
    points across it happen to: by heights alone the split then cut across the floor (Rosenbrock at
    -q low, frame 40: notches in the valley's silhouette where the floor map showed through)."""
    z = np.array([[-0.81, 0.54, -0.73, 0.60]])  # corners 0 and 2 on the floor, 1 and 3 on either wall
    assert splits_along_1_3(z)[0]  # closest in height: the walls' diagonal
    assert not splits_along_1_3(z, np.array([[True, False, True, False]]))[0]
    assert splits_along_1_3(z[:, [1, 2, 3, 0]], np.array([[False, True, False, True]]))[0]
    both = np.array([[True, True, True, True]])  # no diagonal is the floor's alone: heights decide
    assert splits_along_1_3(z, both)[0]


@pytest.mark.parametrize("quads", [40, 60])
def test_the_drawn_floor_follows_rosenbrocks_valley_at_every_preset(cache_dir, quads):
    """Along Rosenbrock's valley floor (y = x^2, log z) the drawn surface stays within a few tenths of a
    decade of the true floor (or of the lattice's lowest point, where the floor goes deeper): no quad's
    split lifts it onto the walls (1.1 decades at -q low's 40 facets when heights alone chose)."""
    from pathlib import Path

    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.scene.loader import load_scenes
    from lossfilm.settings import Look
    from lossfilm.studio import landscape_for

    scene = load_scenes(Path(__file__).resolve().parents[1] / "scenes" / "rosenbrock_race.py")[0]
    land = landscape_for(scene, cache_dir=cache_dir)[0]
    painter = Painter(land, plan(land, scene.camera, 4), scene.style, Look(854, 480, quads))
    try:
        x = np.linspace(-1.6, 1.7, 2000)
        drawn = painter.field.height(x, x ** 2)
        truth = np.maximum(np.log10(np.maximum((1 - x) ** 2, 1e-300)), painter.field.mesh[2].min())
    finally:
        painter.close()
    assert (drawn - truth).max() < 0.4, (drawn - truth).max()
