"""The raster kernel (lossfilm/raster.c) that paints the surface's smooth shading, against independent
computations and against matplotlib's own draw_gouraud_triangles, and its fallback."""
import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.transforms import IdentityTransform

from lossfilm._plumbing import cbuild
from lossfilm.paint import raster

needs_kernel = pytest.mark.skipif(raster.load() is None, reason=f"no raster kernel here: {raster.status}")


def _blank(rows=40, cols=60):
    image = np.zeros((rows, cols, 4), np.uint8)
    image[..., 3] = 255
    return image


def _mesh(n=24, width=640, height=360):
    """A wavy n x n grid of quads on screen, its two triangles per quad, colours smooth over the grid."""
    x, y = np.meshgrid(np.linspace(80, width - 80, n + 1), np.linspace(60, height - 60, n + 1))
    y = y + 25 * np.sin(x / 60)
    quads = np.stack([x[:-1, :-1], y[:-1, :-1], x[:-1, 1:], y[:-1, 1:], x[1:, 1:], y[1:, 1:], x[1:, :-1],
                      y[1:, :-1]], -1).reshape(-1, 4, 2)
    tri = quads[:, [[0, 1, 2], [0, 2, 3]]].reshape(-1, 3, 2)
    grid = np.stack([np.sin(x / 150) ** 2, np.cos(y / 110) ** 2, 0.4 + 0 * x, 1 + 0 * x], -1)
    corners = np.stack([grid[:-1, :-1], grid[:-1, 1:], grid[1:, 1:], grid[1:, :-1]], 2).reshape(-1, 4, 4)
    colors = corners[:, [[0, 1, 2], [0, 2, 3]]].reshape(-1, 3, 4)
    ids = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    qv = np.stack([ids[:-1, :-1], ids[:-1, 1:], ids[1:, 1:], ids[1:, :-1]], -1).reshape(-1, 4)
    return tri, colors, qv[:, [[0, 1, 2], [0, 2, 3]]].reshape(-1, 3)


@needs_kernel
def test_inside_a_triangle_the_colour_is_the_barycentric_blend_of_its_corners():
    image = _blank()
    tri = np.array([[[5.0, 5.0], [55.0, 8.0], [20.0, 36.0]]])  # display pixels, y up
    colors = np.array([[[1, 0, 0, 1], [0, 1, 0, 1], [0, 0, 1, 1]]], float)
    assert raster.gouraud(image, tri, colors)
    a, b, c = tri[0]
    for col, row in [(20, 25), (30, 20), (40, 28), (15, 30)]:
        px, py = col + 0.5, 40 - (row + 0.5)  # the pixel's centre in display coordinates
        m = np.array([[a[0], b[0], c[0]], [a[1], b[1], c[1]], [1, 1, 1]])
        w = np.linalg.solve(m, [px, py, 1])
        assert (w > 0.05).all()  # well inside
        assert np.abs(image[row, col, :3] - 255 * w).max() <= 1.01


@needs_kernel
def test_an_outline_edge_is_anti_aliased_and_pixels_outside_are_untouched():
    image = _blank(20, 20)
    tri = np.array([[[2.0, 2.0], [18.0, 2.0], [18.0, 18.0]]])  # its bottom edge on the pixel border y = 2
    raster.gouraud(image, tri, np.ones((1, 3, 4)))
    assert image[16, 10, 0] == 255  # centre half a pixel inside
    assert 120 <= image[18, 10, 0] <= 135  # centre half a pixel outside: half covered
    assert image[19, 10, 0] == 0 and image[5, 3, 0] == 0  # well outside
    assert (image[..., 3] == 255).all()


@needs_kernel
def test_a_mesh_matches_matplotlibs_gouraud_triangles_but_on_its_outline():
    tri, colors, corners = _mesh()
    fig = Figure(figsize=(6.4, 3.6), dpi=100, facecolor="black")
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    renderer = canvas.get_renderer()
    agg = raster.pixels(renderer)
    renderer.draw_gouraud_triangles(renderer.new_gc(), tri, colors, IdentityTransform())
    theirs = agg.copy()
    ours = _blank(360, 640)
    smooth = raster.outline_edges(raster.neighbours(corners), corners, tri)
    assert raster.gouraud(ours, tri, colors, smooth)
    diff = np.abs(ours.astype(int) - theirs.astype(int))[..., :3].max(-1)
    inner = np.zeros_like(diff, bool)
    inner[90:270, 90:550] = True  # away from the outline (y 60..300, +- 25, on screen)
    # Interior: the same blend, up to rounding (Agg interpolates colours on its own sub-pixel grid).
    assert diff[inner].max() <= 6 and np.percentile(diff[inner], 99) <= 3
    assert diff.mean() < 1.0
    # Only the outline's triangles are smoothed; the interior's seams are cut hard (and never show).
    assert 0 < (smooth > 0).sum() < 0.2 * len(smooth)


