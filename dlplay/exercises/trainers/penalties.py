"""Softmax regression on a few hundred digits, with the learner's L1 and L2 penalty gradients added to the
loss's: the penalty holds the weights back from fitting the few examples."""
import numpy as np

from .common import ce_grad, digits


def train(penalty_grad, seed=0, epochs=40, n=200, l1=0.002, l2=0.002, lr=1.0):
    """Full-batch gradient descent on `n` training digits (the rest held out for testing); test accuracy, the
    weights' size and the share of weights near zero after every step."""
    X, y, Xt, yt = digits(seed)
    X, y = X[:n], y[:n]
    W, b = np.zeros((64, 10)), np.zeros(10)
    for epoch in range(1, epochs + 1):
        g = ce_grad(X @ W + b, y)
        W -= lr * (X.T @ g + np.asarray(penalty_grad(W, l1, l2), dtype=float))
        b -= lr * g.sum(0)
        yield {"epoch": epoch, "accuracy": float(np.mean((Xt @ W + b).argmax(1) == yt)),
               "weight_norm": float(np.sqrt(np.sum(W ** 2))), "near_zero": float(np.mean(np.abs(W) < 1e-3))}
