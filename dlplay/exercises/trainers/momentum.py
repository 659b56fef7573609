"""Momentum down a long narrow valley with the learner's step."""
import numpy as np


def train(momentum_step, seed=0, epochs=40, lr=0.02, beta=0.9):
    """f(w) = ½(w₀² + 25·w₁²) from (-4, 1.5): momentum's steps across the valley; the loss after each."""
    scale = np.array([1.0, 25.0])
    w, v = np.array([-4.0, 1.5]), np.zeros(2)
    for epoch in range(1, epochs + 1):
        w, v = (np.asarray(a, dtype=float) for a in momentum_step(w, v, scale * w, lr, beta))
        yield {"epoch": epoch, "loss": float(0.5 * np.sum(scale * w ** 2))}
