"""Himmelblau's function has four minima of equal depth (the stars): plain SGD from four starts near
the centre finds all four, one each."""
from lossfilm import Run, Scene, Style, surfaces

starts = [(0.0, 0.0), (-1.0, 1.0), (-1.0, -1.0), (1.0, -1.0)]
scene = Scene(
    name="himmelblau_starts",
    surface=surfaces.himmelblau(),
    runs=[Run("sgd", lr=0.01, steps=200, start=s, label=f"from ({s[0]:g}, {s[1]:g})") for s in starts],
    style=Style(subtitle="SGD, lr 0.01, 200 steps from four starts"),
)
