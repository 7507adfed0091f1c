"""Your own training loop, unchanged, inside record(): every optimizer.step() is recorded. The loop runs
when the scene file is read (a second or so); the film shows its path on the PCA plane."""
import torch
from torch import nn
from lossfilm import Grid, PCAPlane, Scene, Style, datasets, record

data = datasets.moons(n=300, seed=0)
x, y = torch.as_tensor(data.x_train), torch.as_tensor(data.y_train)


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 12), nn.GELU(), nn.Linear(12, 2))

    def forward(self, x):
        return self.body(x)


torch.manual_seed(0)
model = Net()
optimizer = torch.optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=10, gamma=0.5)
loss_fn = nn.CrossEntropyLoss()
with record(model, optimizer, label="SGD + momentum, step lr") as path:
    for epoch in range(30):
        for start in range(0, len(x), 32):
            xb, yb = x[start:start + 32], y[start:start + 32]
            optimizer.zero_grad()
            loss_fn(model(xb), yb).backward()
            optimizer.step()
        scheduler.step()
        path.epoch()

scene = Scene(name="own_loop", model=Net, data=data, loss=loss_fn, paths=[path], plane=PCAPlane(),
              grid=Grid.around_paths(points=50), evaluate_on="train",
              style=Style(title="Your own loop, recorded",
                          subtitle="record(model, optimizer) around a hand-written loop · PCA plane"))
