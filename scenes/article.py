"""The source article's experiment, exactly: a 1-1-1 tanh net without biases, SGD from (-1, -1).

The article's published surface used a broadcasting MSE bug; this scene shows the true MSE.
scenes/article_as_published.py shows the published variant.
"""
from lossfilm import Grid, Run, Scene, Style, WeightsPlane, datasets, models

scene = Scene(
    name="article",
    data=datasets.piecewise(n=10_000, seed=42, test_size=0.3, split_seed=56),
    model=models.article_net,
    init={"0.weight": -1.0, "2.weight": -1.0},
    runs=[Run(optimizer="sgd", lr=1e-2, epochs=25, batch_size=128, label="SGD")],
    plane=WeightsPlane("0.weight", "2.weight", labels=("w1", "w2")),
    grid=Grid(a=(-2, 2), b=(-2, 2), step=0.05),  # grows to hold the path, which ends outside
    loss="mse",
    style=Style(theme="dark", title="Loss surface of a 1-1-1 tanh network",
                subtitle="SGD, lr 0.01, 25 epochs · test MSE"),
)
