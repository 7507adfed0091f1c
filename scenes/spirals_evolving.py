"""The landscape forming under the path: spirals_pca's MLP (2-50-3, Adam, three spirals), its surface
computed again at 20 moments of training on the PCA plane of its path, each through the weights of that
moment. The film morphs from one to the next while the path grows, so the viewer sees the valley open
under the point as the model learns."""
from lossfilm import Evolve, Grid, PCAPlane, Run, Scene, Style, datasets, models

scene = Scene(
    name="spirals_evolving",
    data=datasets.spirals(n_per_class=361, classes=3, seed=0),
    model=models.mlp(inputs=2, hidden=(50,), outputs=3),
    runs=[Run(optimizer="adam", lr=5e-3, epochs=300, batch_size=128, shuffle=True, label="Adam")],
    plane=PCAPlane(),
    grid=Grid.around_paths(points=60),
    loss="cross_entropy",
    evaluate_on="train",
    seed=1,
    evolve=Evolve(surfaces=20),  # the start, the end and 18 moments between, evenly in steps
    style=Style(theme="dark", cmap="magma", title="Three spirals: the landscape as the MLP learns",
                subtitle="Adam · PCA plane of the path"),
)
