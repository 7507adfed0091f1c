"""Grid benchmark: the article's loss loop against our batched evaluator on the same 80 x 80 grid.

The article's shape: for every (w1, w2), write both weights into the module, loop over a DataLoader of
batch 128 of the test set, compute nn.MSELoss (broadcast, as published) and call .item() per batch.
Ours: lossfilm's Evaluator over the same plane, same loss, same numbers (the max relative difference
is printed). Timings are medians of --repeat runs of ours; the loop runs once on all points unless
--loop-points asks for a subset (then its time is scaled to the full grid and marked "extrapolated").

    python bench/bench_grid.py [--repeat 5] [--loop-points N]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lossfilm.scene import losses  # noqa: E402
from lossfilm.compute.build import build_model  # noqa: E402
from lossfilm._plumbing.executor import tune_process  # noqa: E402
from lossfilm.compute.evaluate import Evaluator  # noqa: E402
from lossfilm.scene.loader import load_scenes  # noqa: E402


def articles_loop(model, x, y, grid, points):
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y)),
                                         batch_size=128)
    criterion = nn.MSELoss()
    out = np.full((len(grid), len(grid)), np.nan)
    done = 0
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter("ignore")
        for i, w1 in enumerate(grid):
            for j, w2 in enumerate(grid):
                if done >= points:
                    return out
                model[0].weight.fill_(float(w1))
                model[2].weight.fill_(float(w2))
                values = []
                for xb, yb in loader:
                    values.append(criterion(model(xb), yb).item())
                out[i, j] = np.mean(values)
                done += 1
    return out


def main() -> None:
    tune_process()  # as the command line does: the allocator tuned for the evaluator
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--loop-points", type=int, default=300,
                   help="grid points the article's loop evaluates per round (6400: the whole grid)")
    a = p.parse_args()
    scene = load_scenes(ROOT / "scenes" / "article.py")[0]
    grid = np.arange(-2, 2, 0.05)
    model = build_model(scene)
    x, y = scene.data.x_test, scene.data.y_test
    n = len(grid) ** 2
    points = min(a.loop_points, n)
    print(f"torch threads: {torch.get_num_threads()}; grid {len(grid)}x{len(grid)}; test rows {len(x)}; "
          f"loop on {points} points per round" + ("" if points == n else ", scaled to the full grid"))
    theta0, d1, d2 = torch.zeros(2), torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    evaluators = {name: Evaluator(model, losses.get(name), x, y) for name in ("as_published", "mse")}
    for ev in evaluators.values():
        ev.over_plane(theta0, d1, d2, grid, grid)  # warm-up
    rows = []
    # Rounds interleave the loop and ours, so that the shared machine's load hits both alike.
    for _ in range(a.repeat):
        w, c = time.perf_counter(), time.process_time()
        loop = articles_loop(build_model(scene), x, y, grid, points)
        loop_wall, loop_cpu = (time.perf_counter() - w) * n / points, (time.process_time() - c) * n / points
        row = {"loop_wall": loop_wall, "loop_cpu": loop_cpu}
        for name, ev in evaluators.items():
            w, c = time.perf_counter(), time.process_time()
            out = ev.over_plane(theta0, d1, d2, grid, grid)  # (w2 rows, w1 columns)
            row[name + "_wall"], row[name + "_cpu"] = time.perf_counter() - w, time.process_time() - c
            if name == "as_published":
                done = np.isfinite(loop)
                row["rel"] = float(np.max(np.abs(out.T[done] - loop[done]) / np.abs(loop[done])))
        rows.append(row)

    def med(key):
        return statistics.median(r[key] for r in rows)

    print(f"article's loop: {med('loop_wall'):.1f} s wall, {med('loop_cpu'):.1f} s CPU (medians of {a.repeat})")
    for name in ("as_published", "mse"):
        runs = ", ".join(f"{1000 * r[name + '_wall']:.0f}" for r in rows)
        print(f"ours ({name}): {1000 * med(name + '_wall'):.1f} ms wall, {1000 * med(name + '_cpu'):.1f} ms CPU; "
              f"runs: {runs} ms")
    print(f"max relative difference ours vs loop (as published): {max(r['rel'] for r in rows):.2e}")
    ratio_wall = statistics.median(r["loop_wall"] / r["as_published_wall"] for r in rows)
    ratio_cpu = statistics.median(r["loop_cpu"] / r["as_published_cpu"] for r in rows)
    print(f"speed-up (as published, same numbers): {ratio_wall:.0f}x wall, {ratio_cpu:.0f}x CPU, "
          f"median of per-round ratios (target >= 1000x)")


if __name__ == "__main__":
    main()
