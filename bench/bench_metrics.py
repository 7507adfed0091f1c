"""What a metric beside the loss costs: the grid of scenes/spirals_pca.py's model (MLP 2-50-3 on 1,083
rows) at 100 x 100 points, evaluated for the loss alone and for the loss with accuracy in the same pass,
by the fused C kernel (which counts the rows classified right beside the loss) and by the torch path (a
model the kernel does not take). Same process, rounds interleaved, medians of --repeat, the load beside
them.

    python bench/bench_metrics.py [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from proctree import load  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    import numpy as np
    import torch

    from lossfilm.compute.build import build_model
    from lossfilm.compute.evaluate import Evaluator, ParamSpace
    from lossfilm.scene import losses
    from lossfilm.scene.loader import load_scenes
    from lossfilm.scene.metrics import get

    scene = load_scenes(ROOT / "scenes" / "spirals_pca.py")[0]
    model = build_model(scene)
    space = ParamSpace(model)
    theta0 = space.flatten(model)
    gen = torch.Generator().manual_seed(0)
    d1, d2 = (torch.randn(space.size, generator=gen) * 0.1 for _ in range(2))
    grid = np.linspace(-1, 1, 100)
    x, y = scene.data.x_train, scene.data.y_train
    loss = losses.get("cross_entropy")
    evaluators = {"loss, C kernel": Evaluator(model, loss, x, y),
                  "loss + accuracy, C": Evaluator(model, loss, x, y, metrics=[get("accuracy")]),
                  "loss, torch": Evaluator(model, loss, x, y, native=False),
                  "loss + accuracy, torch": Evaluator(model, loss, x, y, native=False, metrics=[get("accuracy")])}
    assert evaluators["loss + accuracy, C"].native is not None
    times = {name: [] for name in evaluators}
    for _ in range(args.repeat):
        for name, ev in evaluators.items():
            t = time.perf_counter()
            ev.over_plane(theta0, d1, d2, grid, grid)
            times[name].append(time.perf_counter() - t)
    med = {name: statistics.median(v) for name, v in times.items()}
    base = med["loss, C kernel"]
    print(f"100x100 grid, MLP 2-50-3 on {len(x)} rows (medians of {args.repeat}, load {load()}):")
    for name, s in med.items():
        print(f"  {name:<24} {s:.3f} s  ({s / base:.2f}x the C kernel's loss, "
              f"{s / med['loss, torch']:.2f}x the torch path's)")


if __name__ == "__main__":
    main()
