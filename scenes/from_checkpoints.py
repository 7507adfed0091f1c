"""Film a training run done elsewhere from its checkpoints: `python examples/train_elsewhere.py` writes
runs/train_elsewhere/step_*.pt, then `python render.py scenes/from_checkpoints.py` (from the same folder)
films them. The model class and the data come from the training script itself. So that rendering every
shipped scene works out of the box, this scene runs that script once when it finds no checkpoints."""
import sys
from pathlib import Path

import torch
from lossfilm import Grid, PCAPlane, Scene, Style, Trajectory

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))
import train_elsewhere  # noqa: E402
from train_elsewhere import CHECKPOINTS, RingNet, rings  # noqa: E402

if not any(CHECKPOINTS.glob("step_*.pt")):
    train_elsewhere.main()

x, y = rings(n=400, seed=1)  # held-out points, streamed from a DataLoader
validation = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=100)

scene = Scene(
    name="from_checkpoints",
    model=RingNet,
    data=validation,
    loss=torch.nn.CrossEntropyLoss(),
    paths=[Trajectory.from_checkpoints(CHECKPOINTS / "step_*.pt", label="AdamW, cosine lr")],
    plane=PCAPlane(),
    grid=Grid.around_paths(points=50),
    style=Style(cmap="cividis", title="A run from its checkpoints",
                subtitle="RingNet · AdamW + cosine schedule · PCA plane · validation cross-entropy"),
)
