"""A warm re-render as whole processes: `python render.py scenes/article.py -q medium --duration 4`
(1280x720, 120 frames, MP4) with its numbers cached, against a whole-process matplotlib FuncAnimation +
FFMpegWriter script that loads the same cached numbers and writes the same clip. Interleaved rounds,
medians; prints each one's start-up (whole process minus its own painting and encoding) and the ratio.

    python bench/bench_warm.py [--repeat 5]

Targets: ours at least 3x faster as a whole process; our fixed cost (start-up) at most 1 s.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CACHE = Path(tempfile.gettempdir()) / "lossfilm-bench-warm-cache"
COMMON = [str(ROOT / "scenes" / "article.py"), "-q", "medium", "--duration", "4", "--format", "mp4",
          "--cache-dir", str(CACHE), "--json"]


def naive_child(out: str) -> None:
    """The genre's usual script (bench_film's FuncAnimation baseline) at 1280x720 on the cached numbers."""
    t0 = time.perf_counter()
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "bench"))
    from bench_film import naive_animation
    from matplotlib.animation import FFMpegWriter

    from lossfilm.compute import cache
    from lossfilm.scene.loader import load_scenes

    land = cache.load(cache.path_for(load_scenes(ROOT / "scenes" / "article.py")[0], CACHE))
    anim = naive_animation(land, 120, 1280, 720)
    t1 = time.perf_counter()
    anim.save(out, writer=FFMpegWriter(fps=30, codec="libx264"))
    print(json.dumps({"startup": t1 - t0, "film": time.perf_counter() - t1}))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--child", metavar="OUT")
    a = p.parse_args()
    if a.child:
        return naive_child(a.child)
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([sys.executable, str(ROOT / "render.py"), *COMMON, "-o", d], check=True, capture_output=True)
        ours, fixed, naive, naive_start = [], [], [], []
        for _ in range(a.repeat):
            t = time.perf_counter()
            out = subprocess.run([sys.executable, str(ROOT / "render.py"), *COMMON, "-o", d], check=True,
                                 capture_output=True, text=True).stdout
            wall = time.perf_counter() - t
            report = json.loads(out.strip().splitlines()[-1])
            assert report["cache"] == "hit"
            ours.append(wall)
            fixed.append(wall - report["seconds"]["paint"] - report["seconds"]["encode"])
            t = time.perf_counter()
            out = subprocess.run([sys.executable, __file__, "--child", f"{d}/naive.mp4"], check=True,
                                 capture_output=True, text=True).stdout
            naive.append(time.perf_counter() - t)
            naive_start.append(naive[-1] - json.loads(out.strip().splitlines()[-1])["film"])
    med = statistics.median
    print(f"warm 4-s 720p clip (120 frames), whole processes, medians of {a.repeat} interleaved rounds")
    print(f"FuncAnimation + FFMpegWriter: {med(naive):.2f} s, of which start-up {med(naive_start):.2f} s")
    print(f"ours (render.py, cache hit): {med(ours):.2f} s, of which fixed cost {med(fixed):.2f} s "
          f"(target <= 1 s)")
    print(f"speed-up {med(naive) / med(ours):.2f}x (target >= 3x); runs {[round(x, 2) for x in ours]}")


if __name__ == "__main__":
    main()
