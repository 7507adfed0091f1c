"""Film benchmark: matplotlib FuncAnimation + FFMpegWriter (the naive way) against our renderer.

Same surface (the article's true-MSE landscape), same camera orbit, same growing path, same frame
count and size. Each run happens in a fresh subprocess so that its peak memory (RSS of Python plus
its ffmpeg child) is its own. Prints seconds, ms per frame, the ratio and peak memory; our renderer is
also run at 4x the frames to show that its memory does not grow with the clip.

    python bench/bench_film.py [--frames 120] [--size 800] [--repeat 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _landscape():
    from lossfilm.scene.loader import load_scenes
    from lossfilm.studio import landscape_for

    scene = load_scenes(ROOT / "scenes" / "article.py")[0]
    return scene, landscape_for(scene, cache_dir=Path(tempfile.gettempdir()) / "lossfilm-bench-cache")[0]


def naive_animation(land, frames: int, width: int, height: int):
    """What a user writes first: pyplot, FuncAnimation, default plot_surface, full axes. Returns the
    animation, ready to be saved with FFMpegWriter."""
    import matplotlib

    matplotlib.use("Agg")
    import imageio_ffmpeg
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.animation import FuncAnimation

    matplotlib.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    A, B = np.meshgrid(land.alphas, land.betas)
    trace = land.traces[0]
    fig = plt.figure(figsize=(width / 100, height / 100), dpi=100)
    ax = fig.add_subplot(projection="3d")
    ax.plot_surface(A, B, land.loss, cmap="viridis")
    line, = ax.plot([], [], [], color="red", lw=2)
    steps = np.linspace(0, trace.steps, frames).astype(int)

    def update(i):
        s = steps[i]
        line.set_data_3d(trace.alpha[:s + 1], trace.beta[:s + 1], trace.loss[:s + 1])
        ax.view_init(30, -60 + 360 * i / frames)
        return (line,)

    return FuncAnimation(fig, update, frames=frames)


def naive(frames: int, size: int, out: str) -> None:
    """The FuncAnimation baseline at size x size, written with FFMpegWriter."""
    from matplotlib.animation import FFMpegWriter

    _, land = _landscape()
    naive_animation(land, frames, size, size).save(out, writer=FFMpegWriter(fps=30, codec="libx264"))


def ours(frames: int, size: int, out: str) -> None:
    from lossfilm.output.encode import MP4Writer
    from lossfilm.settings import QUALITIES
    from lossfilm.settings import Look
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan

    scene, land = _landscape()
    painter = Painter(land, plan(land, scene.camera, frames), scene.style, Look(size, size, 60))
    writer = MP4Writer(Path(out), (size, size), 30, QUALITIES["medium"].x264_preset,
                         params=QUALITIES["medium"].x264_params).setup()
    for i in range(frames):
        writer.grab_frame(painter.paint(i))
    writer.finish()


def child(kind: str, frames: int, size: int) -> None:
    import resource

    with tempfile.TemporaryDirectory() as d:
        _landscape()  # warm the shared cache outside the timing
        t = time.perf_counter()
        {"naive": naive, "ours": ours}[kind](frames, size, os.path.join(d, "film.mp4"))
        seconds = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss + resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024}))


def run(kind: str, frames: int, size: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--frames", str(frames), "--size", str(size)]
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, cwd=ROOT).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--frames", type=int, default=120)
    p.add_argument("--size", type=int, default=800)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--child", choices=["naive", "ours"])
    a = p.parse_args()
    if a.child:
        return child(a.child, a.frames, a.size)
    _landscape()  # warm the cache here, so no child's peak memory includes training
    results = {"naive": [], "ours": []}
    for _ in range(a.repeat):  # interleaved, so machine noise hits both alike
        for kind in results:
            results[kind].append(run(kind, a.frames, a.size))
    med = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
    peak = {k: max(r["peak_mb"] for r in v) for k, v in results.items()}
    long = run("ours", a.frames * 4, a.size)
    for k in results:
        print(f"{k:>6}: {med[k]:7.2f} s median of {a.repeat} ({1000 * med[k] / a.frames:6.1f} ms/frame), "
              f"peak {peak[k]:6.0f} MB   runs: " + ", ".join(f"{r['seconds']:.2f}" for r in results[k]))
    print(f"speed-up ours vs FuncAnimation+FFMpegWriter: {med['naive'] / med['ours']:.2f}x (target >= 2x)")
    print(f"peak memory ours: {peak['ours']:.0f} MB at {a.frames} frames, {long['peak_mb']:.0f} MB at "
          f"{a.frames * 4} frames (ratio {long['peak_mb'] / peak['ours']:.2f})")


if __name__ == "__main__":
    main()
