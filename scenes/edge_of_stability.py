"""Sharpness along training: full-batch gradient descent on three spirals at two step sizes. The top
Hessian eigenvalue λ₁ (dashed, right axis of the inset) rises while the loss falls, until it reaches
2/lr (dotted), where plain gradient descent stops being stable along that direction: it then hovers at
that edge (Cohen et al., 2021, "Gradient Descent on Neural Networks Typically Occurs at the Edge of
Stability"). --json has each run's "sharpness": [[step, λ₁], ...].
"""
import torch

from lossfilm import Camera, Grid, PCAPlane, Run, Scene, Sharpness, Style, datasets, models

data = datasets.spirals(n_per_class=100, seed=0)  # 225 training points: one batch, so each step is GD's

scene = Scene(
    name="edge_of_stability",
    data=data,
    model=models.mlp(inputs=2, hidden=(32,), outputs=3, activation=torch.nn.Tanh),
    runs=[Run("sgd", lr=0.6, epochs=1500, batch_size=len(data.x_train), label="GD, lr 0.6"),
          Run("sgd", lr=0.8, epochs=1500, batch_size=len(data.x_train), label="GD, lr 0.8")],
    plane=PCAPlane(),
    grid=Grid.around_paths(points=80),
    loss="cross_entropy",
    evaluate_on="train",
    track=Sharpness(every=50),
    camera=Camera(elevation=40, turns=0.5),
    style=Style(cmap="magma", title="Gradient descent at the edge of stability",
                subtitle="full-batch GD on three spirals · λ₁ rises to 2/lr (dotted) and stays there"),
)
