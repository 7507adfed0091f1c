"""The landscape forming under the path: spirals_pca's MLP (2-50-3, Adam, three spirals), its surface
computed again at 20 moments of training on the PCA plane of its path, each through the weights of that
moment. The film morphs from one to the next while the path grows, so the viewer sees the valley open
under the point as the model learns."""
import dataclasses

from lossfilm import Evolve, Grid, Style
from spirals_pca import scene as _still  # the same data, model, run and plane

scene = dataclasses.replace(
    _still,
    name="spirals_evolving",
    grid=Grid.around_paths(points=60),
    evolve=Evolve(surfaces=20),  # the start, the end and 18 moments between, evenly in steps
    style=Style(theme="dark", cmap="magma", title="Three spirals: the landscape as the MLP learns",
                subtitle="Adam · PCA plane of the path"),
)
