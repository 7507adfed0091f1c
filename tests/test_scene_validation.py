"""Scene validation, property-based: every value is accepted exactly when it makes sense, and every
rejection is a SceneError naming the field (never a stray TypeError from deep inside a render)."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lossfilm import Camera, Grid, Run, Scene, Style, WeightsPlane, datasets, models
from lossfilm.errors import SceneError

anything = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=5),
                     st.floats(allow_nan=True, allow_infinity=True), st.lists(st.integers(), max_size=3))
numbers = st.floats(allow_nan=True, allow_infinity=True, width=64)


@given(lr=st.one_of(numbers, anything))
def test_run_lr_is_accepted_iff_a_positive_finite_number(lr):
    ok = (isinstance(lr, (int, float)) and not isinstance(lr, bool) and math.isfinite(lr) and lr > 0)
    if lr == "tune":  # the lr search (surfaces)
        assert Run(lr=lr).lr == "tune"
    elif ok:
        assert Run(lr=lr).lr == float(lr)
    else:
        with pytest.raises(SceneError, match=r"^run\.lr: expected"):
            Run(lr=lr)


@given(epochs=anything, batch=anything)
def test_run_counts_are_non_negative_integers(epochs, batch):
    def good(v, low):
        return isinstance(v, int) and not isinstance(v, bool) and v >= low

    if good(epochs, 0) and good(batch, 1):
        Run(epochs=epochs, batch_size=batch)
    else:
        with pytest.raises(SceneError, match=r"^run\.(epochs|batch_size): expected an integer"):
            Run(epochs=epochs, batch_size=batch)


@given(name=st.text(max_size=12))
def test_optimizer_names(name):
    from lossfilm.scene.optimizers import OPTIMIZERS

    if name.lower() in OPTIMIZERS:  # the table's names, any case (hypothesis found "ADAMAX")
        assert Run(optimizer=name).optimizer == name.lower()
    else:
        with pytest.raises(SceneError, match=r"^run\.optimizer: expected one of"):
            Run(optimizer=name)


@settings(max_examples=200, deadline=None)
@given(lo=numbers, hi=numbers, step=numbers)
def test_grid_ranges_and_steps(lo, hi, step):
    try:
        grid = Grid(a=(lo, hi), b=(-1, 1), step=step)
    except SceneError as exc:
        assert exc.field in ("grid", "grid.a", "grid.step")
        finite = all(math.isfinite(v) for v in (lo, hi, step))
        if finite and step > 0 and lo < hi:
            with np.errstate(over="ignore"):
                na, nb = np.ceil((hi - lo) / step), np.ceil(2 / step)  # floats: may be inf
                assert min(na, nb) < 2 or na * nb > Grid().max_points
    else:
        assert lo < hi and step > 0 and min(grid.shape()) >= 2
        assert grid.shape() == (len(np.arange(-1, 1, step)), len(np.arange(lo, hi, step)))


@given(elevation=numbers, zoom=numbers)
def test_camera(elevation, zoom):
    ok = math.isfinite(elevation) and -90 <= elevation <= 90 and math.isfinite(zoom) and zoom > 0
    if ok:
        Camera(elevation=elevation, zoom=zoom)
    else:
        with pytest.raises(SceneError, match=r"^camera\.(elevation|zoom): expected"):
            Camera(elevation=elevation, zoom=zoom)


@given(theme=st.text(max_size=6), cmap=st.sampled_from(["viridis", "magma", "nope", ""]))
def test_style(theme, cmap):
    if theme in ("dark", "light") and cmap in ("viridis", "magma"):
        Style(theme=theme, cmap=cmap)
    else:
        with pytest.raises(SceneError, match=r"^style\.(theme|cmap): expected"):
            Style(theme=theme, cmap=cmap)


DATA = datasets.piecewise(n=200)


@given(duration=st.one_of(numbers, anything), fps=st.one_of(st.none(), st.integers(-5, 120)))
def test_scene_duration_and_fps(duration, fps):
    def make():
        return Scene(name="s", data=DATA, model=models.article_net, plane=WeightsPlane("0.weight", "2.weight"),
                     duration=duration, fps=fps)

    ok_duration = (isinstance(duration, (int, float)) and not isinstance(duration, bool)
                   and math.isfinite(duration) and duration > 0)
    if ok_duration and (fps is None or fps >= 1):
        make()
    else:
        with pytest.raises(SceneError, match=r"^(duration|fps): expected"):
            make()


@pytest.mark.parametrize("kwargs,field", [
    (dict(name="a b"), "name"),
    (dict(model="not callable"), "model"),
    (dict(runs=[]), "runs"),
    (dict(plane=None), "plane"),
    (dict(loss="l1"), "loss"),
    (dict(init={"0.weight": "x"}), "init['0.weight']"),
    (dict(grid=Grid(step=0.005), memory_mb=1), "grid"),
])
def test_scene_fields(kwargs, field):
    base = dict(name="s", data=DATA, model=models.article_net, plane=WeightsPlane("0.weight", "2.weight"))
    with pytest.raises(SceneError) as info:
        Scene(**{**base, **kwargs})
    assert info.value.field == field


def test_weights_plane_names():
    with pytest.raises(SceneError, match=r"^plane\.a"):
        WeightsPlane("bad name!", "x")
    with pytest.raises(SceneError, match=r"^plane\.b: expected a parameter other than plane\.a"):
        WeightsPlane("w", "w")
