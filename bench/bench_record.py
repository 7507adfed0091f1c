"""record() overhead: the spirals MLP (2-50-3, Adam, batches of 128) trained by a plain loop, with and
without record() around it, interleaved; prints the per-step times and their ratio (target: record()
adds under 10 % to a training step).

    python bench/bench_record.py [--epochs 30] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lossfilm import datasets, models, record  # noqa: E402


def loop(x, y, epochs: int, recorded: bool) -> tuple[float, int]:
    torch.manual_seed(0)
    model = models.mlp(2, (50,), 3)()
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.CrossEntropyLoss()
    steps = 0

    def train():
        nonlocal steps
        for _ in range(epochs):
            for start in range(0, len(x), 128):
                opt.zero_grad()
                loss_fn(model(x[start:start + 128]), y[start:start + 128]).backward()
                opt.step()
                steps += 1

    t = time.perf_counter()
    if recorded:
        with record(model, opt) as path:
            train()
        assert path.steps == steps
    else:
        train()
    return time.perf_counter() - t, steps


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--repeat", type=int, default=5)
    a = p.parse_args()
    torch.set_num_threads(1)
    data = datasets.spirals(n_per_class=361, classes=3, seed=0)
    x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)
    loop(x, y, 2, True)  # warm-up
    plain, recorded = [], []
    for _ in range(a.repeat):
        t, steps = loop(x, y, a.epochs, False)
        plain.append(t / steps)
        t, steps = loop(x, y, a.epochs, True)
        recorded.append(t / steps)
    p0, r0 = statistics.median(plain), statistics.median(recorded)
    print(f"spirals MLP, {steps} Adam steps a run, 1 thread, medians of {a.repeat} interleaved runs")
    print(f"plain loop: {1e6 * p0:.0f} us/step; inside record(): {1e6 * r0:.0f} us/step; "
          f"overhead {100 * (r0 / p0 - 1):.1f} % (target < 10 %)")


if __name__ == "__main__":
    main()
