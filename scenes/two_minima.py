"""Two runs of one MLP on two moons from two initialisations, and the straight line between where they
end (Goodfellow et al. 2015): is there a barrier between the two solutions? One edge of the ribbon is
the test loss along the line, the other the training loss (the split axis names them); the subtitle gives
the barrier. The camera flies along the line."""
from lossfilm import Camera, Interpolation, Move, Run, Scene, Style, datasets, models

scene = Scene(
    name="two_minima",
    data=datasets.moons(n=1000, noise=0.15, seed=0),
    model=models.mlp(inputs=2, hidden=(16, 16), outputs=2),
    runs=[Run(optimizer="adam", lr=0.01, epochs=30, batch_size=64, shuffle=True, seed=s, label=name)
          for s, name in ((1, "seed 1"), (2, "seed 2"))],
    plane=Interpolation("seed 1", "seed 2", extend=0.5),
    loss="cross_entropy",
    # The whole line, then the camera flies along its test edge (split 0) from t = -0.3 to 1.3, over a,
    # the barrier and b, and draws back.
    camera=Camera(azimuth=-70, elevation=34, moves=[
        Move(1.5, turns=0.04), Move(1.2, zoom=1.45, focus=True, along=((-0.3, 0.0), (-0.3, 0.0))),
        Move(4.0, turns=0.08, along=((-0.3, 0.0), (1.3, 0.0))), Move(1.3, zoom=1.0, focus=False, turns=0.04)]),
    style=Style(theme="dark", cmap="viridis", title="Two solutions, one line",
                subtitle="Adam, two seeds · edges: test and training"),
)
