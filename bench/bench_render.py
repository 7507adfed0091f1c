"""Render benchmark (fast rendering): ours against FuncAnimation + FFMpegWriter, against our own CPU
floor, -j 1 against -j 2, memory of a long clip against a short one, and cold against warm compute.

Every measurement runs in a fresh subprocess, interleaved with its comparison, and the medians of
--repeat rounds are printed.

    python bench/bench_render.py [--repeat 3] [--frames 120] [--size 800]
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

CACHE = Path(tempfile.gettempdir()) / "lossfilm-bench-cache"


def _scene():
    from lossfilm.scene.loader import load_scenes

    return load_scenes(ROOT / "scenes" / "article.py")[0]


def child_floor(frames: int, size: int, quality: str = "square") -> dict:
    """CPU seconds to paint one frame, and to encode one frame (ffmpeg's CPU), measured apart: at
    ``size`` x ``size`` with medium's encoder, or (``quality`` a preset's name) at that preset."""
    import numpy as np

    from lossfilm.output.encode import MP4Writer
    from lossfilm.settings import QUALITIES
    from lossfilm.settings import Look
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.studio import landscape_for

    scene = _scene()
    land = landscape_for(scene, cache_dir=CACHE)[0]
    preset = QUALITIES.get(quality, QUALITIES["medium"])
    w_h = (preset.width, preset.height) if quality in QUALITIES else (size, size)
    look = Look(*w_h, preset.surface_quads if quality in QUALITIES else 60)
    painter = Painter(land, plan(land, scene.camera, frames), scene.style, look)
    kept, paint_cpu = [], []
    for i in range(frames):
        c = time.process_time()
        kept.append(bytes(painter.paint(i)))
        paint_cpu.append(time.process_time() - c)
    with tempfile.TemporaryDirectory() as d:
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        w = MP4Writer(Path(d) / "f.mp4", w_h, preset.fps if quality in QUALITIES else 30, preset.x264_preset,
                      params=preset.x264_params).setup()
        c = time.process_time()
        for f in kept:
            w.grab_frame(f)
        w.finish()
        pipe_cpu = time.process_time() - c
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    ffmpeg_cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return {"paint": float(np.median(paint_cpu)), "encode": (ffmpeg_cpu + pipe_cpu) / frames}


def child_render(frames: int, size: int, jobs: int, quality: str = "square") -> dict:
    """As render.py does it: the workers start first and boot while the scene (and torch) loads. The
    render is timed from when they are up (``boot``: how long that took after the scene was loaded;
    render.py hides it behind the scene's load, bench_warm.py counts it in a warm render's fixed cost)."""
    from lossfilm._plumbing.executor import local

    pool = local(jobs) if jobs > 1 else None
    from lossfilm.studio import render

    scene = _scene()
    t = time.perf_counter()
    if pool:
        pool._pool  # noqa: B018 (waits for the workers)
    boot = time.perf_counter() - t
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        if quality == "square":
            result = render(scene, quality="medium", formats=["mp4"], out=d, fps=30, duration=frames / 30,
                            cache_dir=CACHE, size=(size, size), jobs=jobs, executor=pool)
        else:  # the preset as it is: its size, fps, facets and encoder
            fps = {"medium": 30, "high": 60}[quality]
            result = render(scene, quality=quality, formats=["mp4"], out=d, fps=fps, duration=frames / fps,
                            cache_dir=CACHE, jobs=jobs, executor=pool)
        seconds = time.perf_counter() - t
    if pool:
        pool.close()
    me = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"seconds": seconds, "boot": boot, "python_mb": me / 1024, "peak_mb": (me + kids) / 1024,
            "cache": result.cache}


def child_compute(cache_dir: str) -> dict:
    from lossfilm.studio import landscape_for

    scene = _scene()  # loading the scene file imports torch (its model): not the cache's cost
    t = time.perf_counter()
    state = landscape_for(scene, cache_dir=cache_dir)[1]
    return {"seconds": time.perf_counter() - t, "cache": state}


def spawn(*args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], check=True, capture_output=True,
                         text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--size", type=int, default=800)
    p.add_argument("--child", nargs="+")
    p.add_argument("--presets", nargs="*", default=["medium", "high"],
                   help="presets whose -j 2 render is held against their own CPU floor")
    a = p.parse_args()
    if a.child:
        kind, *rest = a.child
        fn = {"floor": child_floor, "render": child_render, "compute": child_compute}[kind]
        args = [int(v) if v.isdigit() else v for v in rest]
        print(json.dumps(fn(*args)))
        return
    import bench_film  # the FuncAnimation baseline

    cores = os.cpu_count() or 1
    spawn("compute", str(CACHE))  # warm the cache outside every timing
    naive, ours, ours2, floors, boots = [], [], [], [], []
    for _ in range(a.repeat):
        naive.append(bench_film.run("naive", a.frames, a.size)["seconds"])
        ours.append(spawn("render", a.frames, a.size, 1)["seconds"])
        two = spawn("render", a.frames, a.size, 2)
        ours2.append(two["seconds"])
        boots.append(two["boot"])
        floors.append(spawn("floor", a.frames, a.size))
    med = statistics.median
    paint, encode = med(f["paint"] for f in floors), med(f["encode"] for f in floors)
    floor = (paint + encode) * a.frames / cores
    print(f"{a.frames} frames at {a.size}x{a.size}, {cores} cores, medians of {a.repeat} interleaved rounds")
    print(f"FuncAnimation + FFMpegWriter: {med(naive):.2f} s ({1000 * med(naive) / a.frames:.1f} ms/frame)")
    print(f"ours -j 1: {med(ours):.2f} s ({1000 * med(ours) / a.frames:.1f} ms/frame)  "
          f"speed-up {med(naive) / med(ours):.2f}x (target >= 3x)")
    print(f"ours -j 2: {med(ours2):.2f} s once its workers were up (-j 2 / -j 1 time: {med(ours2) / med(ours):.2f}); "
          f"their boot after the scene had loaded: {med(boots):.2f} s (render.py starts them before loading the "
          f"scene; bench_warm.py counts what is left of it in a warm render's fixed cost)")
    print(f"CPU per frame: paint {1000 * paint:.1f} ms + encode {1000 * encode:.1f} ms -> floor "
          f"{floor:.2f} s on {cores} cores; ours is {med(ours2) / floor:.2f}x the floor with -j 2 (the default "
          f"here), {med(ours) / floor:.2f}x with -j 1 (target <= 1.3x)")
    print(f"speed-up with -j 2 vs FuncAnimation: {med(naive) / med(ours2):.2f}x, "
          f"{med(naive) / (med(ours2) + med(boots)):.2f}x counting the workers' boot")

    short, long = spawn("render", 60, a.size, 1), spawn("render", 600, a.size, 1)
    print(f"peak RSS (Python + ffmpeg): 60 frames {short['peak_mb']:.0f} MB, 600 frames {long['peak_mb']:.0f} MB "
          f"(ratio {long['peak_mb'] / short['peak_mb']:.2f}, target <= 1.2); Python alone "
          f"{short['python_mb']:.0f} / {long['python_mb']:.0f} MB")

    for quality in a.presets:  # each preset against its own floor
        walls, floors_q, boots_q = [], [], []
        for _ in range(a.repeat):
            run = spawn("render", a.frames, 0, cores, quality)
            walls.append(run["seconds"])
            boots_q.append(run["boot"])
            floors_q.append(spawn("floor", a.frames, 0, quality))
        paint_q, encode_q = med(f["paint"] for f in floors_q), med(f["encode"] for f in floors_q)
        floor_q = (paint_q + encode_q) * a.frames / cores
        print(f"-q {quality}: paint {1000 * paint_q:.1f} ms + encode {1000 * encode_q:.1f} ms CPU per frame -> floor "
              f"{floor_q:.2f} s for {a.frames} frames; -j {cores} took {med(walls):.2f} s = {med(walls) / floor_q:.2f}x "
              f"the floor (target <= 1.3x); with the workers' boot ({med(boots_q):.2f} s) "
              f"{(med(walls) + med(boots_q)) / floor_q:.2f}x")

    with tempfile.TemporaryDirectory() as d:
        cold, warm = spawn("compute", d), spawn("compute", d)
    print(f"compute: cold {cold['seconds']:.2f} s ({cold['cache']}), warm {warm['seconds']:.3f} s ({warm['cache']})")


if __name__ == "__main__":
    main()
