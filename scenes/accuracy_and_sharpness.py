"""A researcher's instruments on one film: an MLP (2-32-3) learning three spirals with SGD, its surface the
test accuracy on a PCA plane of the path (the loss beside it in the HUD and --json), and the top Hessian
eigenvalue λ₁ measured every 5 epochs on the inset's right axis, with 2/lr dotted (the edge of stability).
"""
from lossfilm import Grid, PCAPlane, Run, Scene, Sharpness, Style, datasets, models

scene = Scene(
    name="accuracy_and_sharpness",
    data=datasets.spirals(n_per_class=200, classes=3, seed=0),
    model=models.mlp(inputs=2, hidden=(32,), outputs=3),
    runs=[Run("sgd", lr=0.5, epochs=60, batch_size=64, shuffle=True, label="SGD, lr 0.5")],
    plane=PCAPlane(),
    grid=Grid.around_paths(points=80),
    loss="cross_entropy",
    metric="accuracy",  # the height: test accuracy %; the loss goes beside it
    track=Sharpness(every=5 * 7),  # every 5 epochs (7 batches each)
    style=Style(cmap="viridis", title="Three spirals: accuracy and sharpness",
                subtitle="MLP 2-32-3, SGD lr 0.5 · height: test accuracy · λ₁ dashed, 2/lr dotted"),
)
