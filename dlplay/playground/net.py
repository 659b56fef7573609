"""The playground's network: fully connected layers trained by mini-batch gradient
descent — TensorFlow Playground's nn.ts, vectorised, plus a softmax output for k classes,
an activation per layer and dropout.

The playground adds up per-example gradients and updates every `batch_size`
examples; here a batch is one matrix product, which is the same update and ~100×
faster in NumPy. Tiny layers (≤ 8 neurons) make NumPy quicker than torch: a torch
call costs more than the arithmetic (see `dlplay/bench/playground.py`).
"""
from __future__ import annotations

import math

import numpy as np


def _sigmoid(z):
    return 0.5 * (1 + np.tanh(0.5 * z))  # no overflow warnings for large |z|


def _softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


# name -> (f(z), f'(z) given z and a = f(z)); the hidden layers' choices
ACTIVATIONS = {
    "relu": (lambda z: np.maximum(z, 0), lambda z, a: (z > 0).astype(z.dtype)),
    "tanh": (np.tanh, lambda z, a: 1 - a * a),
    "sigmoid": (_sigmoid, lambda z, a: a * (1 - a)),
    "linear": (lambda z: z, lambda z, a: np.ones_like(z)),
}
# The output layer: tanh (±1 classes), linear (regression), softmax (k classes 0..k−1).
OUTPUTS = ("tanh", "linear", "softmax")
REGULARIZATIONS = ("none", "L1", "L2")
MAX_DROPOUT = 0.5


