"""Any optimizer: torch's NAdam, the closure-based LBFGS (full batch) and a sign-SGD class defined right
here, racing on the article's network from (-1, -1)."""
from dataclasses import replace

import article
import torch
from lossfilm import Run, Style


class SignSGD(torch.optim.Optimizer):
    """Steps of fixed size lr along the sign of the gradient."""

    def __init__(self, params, lr=0.01):
        super().__init__(params, {"lr": lr})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.add_(p.grad.sign(), alpha=-group["lr"])
        return loss


scene = replace(
    article.scene,
    name="optimizer_zoo",
    runs=[
        Run(torch.optim.NAdam, lr=0.02, epochs=25, label="NAdam"),
        Run(torch.optim.LBFGS, lr=0.5, epochs=25, batch_size=7000, options={"max_iter": 4}, label="LBFGS"),
        Run(SignSGD, lr=0.002, epochs=25, label="sign-SGD"),
    ],
    style=Style(theme="dark", title="Any optimizer: NAdam, LBFGS and a custom class",
                subtitle="the article's network from (-1, -1) · test MSE"),
)
