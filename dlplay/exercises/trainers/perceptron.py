"""The perceptron learns to split two overlapping clouds with the learner's update rule."""
import numpy as np


def train(update, seed=0, epochs=12, n=200, lr=0.1):
    """Two overlapping Gaussian clouds, labels -1 and +1, a 1 appended to each point for the bias; online
    passes in a seeded random order from w = 0; accuracy and mistakes after every pass."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal([-1.0, -1.0], 0.9, (n // 2, 2)), rng.normal([1.0, 1.0], 0.9, (n // 2, 2))])
    X = np.hstack([X, np.ones((n, 1))])
    y = np.array([-1.0] * (n // 2) + [1.0] * (n // 2))
    w = np.zeros(3)
    for epoch in range(1, epochs + 1):
        for i in rng.permutation(n):
            w = np.asarray(update(w, X[i], y[i], lr), dtype=float)
        right = np.sign(X @ w) == y
        yield {"epoch": epoch, "accuracy": float(right.mean()), "mistakes": int((~right).sum())}
