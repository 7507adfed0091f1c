"""A lecture in beats: why momentum and Adam cross Rosenbrock's valley while plain SGD crawls.

Each beat is a moment of the talk: the surface alone, the runs set off, a hold where the lecturer points,
the finish. Chapters, captions (--format vtt srt) and the callouts come from the beats.
"""
from lossfilm import Beat, Callout, Camera, Move, Run, Scene, Style, surfaces

scene = Scene(
    name="lecture_rosenbrock",
    surface=surfaces.rosenbrock(),
    start=(-1.5, 2.0),
    runs=[Run("sgd", lr=1e-3, steps=600, label="SGD"),
          Run("sgd", lr=1e-3, steps=600, options={"momentum": 0.9}, label="Momentum"),
          Run("adam", lr=0.05, steps=600, label="Adam")],
    camera=Camera(azimuth=-60, elevation=38),
    style=Style(zscale="log", title="Crossing Rosenbrock's valley"),
    story=[
        Beat(4, title="A long, curved valley", camera=Move(4, turns=0.15), paths="hidden",
             callouts=[Callout("the minimum, (1, 1)", at="minimum")]),
        Beat(4, title="Three optimizers set off", grow_to=60,
             callouts=[Callout("all start at (−1.5, 2)", at="SGD@0", seconds=3)]),
        Beat(4, callouts=[Callout("SGD creeps down the steep wall", at="SGD"),
                          Callout("momentum builds speed", at="Momentum")],
             note="Ask: why is SGD so slow once it reaches the valley floor?"),
        Beat(6, title="Along the valley floor", grow_to=300, camera=Move(6, turns=-0.1, elevation=55)),
        Beat(3, callouts=[Callout("Adam is nearly there", at="Adam")]),
        Beat(6, title="Who gets there first?", grow_to="end", camera=Move(5, zoom=1.5, focus=True)),
        Beat(3, callouts=[Callout("SGD: still in the valley", at="SGD")],
             note="The lr that keeps SGD stable on the walls is too small for the floor."),
    ],
)
