"""A lecture in beats on the article's network: plain SGD (lr 0.01) against SGD with momentum 0.9 at a
third of its lr, on the true surface of the 1-1-1 tanh net (w1, w2), both from (-1, -1). Momentum's
step grows to lr / (1 - 0.9): it goes further in the same steps and ends lower.

Chapters, captions (--format vtt srt) and the callouts come from the beats; each note is for the
presenter (in --json's chapters), never on screen.
"""
from lossfilm import (Beat, Callout, Camera, Grid, Move, Run, Scene, Style, WeightsPlane, datasets,
                      models)

scene = Scene(
    name="lecture_momentum",
    data=datasets.piecewise(n=10_000, seed=42, test_size=0.3, split_seed=56),
    model=models.article_net,
    init={"0.weight": -1.0, "2.weight": -1.0},
    runs=[Run("sgd", lr=1e-2, epochs=25, label="SGD"),
          Run("sgd", lr=3e-3, epochs=25, options={"momentum": 0.9}, label="Momentum")],
    plane=WeightsPlane("0.weight", "2.weight", labels=("w1", "w2")),
    grid=Grid(a=(-2, 2), b=(-2, 2), step=0.05),
    camera=Camera(azimuth=-60, elevation=34),
    style=Style(title="Momentum on a 1-1-1 tanh network"),
    story=[
        Beat(5, title="The loss surface", camera=Move(5, turns=0.25), paths="hidden",
             callouts=[Callout("the lowest point of the map", at="minimum", seconds=3.5)]),
        Beat(4, title="Two runs, one start", callouts=[Callout("both start here", at="SGD@0")]),
        Beat(8, title="The first epochs", grow_to="epoch 3",
             callouts=[Callout("momentum: a third of the lr, yet longer strides", at="Momentum", seconds=5)]),
        Beat(4, callouts=[Callout("plain SGD, step by step", at="SGD")],
             note="Ask the room: which one will reach the valley first?"),
        Beat(8, title="The rest of training", grow_to="end", camera=Move(8, turns=-0.2, elevation=50)),
        Beat(6, title="Where they end", camera=Move(4, zoom=1.6, focus=True),
             callouts=[Callout("momentum ends further down", at="Momentum"), Callout("SGD", at="SGD")],
             note="Momentum reached a lower loss in the same number of steps: its step is lr / (1 - 0.9)."),
    ],
)
