"""Small batches against large ones (Keskar et al. 2017; Li et al. 2018's filter-normalised plots): the
same MLP learning two moons with SGD, batches of 16 and of the whole training set, each filmed on a random
filter-normalised plane around its own end point, on one shared z range. The large batch's minimum is
the sharper one."""
from lossfilm import Compare, Grid, RandomPlane, Run, Scene, Style, datasets, models


def panel(batch: int, epochs: int, lr: float) -> Scene:
    return Scene(
        name=f"moons_batch_{batch}",
        data=datasets.moons(n=1000, noise=0.2, seed=0),
        model=models.mlp(inputs=2, hidden=(32, 32), outputs=2),
        runs=[Run(optimizer="sgd", lr=lr, epochs=epochs, batch_size=batch, shuffle=True, label=f"SGD, batch {batch}",
                  options={"momentum": 0.9})],
        plane=RandomPlane(seed=0),
        grid=Grid(a=(-1, 1), b=(-1, 1), step=0.04, fit="fixed"),
        loss="cross_entropy",
        evaluate_on="train",
        seed=0,
        style=Style(cmap="viridis", zscale="log", title="",
                    subtitle="random filter-normalised plane · the run ends at the dot"),
    )


scene = Compare([panel(16, 40, 0.02), panel(750, 800, 0.1)], layout="row", shared_z=True, name="batch_size",
                captions=["batch of 16", "the whole training set (750)"])
