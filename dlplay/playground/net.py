"""The playground's network: fully connected layers, one output, squared error,
trained by mini-batch gradient descent — TensorFlow Playground's nn.ts, vectorised.

The playground adds up per-example gradients and updates every `batch_size`
examples; here a batch is one matrix product, which is the same update and ~100×
faster in NumPy. Tiny layers (≤ 8 neurons) make NumPy quicker than torch: a torch
call costs more than the arithmetic (see `dlplay/bench/playground.py`).
"""
from __future__ import annotations

import numpy as np


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # no overflow warnings for large |z|


# name -> (f(z), f'(z) given z and a = f(z))
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(z.dtype)),
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
    "sigmoid": (_sigmoid, lambda z, a: a * (1 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}
REGULARIZATIONS = ("none", "L1", "L2")


class Network:
    """inputs -> hidden layers (`activation`) -> one output (tanh for ±1 classes,
    linear for regression). Weights start uniform in [-0.5, 0.5], biases at 0.1,
    like the playground's."""

    def __init__(self, n_inputs: int, hidden: list[int], activation: str = "tanh",
                 output: str = "tanh", seed: int = 0):
        rng = np.random.default_rng(seed)
        sizes = [n_inputs, *hidden, 1]
        self.weights = [rng.uniform(-0.5, 0.5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.full(b, 0.1) for b in sizes[1:]]
        self.activations = [activation] * len(hidden) + [output]

    @property
    def shape(self) -> list[int]:
        return [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]

    def forward(self, x: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations and outputs of every layer; outs[0] is the input."""
        zs, outs = [], [x]
        for w, b, act in zip(self.weights, self.biases, self.activations):
            z = outs[-1] @ w + b
            zs.append(z)
            outs.append(ACTIVATIONS[act][0](z))
        return zs, outs

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)[1][-1][:, 0]

    def loss(self, x: np.ndarray, y: np.ndarray) -> float:
        """Mean of ½(output − label)², the playground's loss."""
        if len(x) == 0:
            return float("nan")
        return float(0.5 * np.mean((self.predict(x) - y) ** 2))

    def gradients(self, x: np.ndarray, y: np.ndarray):
        """d(mean loss)/d(weights, biases) by backpropagation."""
        zs, outs = self.forward(x)
        delta = (outs[-1][:, 0] - y)[:, None] / len(x)  # dL/d(output)
        grads_w, grads_b = [], []
        for i in reversed(range(len(self.weights))):
            delta = delta * ACTIVATIONS[self.activations[i]][1](zs[i], outs[i + 1])
            grads_w.append(outs[i].T @ delta)
            grads_b.append(delta.sum(0))
            if i:
                delta = delta @ self.weights[i].T
        return grads_w[::-1], grads_b[::-1]

    def train_batch(self, x, y, lr: float, regularization: str = "none", reg_rate: float = 0.0) -> None:
        """One gradient step. L1 weights that the penalty pushes across zero stop at
        zero, as in the playground, so unneeded links really switch off."""
        grads_w, grads_b = self.gradients(x, y)
        for w, b, gw, gb in zip(self.weights, self.biases, grads_w, grads_b):
            w -= lr * gw
            b -= lr * gb
            if regularization == "L2" and reg_rate:
                w -= lr * reg_rate * w
            elif regularization == "L1" and reg_rate:
                shrunk = w - lr * reg_rate * np.sign(w)
                w[...] = np.where(shrunk * w < 0, 0.0, shrunk)

    def train_epoch(self, x, y, batch_size: int, lr: float, regularization: str = "none",
                    reg_rate: float = 0.0) -> None:
        """One pass over the training set in its fixed order, like the playground."""
        for start in range(0, len(x), batch_size):
            self.train_batch(x[start:start + batch_size], y[start:start + batch_size], lr,
                             regularization, reg_rate)

    def n_params(self) -> int:
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases))