class Network:
    """inputs -> hidden layers (`activation`: one name, or one per layer) -> the output:
    tanh for ±1 classes and linear for regression (one output, loss ½·mean squared
    error), or softmax over `n_outputs` classes (loss mean cross-entropy, in nats).
    Weights start uniform in [-0.5, 0.5], biases at 0.1, like the playground's.
    `dropout` p: while training, each hidden output is zeroed with probability p and the
    rest scaled by 1/(1 − p) (inverted dropout), so predicting needs no change."""

    def __init__(self, n_inputs: int, hidden: list[int], activation="tanh", output: str = "tanh",
                 seed: int = 0, n_outputs: int = 1, dropout: float = 0.0):
        hidden = list(hidden)
        acts = [activation] * len(hidden) if isinstance(activation, str) else list(activation)
        if len(acts) != len(hidden):
            raise ValueError(f"{len(acts)} activations for {len(hidden)} hidden layers")
        if unknown := [a for a in acts if a not in ACTIVATIONS]:
            raise ValueError(f"unknown activation(s): {', '.join(map(str, unknown))}")
        if output not in OUTPUTS:
            raise ValueError(f"unknown output {output!r}: one of {', '.join(OUTPUTS)}")
        if (output == "softmax") != (n_outputs > 1) or n_outputs < 1:
            raise ValueError(f"a {output} output with {n_outputs} outputs: softmax needs ≥ 2, the others 1")
        rng = np.random.default_rng(seed)
        sizes = [n_inputs, *hidden, n_outputs]
        self.weights = [rng.uniform(-0.5, 0.5, (a, b)) for a, b in zip(sizes[:-1], sizes[1:])]
        self.biases = [np.full(b, 0.1) for b in sizes[1:]]
        self.activations = acts + [output]
        self.dropout = float(dropout)
        self._rng = np.random.default_rng([seed, 1])  # dropout masks, apart from the weights' stream

    @property
    def shape(self) -> list[int]:
        return [self.weights[0].shape[0]] + [w.shape[1] for w in self.weights]

    @property
    def output(self) -> str:
        return self.activations[-1]

    # --- forward ------------------------------------------------------------------------------
    def masks(self, n: int) -> list[np.ndarray] | None:
        """Fresh dropout masks for a batch of n: one (n, width) array per hidden layer,
        0 or 1/(1 − p); None without dropout."""
        p = self.dropout
        if not p:
            return None
        return [(self._rng.random((n, w.shape[1])) >= p) / (1 - p) for w in self.weights[:-1]]

    def _forward(self, x, masks=None):
        """zs, outs (after dropout, what the next layer sees) and acts (before it)."""
        zs, outs, acts = [], [x], []
        last = len(self.weights) - 1
        for i, (w, b, act) in enumerate(zip(self.weights, self.biases, self.activations)):
            z = outs[-1] @ w + b
            zs.append(z)
            a = _softmax(z) if act == "softmax" else ACTIVATIONS[act][0](z)
            acts.append(a)
            outs.append(a * masks[i] if masks is not None and i < last else a)
        return zs, outs, acts

    def forward(self, x: np.ndarray, train: bool = False) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Pre-activations and outputs of every layer; outs[0] is the input. `train` applies
        dropout (fresh masks) to the hidden outputs."""
        zs, outs, _ = self._forward(x, self.masks(len(x)) if train else None)
        return zs, outs

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n,) outputs for one output; (n, k) class probabilities for softmax."""
        out = self._forward(x)[1][-1]
        return out if self.output == "softmax" else out[:, 0]

    def classify(self, x: np.ndarray) -> np.ndarray:
        """Predicted labels in the labels' convention: ±1, or the class 0..k−1 (as floats)."""
        out = self.predict(x)
        if self.output == "softmax":
            return out.argmax(1).astype(float)
        return np.where(out >= 0, 1.0, -1.0)

    # --- loss and gradients -------------------------------------------------------------------
    def loss(self, x: np.ndarray, y: np.ndarray, masks=None) -> float:
        """Mean of ½(output − label)² (the playground's loss), or for softmax the mean
        cross-entropy −log p(label). Without dropout unless `masks` are given."""
        if len(x) == 0:
            return float("nan")
        zs, outs, _ = self._forward(x, masks)
        if self.output == "softmax":
            z = zs[-1]
            top = z.max(1, keepdims=True)
            log_p = z - top - np.log(np.exp(z - top).sum(1, keepdims=True))
            return float(-np.mean(log_p[np.arange(len(x)), y.astype(int)]))
        return float(0.5 * np.mean((outs[-1][:, 0] - y) ** 2))

    def gradients(self, x: np.ndarray, y: np.ndarray, masks=None):
        """d(mean loss)/d(weights, biases) by backpropagation (through `masks` if given)."""
        zs, outs, acts = self._forward(x, masks)
        n = len(x)
        if self.output == "softmax":  # d(cross-entropy)/dz = p − one-hot(label)
            delta = outs[-1].copy()
            delta[np.arange(n), y.astype(int)] -= 1
            delta /= n
        else:
            delta = (outs[-1][:, 0] - y)[:, None] / n  # dL/d(output)
            delta = delta * ACTIVATIONS[self.output][1](zs[-1], acts[-1])
        grads_w, grads_b = [], []
        for i in reversed(range(len(self.weights))):
            if i < len(self.weights) - 1:  # a hidden layer: through dropout, then its activation
                if masks is not None:
                    delta = delta * masks[i]
                delta = delta * ACTIVATIONS[self.activations[i]][1](zs[i], acts[i])
            grads_w.append(outs[i].T @ delta)
            grads_b.append(delta.sum(0))
            if i:
                delta = delta @ self.weights[i].T
        return grads_w[::-1], grads_b[::-1]

    # --- training -----------------------------------------------------------------------------
    def train_batch(self, x, y, lr: float, regularization: str = "none", reg_rate: float = 0.0) -> None:
        """One gradient step (dropout on, fresh masks). L1 weights that the penalty pushes
        across zero stop at zero, as in the playground, so unneeded links really switch off."""
        grads_w, grads_b = self.gradients(x, y, self.masks(len(x)))
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

    # --- editing ------------------------------------------------------------------------------
    def set_weight(self, layer: int, i: int, j: int, value: float) -> None:
        """The weight from neuron i of layer `layer` (0 = the inputs) to neuron j of the next."""
        w = self.weights[_index(layer, len(self.weights), "layer")]
        w[_index(i, w.shape[0], "i"), _index(j, w.shape[1], "j")] = _value(value)

    def set_bias(self, layer: int, j: int, value: float) -> None:
        """The bias of neuron j in the layer that weight matrix `layer` feeds."""
        b = self.biases[_index(layer, len(self.biases), "layer")]
        b[_index(j, len(b), "j")] = _value(value)

    def zero(self) -> None:
        """Every weight and bias 0. With tanh or relu hidden layers every weight's gradient is
        then 0 too and only the output bias learns (sigmoid: the neurons of a layer stay
        copies of each other): a lesson in why networks start at random."""
        for p in (*self.weights, *self.biases):
            p[...] = 0.0

    def n_params(self) -> int:
        return sum(w.size + b.size for w, b in zip(self.weights, self.biases))


def _index(k, n: int, what: str) -> int:
    if isinstance(k, bool) or int(k) != k or not 0 <= k < n:
        raise IndexError(f"{what} {k!r} out of range 0–{n - 1}")
    return int(k)


def _value(v) -> float:
    v = float(v)
    if not math.isfinite(v):
        raise ValueError(f"a weight must be a finite number, not {v}")
    return v
