"""Four optimizers race down Rosenbrock's banana valley to its minimum at (1, 1) (the star).

Plain SGD needs a tiny lr to survive the valley's steep walls and crawls along its floor; momentum
carries it further; NAdam and a tuned Adam reach the end.
"""
import torch

from lossfilm import Camera, Run, Scene, Style, surfaces

scene = Scene(
    name="rosenbrock_race",
    surface=surfaces.rosenbrock(),
    start=(-1.5, 2.0),
    runs=[Run("sgd", lr=1e-3, steps=600),
          Run("sgd", lr=1e-3, steps=600, options={"momentum": 0.9}),
          Run(torch.optim.NAdam, lr=0.05, steps=600),
          Run("adam", lr="tune", steps=600)],
    camera=Camera(elevation=38),
    style=Style(zscale="log", subtitle="600 steps each from (−1.5, 2) · log z"),
)
