"""A multilayer perceptron in NumPy with hand-written backpropagation.

Every piece has `forward(x)`, which remembers what the way back needs, and
`backward(grad_out) -> grad_in`, which applies the chain rule for that piece and
stores its parameters' gradients on the way. `MLP.backward` calls them in reverse
order: that is all backprop is. Arrays are float64 so the gradients can be checked
against finite differences.
"""
from __future__ import annotations

import numpy as np


class Param:
    """An array and the gradient of the loss with respect to it (micrograd's Value, one array at a time)."""

    def __init__(self, value: np.ndarray):
        self.value = value
        self.grad = np.zeros_like(value)


class Linear:
    """y = x W + b."""

    def __init__(self, n_in: int, n_out: int, rng: np.random.Generator, gain: float = 1.0,
                 dtype=np.float64):
        # Weights scaled by 1/sqrt(fan-in) keep activations about the same size layer after layer.
        self.W = Param(rng.normal(0.0, gain / np.sqrt(n_in), (n_in, n_out)).astype(dtype))
        self.b = Param(np.zeros(n_out, dtype))

    def forward(self, x):
        self.x = x
        return x @ self.W.value + self.b.value

    def backward(self, grad):
        self.W.grad = self.x.T @ grad
        self.b.grad = grad.sum(axis=0)
        return grad @ self.W.value.T

    def parameters(self) -> list[Param]:
        return [self.W, self.b]


class Sigmoid:
    def forward(self, z):
        self.out = 1.0 / (1.0 + np.exp(-np.clip(z, -500, 500)))  # clip: no overflow warning for huge |z|
        return self.out

    def backward(self, grad):
        return grad * self.out * (1.0 - self.out)

    def parameters(self):
        return []


class Tanh:
    def forward(self, z):
        self.out = np.tanh(z)
        return self.out

    def backward(self, grad):
        return grad * (1.0 - self.out ** 2)

    def parameters(self):
        return []


class ReLU:
    def forward(self, z):
        self.mask = z > 0
        return z * self.mask

    def backward(self, grad):
        return grad * self.mask

    def parameters(self):
        return []


class Identity:
    def forward(self, z):
        return z

    def backward(self, grad):
        return grad

    def parameters(self):
        return []


ACTIVATIONS = {"sigmoid": Sigmoid, "tanh": Tanh, "relu": ReLU, "identity": Identity}
GAINS = {"relu": np.sqrt(2.0)}  # He initialisation for ReLU, 1/sqrt(fan-in) for the others


class MSELoss:
    """Mean squared error over all outputs (same as torch's F.mse_loss)."""

    def forward(self, pred, target):
        self.diff = pred - target.reshape(pred.shape)
        return float(np.mean(self.diff ** 2))

    def backward(self):
        return 2.0 * self.diff / self.diff.size


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)  # shift: same result, no overflow
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


class SoftmaxCrossEntropy:
    """Softmax of the logits, then the mean negative log-probability of the true class
    (same as torch's F.cross_entropy). Together their gradient is simply p - onehot."""

    def forward(self, logits, labels):
        self.p = softmax(logits)
        self.labels = np.asarray(labels, dtype=int)
        # −log p_y computed as logsumexp(z) − z_y: exact even where p_y rounds to 0.
        z = logits - logits.max(axis=1, keepdims=True)
        log_p = z[np.arange(len(self.labels)), self.labels] - np.log(np.exp(z).sum(axis=1))
        return float(-np.mean(log_p))

    def backward(self):
        grad = self.p.copy()
        grad[np.arange(len(self.labels)), self.labels] -= 1.0
        return grad / len(self.labels)


LOSSES = {"mse": MSELoss, "cross_entropy": SoftmaxCrossEntropy}


