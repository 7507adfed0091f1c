"""Beale's function in log z: flat plateaus, steep ridges, the minimum at (3, 0.5) (the star).

Every run's lr is tuned (lr="tune": the lr of eleven, 1e-5 to 1, that ends lowest), so the race is fair.
"""
from lossfilm import Run, Scene, Style, surfaces

scene = Scene(
    name="beale",
    surface=surfaces.beale(),
    start=(1.0, 1.6),
    runs=[Run("sgd", lr="tune", steps=500),
          Run("sgd", lr="tune", steps=500, options={"momentum": 0.9}),
          Run("rmsprop", lr="tune", steps=500),
          Run("adam", lr="tune", steps=500)],
    style=Style(zscale="log", subtitle="500 steps from (1, 1.6), each lr tuned · log z"),
)
