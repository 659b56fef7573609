"""Rosenblatt's perceptron and the walk through the data that trains it.

The model: ŷ = step(w·x + b). The rule: after a mistake, w += lr·(y − ŷ)·x and
b += lr·(y − ŷ), which tips the line towards the misclassified point. If a line can
separate the classes the rule finds one after finitely many updates (Novikoff's
theorem); if none can (XOR) it never stops updating.
"""
from __future__ import annotations

import numpy as np


class Perceptron:
    def __init__(self, n_inputs: int = 2, lr: float = 0.1, seed: int = 0):
        rng = np.random.default_rng(seed)
        # A small random start so there is a line to look at before the first update.
        self.w = rng.normal(0, 0.5, n_inputs)
        self.b = float(rng.normal(0, 0.1))
        self.lr = lr

    def score(self, X) -> np.ndarray:
        return np.asarray(X) @ self.w + self.b

    def predict(self, X) -> np.ndarray:
        """The step activation: 1 where w·x + b > 0, else 0."""
        return (self.score(X) > 0).astype(int)

    def update(self, x, y) -> None:
        """The perceptron rule for one example (does nothing when it is already right)."""
        error = y - int(self.score(x) > 0)
        self.w = self.w + self.lr * error * np.asarray(x, float)
        self.b += self.lr * error

    def batch_update(self, X, y) -> None:
        """The rule summed over all examples at once: every mistake pulls together."""
        errors = np.asarray(y) - self.predict(X)
        self.w = self.w + self.lr * errors @ np.asarray(X, float)
        self.b += self.lr * float(errors.sum())


class PerceptronTraining:
    """Steps the perceptron through the data one update at a time, counting updates and epochs.

    online: each step visits the points in order from where the last one stopped and
    updates on the next misclassified point. batch: each step is one epoch — one update
    from all misclassified points together. Training has converged when no point is
    misclassified. The data is passed to every step, so points can be added on the way.
    """

    def __init__(self, perceptron: Perceptron, mode: str = "online"):
        if mode not in ("online", "batch"):
            raise ValueError("mode is 'online' or 'batch'")
        self.model, self.mode = perceptron, mode
        self.cursor = 0  # next point to visit (online)
        self.epoch = 0  # passes through the data that contained updates
        self.updates = 0
        self.last = np.array([], dtype=int)  # the point(s) that caused the latest update
        self.history: list[tuple[int, int]] = []  # (updates, misclassified points after it)

    def mistakes(self, X, y) -> np.ndarray:
        return np.flatnonzero(self.model.predict(X) != np.asarray(y))

    def converged(self, X, y) -> bool:
        return len(self.mistakes(X, y)) == 0

    def step(self, X, y) -> np.ndarray:
        """One update; returns the index (online) or indices (batch) of the misclassified
        points it used, or an empty array when every point is already right."""
        wrong = self.mistakes(X, y)
        if len(wrong) == 0:
            self.last = np.array([], dtype=int)
            return self.last
        if self.mode == "batch":
            self.model.batch_update(X, y)
            self.epoch += 1
            self.last = wrong
        else:
            self.epoch = max(self.epoch, 1)
            after = wrong[wrong >= self.cursor]
            if len(after) == 0:  # no mistake left in this pass: start the next one
                self.epoch += 1
                after = wrong
            i = int(after[0])
            self.model.update(X[i], y[i])
            self.cursor = i + 1
            self.last = np.array([i])
        self.updates += 1
        self.history.append((self.updates, len(self.mistakes(X, y))))
        return self.last

    def run(self, X, y, max_updates: int = 1000) -> bool:
        """Step until converged or `max_updates` more updates; True if converged."""
        for _ in range(max_updates):
            if len(self.step(X, y)) == 0:
                return True
        return self.converged(X, y)
