"""The tiny CNN's sharpest directions: the plane through its final weights along the Hessian's top two
eigenvectors (Lanczos over Hessian-vector products, never the dense Hessian). The axes carry the
eigenvalues: the surface curves fastest along v1. BatchNorm is evaluated in eval mode, as in tiny_cnn."""
from lossfilm import Grid, HessianPlane, Run, Scene, Style, datasets, models

scene = Scene(
    name="hessian_cnn",
    data=datasets.bars(n=900, size=12, seed=0),
    model=models.tiny_cnn(channels=8, classes=3),
    runs=[Run(optimizer="adam", lr=3e-3, epochs=15, batch_size=32, shuffle=True, label="Adam")],
    plane=HessianPlane(k=(1, 2), seed=0),
    grid=Grid(a=(-0.6, 0.6), b=(-0.6, 0.6), step=0.02),  # the run ends at the centre: its path is a dot
    loss="cross_entropy",
    seed=0,
    style=Style(theme="dark", cmap="plasma", title="Tiny CNN: its sharpest directions",
                subtitle="Adam, 15 epochs · the Hessian's top two eigenvectors at the end · test cross-entropy"),
)
