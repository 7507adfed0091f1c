"""Download-free data sets: every one is generated from a seed, so a scene renders the same numbers anywhere."""
from __future__ import annotations

import numpy as np

from .scene.data import Data


def train_test_split(n: int, test_size: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, test) exactly as scikit-learn's ``train_test_split(shuffle=True)`` draws them.

    scikit-learn's ShuffleSplit takes ``RandomState(seed).permutation(n)``; the first ``ceil(test_size*n)``
    indices are the test set and the next ``n - n_test`` the training set, in that order.
    """
    n_test = int(np.ceil(test_size * n))
    perm = np.random.RandomState(seed).permutation(n)
    return perm[n_test:], perm[:n_test]


def piecewise(n: int = 10_000, seed: int = 42, test_size: float = 0.3, split_seed: int = 56) -> Data:
    """The source article's regression data: a noisy piecewise function of one input.

    Reproduces ``np.random.seed(42); X = normal(1, 4.5, n); y = piecewise(X) + normal(0, 1)`` bit for bit
    (the global-state calls are replaced by one RandomState, which draws the same stream).
    """
    rng = np.random.RandomState(seed)
    x = rng.normal(1, 4.5, n)
    y = np.piecewise(
        x,
        [x < -2, (x >= -2) & (x < 2), x >= 2],
        [lambda v: 2 * v + 5, lambda v: 7.3 * np.sin(v), lambda v: -0.03 * v**3 + 2],
    ) + rng.normal(0, 1, x.shape)
    train, test = train_test_split(n, test_size, split_seed)
    f32 = np.float32
    return Data(
        x_train=x[train].astype(f32).reshape(-1, 1),
        y_train=y[train].astype(f32),
        x_test=x[test].astype(f32).reshape(-1, 1),
        y_test=y[test].astype(f32),
        name=f"piecewise(n={n}, seed={seed}, test_size={test_size}, split_seed={split_seed})",
    )


def _split(x: np.ndarray, y: np.ndarray, test_size: float, seed: int, name: str, y_dtype) -> Data:
    train, test = train_test_split(len(x), test_size, seed)
    return Data(x_train=x[train].astype(np.float32), y_train=y[train].astype(y_dtype),
                x_test=x[test].astype(np.float32), y_test=y[test].astype(y_dtype), name=name)


def _spiral_points(n_per_class: int, classes: int, turns: float, noise: float, rng) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for k in range(classes):
        r = np.linspace(0.0, 1.0, n_per_class)
        start = k * 2 * np.pi / classes
        t = np.linspace(start, start + 2 * np.pi * turns, n_per_class) + rng.randn(n_per_class) * noise
        xs.append(np.c_[r * np.sin(t), r * np.cos(t)])
        ys.append(np.full(n_per_class, k))
    return np.concatenate(xs), np.concatenate(ys)


def spirals(n_per_class: int = 361, classes: int = 3, turns: float = 1.0, noise: float = 0.2, seed: int = 0,
            test_per_class: int | None = None) -> Data:
    """Interleaved 2-D spirals, one per class (the classic CS231n construction); labels are class indices.
    The test set is an independent draw of ``test_per_class`` points per class (default a third)."""
    rng = np.random.RandomState(seed)
    x, y = _spiral_points(n_per_class, classes, turns, noise, rng)
    xt, yt = _spiral_points(test_per_class or max(1, n_per_class // 3), classes, turns, noise, rng)
    return Data(x_train=x.astype(np.float32), y_train=y.astype(np.int64), x_test=xt.astype(np.float32),
                y_test=yt.astype(np.int64),
                name=f"spirals(n_per_class={n_per_class}, classes={classes}, noise={noise}, seed={seed})")


def moons(n: int = 1000, noise: float = 0.15, seed: int = 0, test_size: float = 0.25) -> Data:
    """Two interleaving half circles (scikit-learn's make_moons shape), labels 0 and 1."""
    rng = np.random.RandomState(seed)
    n_out, n_in = n // 2, n - n // 2
    outer = np.c_[np.cos(np.linspace(0, np.pi, n_out)), np.sin(np.linspace(0, np.pi, n_out))]
    inner = np.c_[1 - np.cos(np.linspace(0, np.pi, n_in)), 1 - np.sin(np.linspace(0, np.pi, n_in)) - 0.5]
    x = np.r_[outer, inner] + rng.normal(0, noise, (n, 2))
    y = np.r_[np.zeros(n_out), np.ones(n_in)]
    return _split(x, y, test_size, seed, f"moons(n={n}, noise={noise}, seed={seed})", np.int64)


def bars(n: int = 900, size: int = 12, noise: float = 0.3, seed: int = 0, test_size: float = 0.3) -> Data:
    """A small image task for a tiny CNN: 1-channel size x size images of a horizontal bar, a vertical
    bar or a diagonal, at a random place, with Gaussian noise. Labels 0, 1, 2."""
    rng = np.random.RandomState(seed)
    images = rng.normal(0, noise, (n, 1, size, size))
    labels = rng.randint(0, 3, n)
    for img, label in zip(images[:, 0], labels):
        k = rng.randint(1, size - 1)
        if label == 0:
            img[k, :] += 1.0
        elif label == 1:
            img[:, k] += 1.0
        else:
            offset = k - size // 2
            idx = np.arange(size)
            keep = (idx + offset >= 0) & (idx + offset < size)
            img[idx[keep], (idx + offset)[keep]] += 1.0
    return _split(images, labels, test_size, seed, f"bars(n={n}, size={size}, seed={seed})", np.int64)
