"""What HessianPlane costs on the tiny CNN (scenes/hessian_cnn.py's model and data), in gradient
evaluations over the evaluation data: the Lanczos search (20 Hessian-vector products) against one full
gradient, timed in the same run (medians of --repeat), with the load beside them. The issue's bound:
a few dozen gradient evaluations.

    python bench/bench_hessian.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import torch
    from torch.func import functional_call, grad

    from lossfilm.scene import losses
    from lossfilm.compute.build import build_model, evaluation_data
    from lossfilm.compute.evaluate import ParamSpace
    from lossfilm.compute.hessian import loss_terms, top_directions
    from lossfilm.scene.loader import load_scenes

    torch.set_num_threads(1)
    scene = load_scenes(ROOT / "scenes" / "hessian_cnn.py")[0]
    model = build_model(scene).eval()
    space, loss, source = ParamSpace(model), losses.get(scene.loss), evaluation_data(scene)
    theta = space.flatten(model)
    buffers = dict(model.named_buffers())
    terms = loss_terms(loss, source)

    def gradient():
        def f(t, xb, yb):
            params = {n: t[a:b].view(s) for n, s, a, b in
                      zip(space.names, space.shapes, space.offsets[:-1], space.offsets[1:])}
            return loss.fn(functional_call(model, (params, buffers), (xb,)), yb)
        return sum(w * grad(f)(theta, xb, yb) for xb, yb, w in terms)

    plane = scene.plane
    grads, searches = [], []
    for _ in range(args.repeat):
        t = time.perf_counter()
        gradient()
        grads.append(time.perf_counter() - t)
        t = time.perf_counter()
        top_directions(model, space, loss, source, theta, plane.k, plane.steps, plane.seed)
        searches.append(time.perf_counter() - t)
    g, s = statistics.median(grads), statistics.median(searches)
    print(f"tiny CNN, {space.size} parameters, {sum(len(x) for x, _, _ in terms)} rows, 1 thread, load "
          f"{os.getloadavg()[0]:.2f}")
    print(f"one full gradient {g * 1e3:.1f} ms; Lanczos top-2 ({plane.steps} products) {s * 1e3:.1f} ms = "
          f"{s / g:.1f} gradient evaluations (bound: a few dozen)")


if __name__ == "__main__":
    main()
