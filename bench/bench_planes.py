"""Plane benchmark (any model): the spirals scene's 100 x 100 PCA grid (MLP 2-50-3, 303 parameters,
1,083 training points) by our evaluator against the peers' per-point loop, and against the arithmetic
floor; then the whole spirals film from a cold cache.

The loop is loss-landscape-anim's shape: for each grid point, load the parameter vector into the module,
run the full data through it, read the loss. The floor is the grid's forward-pass FLOPs divided by the
matmul throughput measured here, in the same process, with the same thread count.

    python bench/bench_planes.py [--repeat 5] [--threads 1] [--loop-points 1000]
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lossfilm.scene import losses
from lossfilm.compute import native  # noqa: E402
from lossfilm.compute.build import fit_grid, pca_directions, project, train  # noqa: E402
from lossfilm._plumbing.executor import tune_process  # noqa: E402
from lossfilm.compute.evaluate import Evaluator, ParamSpace  # noqa: E402
from lossfilm.landscape import Trace  # noqa: E402
from lossfilm.scene.loader import load_scenes  # noqa: E402


def matmul_gflops(repeat: int = 5) -> float:
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    a @ b
    best = min(_timed(lambda: a @ b) for _ in range(repeat))
    return 2 * 1024**3 / best / 1e9


def _timed(fn) -> float:
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def forward_flops(model, rows: int) -> int:
    """Multiply-adds of every Linear layer, counted twice (multiply and add), per grid point."""
    return sum(2 * m.in_features * m.out_features * rows for m in model.modules() if isinstance(m, torch.nn.Linear))


def loop(model, thetas, x, y) -> np.ndarray:
    out = np.empty(len(thetas))
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    with torch.no_grad():
        for i, theta in enumerate(thetas):
            torch.nn.utils.vector_to_parameters(theta, model.parameters())
            out[i] = torch.nn.functional.cross_entropy(model(xt), yt).item()
    return out


def film() -> dict:
    with tempfile.TemporaryDirectory() as d:
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "render.py", "scenes/spirals_pca.py", "-q", "low", "--format", "gif",
                               "-o", d, "--no-cache", "--json"], cwd=ROOT, capture_output=True, text=True, check=True)
        seconds = time.perf_counter() - t
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"seconds": seconds, "peak_mb": peak, "report": json.loads(proc.stdout)}


def main() -> None:
    tune_process()  # as the command line does: the allocator tuned for the evaluator
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--loop-points", type=int, default=1000)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    scene = load_scenes(ROOT / "scenes" / "spirals_pca.py")[0]
    record = train(scene, scene.runs[0])
    model = record.model.eval()
    space = ParamSpace(model)
    d1, d2, _ = pca_directions(record.thetas)
    theta0 = torch.as_tensor(record.thetas[-1])
    alpha, beta = project(record.thetas, theta0, d1, d2)
    trace = Trace(alpha, beta, np.zeros(len(alpha)), np.zeros(0, np.int64))
    alphas, betas = fit_grid(scene.grid, [trace])
    x, y = scene.data.x_train, scene.data.y_train
    points = len(alphas) * len(betas)
    print(f"torch threads {a.threads}; grid {len(betas)}x{len(alphas)}; {len(x)} rows; {space.size} parameters")

    ev = Evaluator(model, losses.get("cross_entropy"), x, y)
    ev_torch = Evaluator(model, losses.get("cross_entropy"), x, y, native=False)
    print(f"native kernel: {native.status if ev.native is not None else 'not used: ' + native.status}")
    bb, aa = np.meshgrid(betas, alphas, indexing="ij")
    coords = torch.as_tensor(np.c_[aa.ravel(), bb.ravel()], dtype=torch.float32)
    thetas = theta0 + coords[:, :1] * d1 + coords[:, 1:] * d2
    n_loop = min(a.loop_points, points)
    probe = np.linspace(0, points - 1, n_loop).astype(int)
    ours, torch_path, loops, gflops = [], [], [], []
    for _ in range(a.repeat):  # interleaved rounds
        t = time.perf_counter()
        surface = ev.over_plane(theta0, d1, d2, alphas, betas)
        ours.append(time.perf_counter() - t)
        t = time.perf_counter()
        surface_torch = ev_torch.over_plane(theta0, d1, d2, alphas, betas)
        torch_path.append(time.perf_counter() - t)
        t = time.perf_counter()
        looped = loop(record.model, thetas[probe], x, y)
        loops.append((time.perf_counter() - t) * points / n_loop)
        gflops.append(matmul_gflops())
    rel = np.max(np.abs(surface.ravel()[probe] - looped) / np.abs(looped))
    flops = forward_flops(model, len(x)) * points
    floor = flops / (statistics.median(gflops) * 1e9)
    med_ours, med_loop = statistics.median(ours), statistics.median(loops)
    print(f"ours: {1000 * med_ours:.0f} ms ({1e6 * med_ours / points:.1f} us/point); runs "
          + ", ".join(f"{1000 * v:.0f}" for v in ours) + " ms")
    print(f"torch path (no kernel): {1000 * statistics.median(torch_path):.0f} ms; max relative difference to "
          f"ours {np.max(np.abs(surface - surface_torch) / np.abs(surface_torch)):.1e}")
    print(f"per-point loop: {med_loop:.2f} s ({1e3 * med_loop / points:.2f} ms/point, from {n_loop} points per round)")
    print(f"max relative difference ours vs loop: {rel:.1e}")
    print(f"speed-up vs loop: {med_loop / med_ours:.1f}x (target >= 10x)")
    print(f"floor: {flops / 1e9:.2f} GFLOP at {statistics.median(gflops):.1f} GFLOP/s (1024^3 sgemm) = "
          f"{1000 * floor:.0f} ms; ours is {med_ours / floor:.2f}x the floor (target <= 2x)")
    f = film()
    print(f"whole film, spirals_pca -q low from a cold cache: {f['seconds']:.1f} s wall (compute "
          f"{f['report']['seconds']['compute']:.1f} s), peak RSS {f['peak_mb']:.0f} MB "
          f"(loss-landscape-anim on this kind of machine: 77 s, 1,280 MB, in 2-D)")


if __name__ == "__main__":
    main()
