"""A two-layer network on the 8×8 digits built from the learner's dense layer: both layers' outputs and every
gradient are the learner's."""
import numpy as np

from .common import batches, ce_grad, ce_loss, digits


def train(dense, seed=0, epochs=20, hidden=32, lr=0.2):
    """64 → `hidden` (ReLU) → 10 with mini-batch SGD; test accuracy and training loss after every epoch."""
    X, y, Xt, yt = digits(seed)
    rng = np.random.default_rng(seed)
    layers = [[rng.normal(0, np.sqrt(2 / 64), (64, hidden)), np.zeros(hidden)],
              [rng.normal(0, 1 / np.sqrt(hidden), (hidden, 10)), np.zeros(10)]]

    def forward(x):
        h = np.maximum(0, _out(dense, x, *layers[0]))
        return h, _out(dense, h, *layers[1])

    for epoch in range(1, epochs + 1):
        for idx in batches(rng, len(X)):
            h, logits = forward(X[idx])
            g = ce_grad(logits, y[idx])
            _, gh, dW2, db2 = dense(h, *layers[1], g)
            _, _, dW1, db1 = dense(X[idx], *layers[0], np.asarray(gh) * (h > 0))
            for (W, b), dW, db in ((layers[1], dW2, db2), (layers[0], dW1, db1)):
                W -= lr * np.asarray(dW, dtype=float)
                b -= lr * np.asarray(db, dtype=float)
        yield {"epoch": epoch, "accuracy": float(np.mean(forward(Xt)[1].argmax(1) == yt)),
               "loss": ce_loss(forward(X)[1], y)}


def _out(dense, x, W, b):
    """The layer's output alone (its gradients against a zero upstream gradient are not used)."""
    return np.asarray(dense(x, W, b, np.zeros((len(x), W.shape[1])))[0], dtype=float)
