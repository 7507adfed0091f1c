"""A tiny CNN (two 3x3 convolutions with BatchNorm) learning to tell horizontal, vertical and diagonal
bars apart, filmed on the PCA plane of its path. BatchNorm is evaluated in eval mode with the final
model's running statistics."""
from lossfilm import Grid, PCAPlane, Run, Scene, Style, datasets, models

scene = Scene(
    name="tiny_cnn",
    data=datasets.bars(n=900, size=12, seed=0),
    model=models.tiny_cnn(channels=8, classes=3),
    runs=[Run(optimizer="adam", lr=3e-3, epochs=15, batch_size=32, shuffle=True, label="Adam")],
    plane=PCAPlane(),
    grid=Grid.around_paths(points=41),
    loss="cross_entropy",
    seed=0,
    style=Style(theme="dark", cmap="plasma", title="Tiny CNN on generated bars",
                subtitle="Adam, 15 epochs · PCA plane of the path · test cross-entropy"),
)
