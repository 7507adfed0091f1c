"""Dask benchmark on a local cluster of 1 worker against 2 workers (processes on 127.0.0.1, one thread
each), interleaved, medians of --repeat rounds:

* a 240-frame low-quality MP4 of the article scene (the issue's target: 2 workers >= 1.6x one);
* two scenes in one call (render_many: the second scene's segments queue while the first is joined);
* the tiny CNN's loss grid (81 x 81 points over its test images) as row tasks on the cluster.

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

    from lossfilm._plumbing.executor import DaskCluster
    from lossfilm.scene.loader import load_scenes
    from lossfilm.studio import landscape_for, render

    import dataclasses

    import numpy as np
    import torch

    from lossfilm.compute.build import pca_directions, train
    from lossfilm.compute.evaluate import PlaneJob, plane_rows
    from lossfilm._plumbing.executor import split
    from lossfilm.studio import render_many

    scene = load_scenes(ROOT / "scenes" / "article.py")[0]
    landscape_for(scene, cache_dir=CACHE)
    pair = [dataclasses.replace(scene, name=n) for n in ("first", "second")]
    cnn = load_scenes(ROOT / "scenes" / "tiny_cnn.py")[0]
    record = train(cnn, cnn.runs[0])
    d1, d2, _ = pca_directions(record.thetas)
    span = np.linspace(-1, 1, 81)
    job = PlaneJob("cnn", record.model.eval(), cnn.loss, cnn.data.x_test, cnn.data.y_test, cnn.memory_mb,
                   record.thetas[-1], d1.numpy(), d2.numpy(), span, span)
    clusters = {n: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                                dashboard_address=None) for n in (1, 2)}
    clients = {n: Client(c, set_as_default=False) for n, c in clusters.items()}
    times = {(kind, n): [] for kind in ("film", "two", "grid") for n in (1, 2)}
    try:
        for _ in range(a.repeat + 1):  # the first round warms the workers (imports, figures) and is dropped
            for n, client in clients.items():
                ex = DaskCluster(client)
                with tempfile.TemporaryDirectory() as d:
                    t = time.perf_counter()
                    render(scene, quality="low", formats=["mp4"], out=d, fps=15, duration=a.frames / 15,
                           cache_dir=CACHE, jobs=n, executor=ex)
                    times["film", n].append(time.perf_counter() - t)
                    t = time.perf_counter()
                    for _, r in render_many(pair, ex, quality="low", formats=["mp4"], out=d, fps=15,
                                            duration=a.frames / 30, cache_dir=CACHE, jobs=n):
                        assert not isinstance(r, Exception), r
                    times["two", n].append(time.perf_counter() - t)
                t = time.perf_counter()
                ex.map_shared(plane_rows, dataclasses.replace(job, key=f"cnn-{time.time_ns()}"),
                              split(len(span), 4 * n))
                times["grid", n].append(time.perf_counter() - t)
        torch.set_num_threads(1)
        t = time.perf_counter()
        plane_rows(job, (0, len(span)))
        here = time.perf_counter() - t
    finally:
        for c in clients.values():
            c.close()
        for c in clusters.values():
            c.close()
    med = {k: statistics.median(v[1:]) for k, v in times.items()}
    print(f"medians of {a.repeat} rounds")
    for kind, what in (("film", f"{a.frames} frames, low quality, mp4"),
                       ("two", f"two scenes of {a.frames // 2} frames in one call"),
                       ("grid", "tiny CNN grid, 81 x 81 points on 225 test images")):
        one, two = med[kind, 1], med[kind, 2]
        target = " (target >= 1.6x)" if kind == "film" else ""
        print(f"{what}: 1 worker {one:.2f} s, 2 workers {two:.2f} s, speed-up {one / two:.2f}x{target}")
    print(f"the same grid in this process, one thread, no cluster: {here:.2f} s")


if __name__ == "__main__":
    main()
