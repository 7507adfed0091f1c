"""Model factories for scenes. A scene takes a zero-argument function so every run starts from a fresh module."""
from __future__ import annotations

import torch
from torch import nn


def article_net() -> nn.Module:
    """The article's 1-1-1 tanh network without biases: w1 = ``0.weight``, w2 = ``2.weight``."""
    return nn.Sequential(nn.Linear(1, 1, bias=False), nn.Tanh(), nn.Linear(1, 1, bias=False))


def mlp(inputs: int = 2, hidden: tuple[int, ...] = (50,), outputs: int = 3, activation=nn.ReLU):
    """A factory for a multilayer perceptron: Linear layers with ``activation`` between them."""
    def build() -> nn.Module:
        layers, width = [], inputs
        for h in hidden:
            layers += [nn.Linear(width, h), activation()]
            width = h
        layers.append(nn.Linear(width, outputs))
        return nn.Sequential(*layers)

    build.__name__ = f"mlp_{inputs}_{'_'.join(map(str, hidden))}_{outputs}"
    return build


class TinyCNN(nn.Module):
    """Two small convolutions with BatchNorm, global average pooling and a linear head."""

    def __init__(self, channels: int = 8, classes: int = 3):
        super().__init__()
        self.conv1 = nn.Conv2d(1, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(channels)
        self.head = nn.Linear(channels, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.nn.functional.max_pool2d(x, 2)
        x = torch.relu(self.bn2(self.conv2(x)))
        return self.head(x.mean(dim=(2, 3)))


def tiny_cnn(channels: int = 8, classes: int = 3):
    def build() -> nn.Module:
        return TinyCNN(channels, classes)

    build.__name__ = f"tiny_cnn_{channels}_{classes}"
    return build
