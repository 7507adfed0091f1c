"""Model factories for scenes. A scene takes a zero-argument function so every run starts from a fresh module."""
from __future__ import annotations

from torch import nn


def article_net() -> nn.Module:
    """The article's 1-1-1 tanh network without biases: w1 = ``0.weight``, w2 = ``2.weight``."""
    return nn.Sequential(nn.Linear(1, 1, bias=False), nn.Tanh(), nn.Linear(1, 1, bias=False))
