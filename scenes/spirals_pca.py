"""A one-hidden-layer MLP (2-50-3) learning three spirals with Adam for 300 epochs, filmed on the plane
of the top two principal components of its path: loss-landscape-anim's default experiment, in 3-D."""
from lossfilm import Grid, PCAPlane, Run, Scene, Style, datasets, models

scene = Scene(
    name="spirals_pca",
    data=datasets.spirals(n_per_class=361, classes=3, seed=0),  # 1,083 training points
    model=models.mlp(inputs=2, hidden=(50,), outputs=3),
    runs=[Run(optimizer="adam", lr=5e-3, epochs=300, batch_size=128, shuffle=True, label="Adam")],
    plane=PCAPlane(),
    grid=Grid.around_paths(points=100),
    loss="cross_entropy",
    evaluate_on="train",
    seed=1,
    style=Style(theme="dark", cmap="magma", title="Three spirals, MLP 2-50-3",
                subtitle="Adam, 300 epochs · PCA plane of the path · training cross-entropy"),
)
