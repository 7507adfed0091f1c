import numpy as np

from lossfilm import datasets


def test_piecewise_matches_the_articles_global_seed_code_and_sklearn_split():
    # The article's own lines, with numpy's global state.
    np.random.seed(42)
    X = np.random.normal(1, 4.5, 10000)
    y = np.piecewise(X, [X < -2, (X >= -2) & (X < 2), X >= 2],
                     [lambda X: 2 * X + 5, lambda X: 7.3 * np.sin(X), lambda X: -0.03 * X**3 + 2]
                     ) + np.random.normal(0, 1, X.shape)
    perm = np.random.RandomState(56).permutation(10000)
    data = datasets.piecewise()
    assert data.x_test.shape == (3000, 1) and data.x_train.shape == (7000, 1)
    np.testing.assert_array_equal(data.x_test[:, 0], X[perm[:3000]].astype(np.float32))
    np.testing.assert_array_equal(data.y_test, y[perm[:3000]].astype(np.float32))
    np.testing.assert_array_equal(data.x_train[:, 0], X[perm[3000:]].astype(np.float32))
    np.testing.assert_array_equal(data.y_train, y[perm[3000:]].astype(np.float32))


def test_split_sizes_round_the_test_share_up_like_sklearn():
    train, test = datasets.train_test_split(10, 0.25, 0)
    assert len(test) == 3 and len(train) == 7
    assert sorted(np.concatenate([train, test]).tolist()) == list(range(10))
