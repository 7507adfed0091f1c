"""Skip connections and the loss landscape (Li et al. 2018's figure, at a size a laptop films): the same
deep MLP of six residual blocks learning three spirals, with its shortcuts (x + f(x)) and without them
(f(x)), each on a random filter-normalised plane around its own end point, on one shared z range."""
from lossfilm import Compare, Grid, RandomPlane, Run, Scene, Style, datasets, models


def panel(skip: bool) -> Scene:
    return Scene(
        name=f"spirals_{'skip' if skip else 'plain'}",
        data=datasets.spirals(n_per_class=200, classes=3, seed=0),
        model=models.residual_mlp(inputs=2, width=32, blocks=6, outputs=3, skip=skip),
        runs=[Run(optimizer="adam", lr=3e-3, epochs=60, batch_size=64, shuffle=True, label="Adam")],
        plane=RandomPlane(seed=0),  # filter-normalised, the same seed for both
        grid=Grid(a=(-1, 1), b=(-1, 1), step=0.04, fit="fixed"),
        loss="cross_entropy",
        evaluate_on="train",
        seed=0,
        style=Style(cmap="viridis", zscale="log", title="",
                    subtitle="random filter-normalised plane · the run ends at the dot"),  # the caption names the panel
    )


scene = Compare([panel(skip=True), panel(skip=False)], layout="row", shared_z=True, name="skip_vs_plain",
                captions=["with skip connections", "without (the same layers)"])
