"""A one-hidden-layer network on the 8×8 digits whose hidden units use the learner's activation: its values
going forward, its derivative coming back."""
import numpy as np

from .common import batches, ce_grad, ce_loss, digits


def train(activation, seed=0, epochs=20, hidden=32, lr=0.5):
    """64 → `hidden` (the learner's activation) → 10, mini-batch SGD of the mean cross-entropy, weights drawn
    by `seed`; test accuracy and training loss after every epoch."""
    X, y, Xt, yt = digits(seed)
    rng = np.random.default_rng(seed)
    W1, b1 = rng.normal(0, 1 / np.sqrt(64), (64, hidden)), np.zeros(hidden)
    W2, b2 = rng.normal(0, 1 / np.sqrt(hidden), (hidden, 10)), np.zeros(10)

    def forward(x):
        a, da = (np.asarray(v, dtype=float) for v in activation(x @ W1 + b1))
        return a, da, a @ W2 + b2

    for epoch in range(1, epochs + 1):
        for idx in batches(rng, len(X)):
            a, da, logits = forward(X[idx])
            g = ce_grad(logits, y[idx])
            gh = (g @ W2.T) * da
            W2 -= lr * a.T @ g
            b2 -= lr * g.sum(0)
            W1 -= lr * X[idx].T @ gh
            b1 -= lr * gh.sum(0)
        yield {"epoch": epoch, "accuracy": float(np.mean(forward(Xt)[2].argmax(1) == yt)),
               "loss": ce_loss(forward(X)[2], y)}
