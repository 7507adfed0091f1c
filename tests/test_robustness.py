"""Interruptions, concurrent renders, write failures, determinism: nothing broken is ever left behind."""
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
LONG = ["scenes/article.py", "-q", "low", "--duration", "60", "--format", "mp4", "gif"]


def start(out, *args, cache_dir, **kw):
    return subprocess.Popen([sys.executable, str(ROOT / "render.py"), *args, "-o", str(out),
                             "--cache-dir", str(cache_dir)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **kw)


def wait_for_parts(out, proc, timeout=120):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if out.exists() and any(".part." in p.name for p in out.iterdir()):
            time.sleep(0.5)  # some frames into the film
            return
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.05)
    raise AssertionError("the render never started writing")


@pytest.mark.parametrize("sig,code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_an_interrupted_render_exits_cleanly_and_leaves_nothing(tmp_path, cache_dir, article_landscape, sig, code):
    out = tmp_path / "out"
    proc = start(out, *LONG, cache_dir=cache_dir)
    wait_for_parts(out, proc)
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert list(out.iterdir()) == []


def test_after_a_sigkill_only_temporary_files_remain_and_the_next_render_removes_them(tmp_path, cache_dir,
                                                                                      article_landscape):
    out = tmp_path / "out"
    proc = start(out, *LONG, cache_dir=cache_dir)
    wait_for_parts(out, proc)
    proc.kill()
    proc.communicate(timeout=60)
    time.sleep(0.5)  # ffmpeg sees the pipe close and exits
    left = list(out.iterdir())
    assert left and all(".part." in p.name for p in left)
    again = start(out, "scenes/article.py", "-q", "low", "--duration", "0.4", "--format", "mp4",
                  cache_dir=cache_dir)
    _, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["article.mp4"]


def test_two_renders_of_one_scene_at_once_leave_a_whole_film_and_a_whole_cache(tmp_path):
    out, cache = tmp_path / "out", tmp_path / "cache"
    args = ["scenes/article.py", "-q", "low", "--fps", "10", "--duration", "2", "--format", "mp4", "--json"]
    procs = [start(out, *args, cache_dir=cache) for _ in range(2)]
    reports = []
    for p in procs:
        stdout, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        reports.append(json.loads(stdout))
    assert sorted(p.name for p in out.iterdir()) == ["article.mp4"]
    assert imageio_ffmpeg.count_frames_and_secs(str(out / "article.mp4"))[0] == 20
    [npz] = list(cache.iterdir())
    with np.load(npz, allow_pickle=False) as z:
        assert z["loss"].shape[0] > 0


def test_a_write_failure_mid_render_exits_1_with_the_reason_and_no_file(tmp_path, cache_dir, article_landscape):
    out = tmp_path / "out"
    # The file-size limit makes every write past 200 KB fail, as a full disk would.
    proc = subprocess.run(["bash", "-c", f"ulimit -f 200; exec {sys.executable} render.py scenes/article.py "
                           f"-q low --duration 20 --format mp4 -o {out} --cache-dir {cache_dir}"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr
    assert "ffmpeg" in proc.stderr and "error" in proc.stderr
    assert not any(p.name == "article.mp4" for p in out.iterdir())
    assert not any(".part." in p.name for p in out.iterdir())


def test_a_corrupted_cache_file_is_recomputed_with_a_warning(tmp_path, article):
    import dataclasses


    from lossfilm.studio import landscape_for

    scene = dataclasses.replace(article, runs=[dataclasses.replace(article.runs[0], epochs=1)])
    first, state = landscape_for(scene, cache_dir=tmp_path)
    assert state == "miss"
    [path] = list(tmp_path.glob("*.npz"))
    path.write_bytes(path.read_bytes()[:100])  # truncated
    with pytest.warns(RuntimeWarning, match="unreadable"):
        again, state = landscape_for(scene, cache_dir=tmp_path)
    assert state == "miss"
    np.testing.assert_array_equal(again.loss, first.loss)
    assert landscape_for(scene, cache_dir=tmp_path)[1] == "hit"


def test_the_cache_key_is_stable_across_processes():
    code = ("import sys; sys.path.insert(0, '.'); from lossfilm.scene.loader import load_scenes; "
            "from lossfilm.compute.cache import key; print(key(load_scenes('scenes/article.py')[0]))")
    keys = {subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                           env={**os.environ, "PYTHONHASHSEED": str(seed)}).stdout.strip() for seed in (1, 2)}
    assert len(keys) == 1 and len(keys.pop()) == 24


def test_the_cache_key_changes_with_any_field_that_changes_the_numbers(article):
    import dataclasses

    from lossfilm import Grid, WeightsPlane, datasets
    from lossfilm.compute.cache import key

    base = key(article)
    run = article.runs[0]
    variants = [
        dataclasses.replace(article, runs=[dataclasses.replace(run, lr=0.02)]),
        dataclasses.replace(article, runs=[dataclasses.replace(run, epochs=24)]),
        dataclasses.replace(article, runs=[dataclasses.replace(run, optimizer="adam")]),
        dataclasses.replace(article, loss="as_published"),
        dataclasses.replace(article, grid=Grid(step=0.1)),
        dataclasses.replace(article, plane=WeightsPlane("2.weight", "0.weight")),
        dataclasses.replace(article, init={"0.weight": -1.0, "2.weight": -0.5}),
        dataclasses.replace(article, data=datasets.piecewise(seed=43)),
    ]
    keys = {key(v) for v in variants}
    assert base not in keys and len(keys) == len(variants)
    # camera, style text and duration do not change the numbers
    same = dataclasses.replace(article, duration=3.0, camera=dataclasses.replace(article.camera, turns=0.5))
    assert key(same) == base


def test_aborting_a_pool_whose_workers_are_still_starting_never_hangs():
    """A bad scene file fails within milliseconds of the pool's start; about one abort in 40 then met a
    worker that outlived terminate()'s SIGTERM and hung the join forever. The abort has a deadline."""
    import time

    from lossfilm._plumbing.executor import LocalProcesses

    for _ in range(12):
        pool = LocalProcesses(2)
        workers = list(pool._pool._pool)
        t = time.perf_counter()
        pool.abort()
        assert time.perf_counter() - t < 2 * LocalProcesses.ABORT_GRACE_S + 2
        assert not any(w.is_alive() for w in workers)
