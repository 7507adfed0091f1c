"""Three runs of one MLP on two moons from three initialisations, and the plane through where they end
(Garipov et al. 2018): a, b and c are starred and named. The axes are orthonormal, so distances on the
surface are true distances in weight space. Are the three minima one basin, or separated by ridges?"""
from lossfilm import Grid, ModelsPlane, Run, Scene, Style, datasets, models

runs = [Run(optimizer="adam", lr=0.01, epochs=30, batch_size=64, shuffle=True, seed=s, label=name)
        for s, name in ((1, "seed 1"), (2, "seed 2"), (3, "seed 3"))]

scene = Scene(
    name="three_runs",
    data=datasets.moons(n=1000, noise=0.15, seed=0),
    model=models.mlp(inputs=2, hidden=(16, 16), outputs=2),
    runs=runs,
    plane=ModelsPlane("seed 1", "seed 2", "seed 3"),
    grid=Grid.around_paths(points=61, margin=0.35),
    loss="cross_entropy",
    style=Style(theme="dark", cmap="viridis", title="Three runs, one plane",
                subtitle="Adam from three initialisations · the plane through their end points · test cross-entropy"),
)
