"""A multilayer perceptron for images: flatten, [Linear → activation → dropout]*, Linear."""
from __future__ import annotations

import torch
from torch import nn

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "leaky_relu": nn.LeakyReLU}


class Standardize(nn.Module):
    """(x - mean) / std with the training set's statistics, kept inside the model so
    anything fed to it later (a drawing, say) is scaled the same way."""

    def __init__(self, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        self.register_buffer("mean", torch.tensor(float(mean)))
        self.register_buffer("std", torch.tensor(float(std)))

    def forward(self, x):
        return (x - self.mean) / self.std


class MLP(nn.Module):
    def __init__(self, in_features: int = 784, hidden: tuple[int, ...] = (256, 128), n_classes: int = 10,
                 activation: str = "relu", dropout: float = 0.2, norm: tuple[float, float] = (0.0, 1.0)):
        super().__init__()
        layers: list[nn.Module] = [Standardize(*norm), nn.Flatten()]
        width = in_features
        for units in hidden:
            layers += [nn.Linear(width, units), ACTIVATIONS[activation]()]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = units
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)
        self.config = dict(in_features=in_features, hidden=tuple(hidden), n_classes=n_classes,
                           activation=activation, dropout=dropout)

    def forward(self, x):
        return self.net(x)
