"""Rastrigin's egg box: a bowl covered in local minima, the global one at (0, 0) (the star). Plain SGD,
momentum and noisy SGD all stop in the first pit they meet; Adam's large steps take it one pit lower."""
from lossfilm import Run, Scene, Style, surfaces

scene = Scene(
    name="rastrigin",
    surface=surfaces.rastrigin(),
    start=(-4.3, 4.1),
    runs=[Run("sgd", lr=0.002, steps=500),
          Run("adam", lr=0.5, steps=500),
          Run("sgd", lr=0.004, steps=500, options={"momentum": 0.9}),
          Run("sgd", lr=0.004, steps=500, noise=25.0, label="SGD + noise")],
    style=Style(subtitle="500 steps from (−4.3, 4.1); the global minimum is the star at (0, 0)"),
)
