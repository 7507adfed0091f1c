"""An MLP on two moons, trained with SGD and momentum, filmed on a filter-normalised random plane around
its final point (Li et al. 2018). Random directions are almost orthogonal to the path, so the path's
shadow on the plane is short: the basin is the story here."""
from lossfilm import Grid, RandomPlane, Run, Scene, Style, datasets, models

scene = Scene(
    name="mlp_random_plane",
    data=datasets.moons(n=1000, noise=0.15, seed=0),
    model=models.mlp(inputs=2, hidden=(32, 32), outputs=2),
    runs=[Run(optimizer="sgd", lr=0.05, epochs=60, batch_size=64, shuffle=True, options={"momentum": 0.9},
              label="SGD + momentum")],
    plane=RandomPlane(seed=0),
    grid=Grid(a=(-1, 1), b=(-1, 1), step=0.025, fit="grow"),
    loss="cross_entropy",
    seed=0,
    style=Style(theme="dark", cmap="viridis", title="Two moons, MLP 2-32-32-2",
                subtitle="SGD + momentum · random plane: the whole run is the short mark at its centre"),
)
