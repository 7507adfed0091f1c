"""Dask benchmark: a 240-frame low-quality MP4 on a local Dask cluster of 1 worker against 2 workers
(processes on 127.0.0.1, one thread each), interleaved, medians of --repeat rounds.

    python bench/bench_dask.py [--repeat 3] [--frames 240]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CACHE = Path(tempfile.gettempdir()) / "lossfilm-bench-cache"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--frames", type=int, default=240)
    a = p.parse_args()
    from distributed import Client, LocalCluster

    from lossfilm.executor import DaskCluster
    from lossfilm.scene_loader import load_scenes
    from lossfilm.studio import landscape_for, render

    scene = load_scenes(ROOT / "scenes" / "article.py")[0]
    landscape_for(scene, cache_dir=CACHE)
    clusters = {n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                dashboard_address=None) for n in (1, 2)}
    clients = {n: Client(c, set_as_default=False) for n, c in clusters.items()}
    times = {1: [], 2: []}
    try:
        for _ in range(a.repeat + 1):  # the first round warms the workers (imports, figures) and is dropped
            for n, client in clients.items():
                ex = DaskCluster(client)
                with tempfile.TemporaryDirectory() as d:
                    t = time.perf_counter()
                    render(scene, quality="low", formats=["mp4"], out=d, fps=15, duration=a.frames / 15,
                           cache_dir=CACHE, jobs=n, executor=ex)
                    times[n].append(time.perf_counter() - t)
    finally:
        for c in clients.values():
            c.close()
        for c in clusters.values():
            c.close()
    one, two = (statistics.median(times[n][1:]) for n in (1, 2))
    print(f"{a.frames} frames, low quality, mp4, medians of {a.repeat} rounds")
    print(f"1 worker: {one:.2f} s   2 workers: {two:.2f} s   speed-up {one / two:.2f}x (target >= 1.6x)")


if __name__ == "__main__":
    main()
