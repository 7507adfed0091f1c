"""Download-free data sets: every one is generated from a seed, so a scene renders the same numbers anywhere."""
from __future__ import annotations

import numpy as np

from .scene import Data


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
