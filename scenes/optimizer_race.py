"""Four optimizers race on the article's network from the same start (-1, -1): plain SGD, SGD with
momentum, RMSprop and Adam, each with its own colour, on one true-MSE surface."""
from dataclasses import replace

import article
from lossfilm import Run, Style

scene = replace(
    article.scene,
    name="optimizer_race",
    runs=[
        Run(optimizer="sgd", lr=0.01, epochs=25, label="SGD"),
        Run(optimizer="sgd", lr=0.01, epochs=25, options={"momentum": 0.9}, label="Momentum"),
        Run(optimizer="rmsprop", lr=0.01, epochs=25, label="RMSprop"),
        Run(optimizer="adam", lr=0.01, epochs=25, label="Adam"),
    ],
    style=Style(theme="dark", title="Optimizer race on the article's network",
                subtitle="lr 0.01 each, batches of 128, 25 epochs from (-1, -1) · test MSE"),
)