class MLP:
    """Linear → activation → … → Linear → output, with its loss and an L2 penalty.

    sizes: units per layer including input and output, e.g. [2, 4, 1].
    loss: "mse" (the output goes through `output`: identity for regression, sigmoid
    for 0/1 targets) or "cross_entropy" (the output is logits; softmax is in the loss).
    l2: adds l2/2 · Σ W² over the weight matrices (not the biases) to the loss.
    dtype: float64 (exact enough for gradient checks) or float32 (twice as fast on images).
    """

    def __init__(self, sizes: list[int], activation: str = "tanh", loss: str = "mse",
                 output: str = "identity", l2: float = 0.0, seed: int = 0, dtype=np.float64):
        if len(sizes) < 2:
            raise ValueError("an MLP needs at least an input and an output size")
        if loss == "cross_entropy" and output != "identity":
            raise ValueError("cross-entropy takes logits: use output='identity'")
        rng = np.random.default_rng(seed)
        self.sizes, self.activation, self.l2 = list(sizes), activation, l2
        self.layers: list = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            self.layers.append(Linear(n_in, n_out, rng, GAINS.get(activation, 1.0), dtype))
            self.layers.append(ACTIVATIONS[output if last else activation]())
        self.loss_fn = LOSSES[loss]()
        self.loss_name = loss

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        for W in self.weights():  # d/dW of l2/2 · W² is l2 · W
            W.grad = W.grad + self.l2 * W.value
        return grad

    def parameters(self) -> list[Param]:
        return [p for layer in self.layers for p in layer.parameters()]

    def weights(self) -> list[Param]:
        return [layer.W for layer in self.layers if isinstance(layer, Linear)]

    def state_dict(self) -> dict[str, np.ndarray]:
        """Each Linear layer's "<i>.W" (in, out, NumPy's own layout) and "<i>.b", copied: what a
        stored run keeps (`dlplay.runs.codec`), while the network may train on."""
        linears = [layer for layer in self.layers if isinstance(layer, Linear)]
        return {f"{i}.{k}": np.array(getattr(layer, k).value) for i, layer in enumerate(linears) for k in "Wb"}

    def load_state_dict(self, weights: dict) -> None:
        """Puts `state_dict`'s weights (arrays, or tensors read back from a run) into this network."""
        for i, layer in enumerate(layer for layer in self.layers if isinstance(layer, Linear)):
            for k in "Wb":
                param = getattr(layer, k)
                param.value = np.asarray(weights[f"{i}.{k}"]).astype(param.value.dtype)

    def penalty(self) -> float:
        return 0.5 * self.l2 * sum(float(np.sum(W.value ** 2)) for W in self.weights())

    def loss(self, x, y) -> float:
        """Forward pass, loss plus penalty, backward pass: every Param's .grad is filled."""
        value = self.loss_fn.forward(self.forward(x), y) + self.penalty()
        self.backward(self.loss_fn.backward())
        return value

    def predict(self, x) -> np.ndarray:
        """Class probabilities for cross-entropy, else the output itself."""
        out = self.forward(x)
        return softmax(out) if self.loss_name == "cross_entropy" else out

    def hidden(self, x) -> list[np.ndarray]:
        """Each hidden layer's activations (after the nonlinearity) for inputs x."""
        acts = []
        for layer in self.layers[:-2]:
            x = layer.forward(x)
            if not isinstance(layer, Linear):
                acts.append(x)
        return acts

    def n_parameters(self) -> int:
        return sum(p.value.size for p in self.parameters())


class SGD:
    """Stochastic gradient descent with momentum, written as torch.optim.SGD does it:
    velocity = momentum · velocity + grad; param -= lr · velocity."""

    def __init__(self, params: list[Param], lr: float = 0.1, momentum: float = 0.0):
        self.params, self.lr, self.momentum = params, lr, momentum
        self.velocity = [np.zeros_like(p.value) for p in params]

    def step(self) -> None:
        for p, v in zip(self.params, self.velocity):
            v *= self.momentum
            v += p.grad
            p.value -= self.lr * v
