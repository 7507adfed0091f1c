"""What an evolving film costs (scenes/spirals_evolving.py: K = 20 surfaces at 60 x 60) against the same
scene still (one surface), in the same run, interleaved, medians of --repeat, the load beside them.

* compute: the surface stage of each (from the moment compute starts the grid to its end; training is
  the same work in both and printed apart). The issue's bound: K surfaces cost at most K x one surface.
* paint: milliseconds per frame of a morph film against a still film of the same scene at 720p, the
  same camera and frames. The issue's bound: a morph frame at most 1.2 x a still one.

    python bench/bench_evolve.py [--repeat 3] [--frames 60]
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import resource
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed_compute(scene):
    """(seconds of the surface stage, seconds of the whole compute, landscape)."""
    from lossfilm.compute.build import compute

    marks = {}

    def progress(stage, total):
        marks.setdefault(stage, time.perf_counter())
        return None

    t0 = time.perf_counter()
    land = compute(scene, progress)
    end = time.perf_counter()
    start = next(v for k, v in marks.items() if "surface" in k)
    return end - start, end - t0, land


def _paint_ms(land, scene, frames: int) -> float:
    from lossfilm.paint.painter import Painter
    from lossfilm.plan import plan
    from lossfilm.settings import QUALITIES, Look

    q = QUALITIES["medium"]
    painter = Painter(land, plan(land, scene.camera, frames), scene.style, Look(q.width, q.height, q.surface_quads))
    painter.paint(0)  # the first frame warms caches in both
    t = time.perf_counter()
    for i in range(1, frames):
        painter.paint(i)
    per = (time.perf_counter() - t) / (frames - 1) * 1e3
    painter.close()
    return per


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--frames", type=int, default=60)
    args = parser.parse_args()
    from lossfilm.scene.loader import load_scenes

    evolving = load_scenes(ROOT / "scenes" / "spirals_evolving.py")[0]
    still = dataclasses.replace(evolving, evolve=None)
    loads = [os.getloadavg()[0]]
    one, many, totals = [], [], {"still": [], "evolving": []}
    lands = {}
    for _ in range(args.repeat):
        for name, scene in (("still", still), ("evolving", evolving)):
            surface_s, total_s, lands[name] = _timed_compute(scene)
            (one if name == "still" else many).append(surface_s)
            totals[name].append(total_s)
        loads.append(os.getloadavg()[0])
    k = len(lands["evolving"].surface_steps)
    s1, sk = statistics.median(one), statistics.median(many)
    train = statistics.median(totals["still"]) - s1
    print(f"spirals_evolving: {k} surfaces of {lands['still'].loss.size} points; load {min(loads):.2f}-{max(loads):.2f}")
    print(f"compute: training and projection {train:.2f} s (the same in both); one surface {s1:.3f} s; "
          f"{k} surfaces {sk:.3f} s = {sk / s1:.1f} x one (bound: {k} x); whole compute still "
          f"{statistics.median(totals['still']):.2f} s, evolving {statistics.median(totals['evolving']):.2f} s")
    paints = {"still": [], "evolving": []}
    for _ in range(args.repeat):
        for name, scene in (("still", still), ("evolving", evolving)):
            paints[name].append(_paint_ms(lands[name], scene, args.frames))
        loads.append(os.getloadavg()[0])
    ps, pe = statistics.median(paints["still"]), statistics.median(paints["evolving"])
    print(f"paint at 1280x720, {args.frames} frames: still {ps:.1f} ms/frame, morph {pe:.1f} ms/frame = "
          f"{pe / ps:.2f} x (bound: 1.2 x); load {min(loads):.2f}-{max(loads):.2f}")
    print(f"peak memory of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB "
          "(no workers: compute and paint run here)")


if __name__ == "__main__":
    main()