def _grid(n):
    ids = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    quads = np.stack([ids[:-1, :-1], ids[:-1, 1:], ids[1:, 1:], ids[1:, :-1]], -1).reshape(-1, 4)
    corners = quads[:, [[0, 1, 2], [0, 2, 3]]].reshape(-1, 3)
    points = np.stack([ids % (n + 1), ids // (n + 1)], -1).reshape(-1, 2).astype(float)
    return corners, points


def test_neighbours_are_the_triangles_across_each_edge():
    corners = np.array([[0, 1, 2], [1, 3, 2], [2, 3, 4]])  # a strip of three triangles
    assert raster.neighbours(corners).tolist() == [[1, -1, -1], [2, 0, -1], [-1, -1, 1]]


def test_the_outline_is_the_border_and_the_folds_and_the_triangles_touching_them():
    corners, points = _grid(6)
    across = raster.neighbours(corners)
    flat = raster.outline_edges(across, corners, points[corners])
    touches_border = (points[corners] % 6 == 0).any((1, 2))
    assert ((flat == 7) == touches_border).all() and (flat[~touches_border] == 0).all()
    # Fold the sheet back along the column x = 3: the triangles beyond it face the other way on screen.
    folded = points.copy()
    folded[:, 0] = np.where(folded[:, 0] > 3, 6 - folded[:, 0], folded[:, 0])
    bits = raster.outline_edges(across, corners, folded[corners])
    at_fold = (points[corners][..., 0] == 3).any(1)
    assert (bits[at_fold] == 7).all()  # they touch the fold, the outline on screen
    assert (bits[~at_fold & ~touches_border] == 0).all()


def test_without_the_kernel_the_painter_draws_with_matplotlib(monkeypatch):
    monkeypatch.setattr(raster, "_tried", False)
    monkeypatch.setattr(raster, "_lib", None)
    monkeypatch.setattr(cbuild, "compiler", lambda: None)
    assert raster.load() is None and "compiler" in raster.status
    assert not raster.gouraud(_blank(), np.zeros((1, 3, 2)), np.ones((1, 3, 4)))


@needs_kernel
def test_a_sprite_pastes_the_same_through_the_kernel_as_through_numpy(monkeypatch):
    from lossfilm.paint.sprites import TextSprites

    sprite = TextSprites(100).get("f(x, y) 0.0123", "#ffd166", 14)
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (60, 200, 4), dtype=np.uint8)
    ours = frame.copy()
    for x, y in [(100.2, 30.7), (5, 5), (195, 58)]:  # inside, and cut by the frame's edges
        sprite.paste(ours, x, y)
    monkeypatch.setattr(raster, "composite", lambda *a: False)
    theirs = frame.copy()
    for x, y in [(100.2, 30.7), (5, 5), (195, 58)]:
        sprite.paste(theirs, x, y)
    assert (ours != frame).any() and np.array_equal(ours, theirs)


@needs_kernel
@pytest.mark.parametrize("perspective", [False, True])
def test_the_c_occlusion_march_answers_as_the_numpy_one(monkeypatch, perspective):
    """HeightField.hidden in C and in numpy: the same answer for every point, points off the map and
    NaN (a diverged run) included; and an independent check on a flat wall in front of the camera."""
    from lossfilm.paint.geometry import HeightField

    rng = np.random.default_rng(1)
    xs, ys = np.linspace(-2, 2, 57), np.linspace(-1, 3, 43)
    z = np.sin(2 * xs[None]) * np.cos(ys[:, None]) * 3 + rng.normal(0, 0.1, (43, 57))
    field = HeightField(xs, ys, z, (z.min(), z.max()))
    pts = np.column_stack([rng.uniform(-2.5, 2.5, 4000), rng.uniform(-1.5, 3.5, 4000), rng.uniform(-3, 3, 4000)])
    pts[::97] = np.nan
    eye = np.array([3.0, -2.0, 4.0]) if perspective else None
    fast = field.hidden(pts, 30, 25, eye)
    monkeypatch.setattr(raster, "hidden", lambda *a, **k: None)  # as without a compiler
    slow = field.hidden(pts, 30, 25, eye)
    assert 0.2 < fast.mean() < 0.8 and np.array_equal(fast, slow)
    monkeypatch.undo()
    # A surface of height 0 everywhere but a wall (height 3) along x = 1: seen from +x at the wall's
    # foot height, a point behind the wall (x < 1, low) is hidden, one in front of it (x > 1) is not.
    wall = np.where(np.abs(xs - 1) < 0.05, 3.0, 0.0)[None].repeat(len(ys), 0)
    field = HeightField(xs, ys, wall, (0.0, 3.0))
    probe = np.array([[0.0, 1.0, 0.3], [1.6, 1.0, 0.3], [0.0, 1.0, 3.0]])
    assert field.hidden(probe, 0.0, 5.0).tolist() == [True, False, False]


@pytest.mark.parametrize("kernel", [True, False], ids=["C", "numpy"])
def test_the_march_finds_a_ridge_one_cell_wide_and_a_rim_at_the_maps_edge(monkeypatch, kernel):
    """The march samples the surface wherever the ray crosses a grid line and where it leaves the map,
    so no ridge is too narrow for it and a rim on the map's last line still hides what lies behind it
    (a march at fixed distances steps over both: Himmelblau's steep edge, 5 % agreement with a z-buffer)."""
    from lossfilm.paint.geometry import HeightField

    if not kernel:
        monkeypatch.setattr(raster, "hidden", lambda *a, **k: None)
    xs, ys = np.linspace(-2, 2, 401), np.linspace(-1, 1, 21)  # cells 0.01 wide in x
    for line in (250, 400):  # a ridge on the grid line x = 0.5, 0.02 wide at its foot; a rim at x = 2
        z = np.zeros((len(ys), len(xs)))
        z[:, line] = 3.0
        field = HeightField(xs, ys, z, (0.0, 3.0))
        behind = np.array([[0.0, 0.0, 0.2], [-1.0, 0.3, 0.5]])  # looking along +x, low over the ground
        beyond = np.array([[xs[line] + 0.05, 0.0, 0.2]]) if line < 400 else np.empty((0, 3))
        assert field.hidden(behind, 0.0, 8.0).all(), line
        assert not field.hidden(beyond, 0.0, 8.0).any(), line
        assert not field.hidden(behind, 180.0, 8.0).any(), line  # looking the other way


@needs_kernel
def test_the_encoders_yuv420_is_bt709_against_a_float_computation():
    """raster.yuv420: Y per pixel and Cb, Cr from each 2 x 2 block's mean colour, in BT.709's limited
    range, within one level of the formula computed in float64; odd sizes are refused."""
    rng = np.random.default_rng(3)
    frame = rng.integers(0, 256, (36, 50, 4), dtype=np.uint8)
    frame[:12, :10, :3] = (0, 255, 0)  # flat patches: exact levels
    frame[12:24, :10, :3] = (255, 255, 255)
    frame[24:, :10, :3] = 0
    out = raster.yuv420(frame)
    r, g, b = (frame[..., k].astype(np.float64) for k in range(3))
    y = 16 + 219 / 255 * (0.2126 * r + 0.7152 * g + 0.0722 * b)

    def mean(a):
        return a.reshape(18, 2, 25, 2).mean((1, 3))

    R, G, B = mean(r), mean(g), mean(b)
    luma = 0.2126 * R + 0.7152 * G + 0.0722 * B
    cb = 128 + 224 / 255 * (B - luma) / 1.8556
    cr = 128 + 224 / 255 * (R - luma) / 1.5748
    want = np.concatenate([y.ravel(), cb.ravel(), cr.ravel()])
    assert out.shape == (36 * 50 * 3 // 2,) and np.abs(out - np.round(want)).max() <= 1
    planes = out[:1800].reshape(36, 50), out[1800:2250].reshape(18, 25), out[2250:].reshape(18, 25)
    assert planes[0][0, 0] == 173 and planes[0][12, 0] == 235 and planes[0][24, 0] == 16
    assert planes[1][6, 0] == planes[2][6, 0] == 128  # white has no colour
    assert raster.yuv420(frame[:35]) is None and raster.yuv420(frame[:, :49]) is None
