"""An ordinary training script that knows nothing of lossfilm: its own model class, AdamW with weight
decay, a cosine learning-rate schedule, and a checkpoint (torch.save of the state_dict) every few steps.

    python examples/train_elsewhere.py            # writes runs/train_elsewhere/step_*.pt
    python render.py scenes/from_checkpoints.py   # films them

Everything is generated from a seed: no download.
"""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import torch
from torch import nn

CHECKPOINTS = Path("runs") / "train_elsewhere"


class RingNet(nn.Module):
    """A small classifier with a residual hidden layer, for two interleaved rings of points."""

    def __init__(self, hidden: int = 16):
        super().__init__()
        self.inp = nn.Linear(2, hidden)
        self.mid = nn.Linear(hidden, hidden)
        self.out = nn.Linear(hidden, 2)

    def forward(self, x):
        h = torch.tanh(self.inp(x))
        h = h + torch.tanh(self.mid(h))
        return self.out(h)


def rings(n: int = 600, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two noisy concentric rings: label 0 inside, 1 outside."""
    g = torch.Generator().manual_seed(seed)
    label = torch.arange(n) % 2
    angle = torch.rand(n, generator=g) * 2 * math.pi
    radius = 1.0 + label.float() + 0.25 * torch.randn(n, generator=g)
    x = torch.stack([radius * torch.cos(angle), radius * torch.sin(angle)], 1)
    return x, label


def main(out: Path = CHECKPOINTS, steps: int = 240, every: int = 4, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    x, y = rings(seed=seed)
    model = RingNet()
    opt = torch.optim.AdamW(model.parameters(), lr=0.03, weight_decay=1e-2)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    loss_fn = nn.CrossEntropyLoss()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("step_*.pt"):
        old.unlink()
    torch.save(model.state_dict(), out / "step_0.pt")
    for step in range(1, steps + 1):
        idx = torch.randint(0, len(x), (64,))
        opt.zero_grad()
        loss_fn(model(x[idx]), y[idx]).backward()
        opt.step()
        schedule.step()
        if step % every == 0:
            torch.save(model.state_dict(), out / f"step_{step}.pt")
    return out


if __name__ == "__main__":
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=CHECKPOINTS)
    p.add_argument("--steps", type=int, default=240)
    p.add_argument("--every", type=int, default=4)
    a = p.parse_args()
    print(main(a.out, a.steps, a.every))
