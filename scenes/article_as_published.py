"""The article's film as it was published: nn.MSELoss on (B, 1) predictions against (B,) targets
broadcasts to (B, B), so each batch's "MSE" is mean_ij (p_i - y_j)^2 and ignores which prediction goes
with which target. SGD then ends near (-0.125, 1.368), on a different surface from the true MSE."""
from dataclasses import replace

import article

scene = replace(
    article.scene,
    name="article_as_published",
    loss="as_published",
    style=replace(article.scene.style, subtitle="SGD, lr 0.01, 25 epochs · test loss as published (broadcast MSE)"),
)
