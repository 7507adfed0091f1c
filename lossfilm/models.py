"""Model factories for scenes. A scene takes a zero-argument function so every run starts from a fresh module.

torch is imported when a model is built, not when this module is: a scene file that names these
factories and whose numbers are cached renders without importing torch at all.
"""
from __future__ import annotations

import functools
import numbers


def article_net():
    """The article's 1-1-1 tanh network without biases: w1 = ``0.weight``, w2 = ``2.weight``."""
    from torch import nn

    return nn.Sequential(nn.Linear(1, 1, bias=False), nn.Tanh(), nn.Linear(1, 1, bias=False))


def mlp(inputs: int = 2, hidden: int | tuple[int, ...] = (50,), outputs: int = 3, activation=None):
    """A factory for a multilayer perceptron: Linear layers with ``activation`` (a module class,
    default nn.ReLU) between them. ``hidden`` is one layer's width (``mlp(2, 16, 2)``) or a tuple of
    widths, one per hidden layer (``mlp(2, (16, 16), 2)``)."""
    from .errors import SceneError

    if _width(hidden):
        hidden = (int(hidden),)
    elif not (isinstance(hidden, (tuple, list)) and all(_width(h) for h in hidden)):
        raise SceneError("models.mlp(hidden=...)", "a layer width (16) or a tuple of widths ((16, 16)), each a "
                                                   "positive integer", hidden)
    hidden = tuple(int(h) for h in hidden)
    for name, value in (("inputs", inputs), ("outputs", outputs)):
        if not _width(value):
            raise SceneError(f"models.mlp({name}=...)", "a positive integer", value)

    def build():
        from torch import nn

        act = activation or nn.ReLU
        layers, width = [], inputs
        for h in hidden:
            layers += [nn.Linear(width, h), act()]
            width = h
        layers.append(nn.Linear(width, outputs))
        return nn.Sequential(*layers)

    build.__name__ = f"mlp_{inputs}_{'_'.join(map(str, hidden))}_{outputs}"
    return build


def _width(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


@functools.lru_cache(maxsize=None)
def _tiny_cnn_class():
    import torch
    from torch import nn

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

    TinyCNN.__module__, TinyCNN.__qualname__ = __name__, "TinyCNN"  # importable by name: pickles by reference
    return TinyCNN


@functools.lru_cache(maxsize=None)
def _residual_mlp_class():
    from torch import nn

    class ResidualMLP(nn.Module):
        """An input layer, ``blocks`` blocks of two Linear layers with ReLU, and a linear head; with
        ``skip`` each block adds its input back (x + f(x), a ResNet's shortcut), without it the same
        layers are a plain deep MLP (x -> f(x)): Li et al. 2018's comparison, for a net of this size."""

        def __init__(self, inputs: int, width: int, blocks: int, outputs: int, skip: bool):
            super().__init__()
            self.skip = skip
            self.inp = nn.Linear(inputs, width)
            self.blocks = nn.ModuleList(nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, width))
                                        for _ in range(blocks))
            self.head = nn.Linear(width, outputs)

        def forward(self, x):
            x = self.inp(x).relu()
            for block in self.blocks:
                x = (x + block(x) if self.skip else block(x)).relu()
            return self.head(x)

    ResidualMLP.__module__, ResidualMLP.__qualname__ = __name__, "ResidualMLP"
    return ResidualMLP


def residual_mlp(inputs: int = 2, width: int = 16, blocks: int = 6, outputs: int = 3, skip: bool = True):
    """A factory for a deep MLP of residual blocks, with (``skip=True``) or without its skip connections."""
    def build():
        return _residual_mlp_class()(inputs, width, blocks, outputs, skip)

    build.__name__ = f"residual_mlp_{inputs}_{width}x{blocks}_{outputs}_{'skip' if skip else 'plain'}"
    return build


def __getattr__(name):
    if name == "TinyCNN":
        return _tiny_cnn_class()
    if name == "ResidualMLP":
        return _residual_mlp_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def tiny_cnn(channels: int = 8, classes: int = 3):
    def build():
        return _tiny_cnn_class()(channels, classes)

    build.__name__ = f"tiny_cnn_{channels}_{classes}"
    return build
