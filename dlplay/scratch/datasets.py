"""Tiny seeded datasets for the from-scratch lessons: 2-D points that a line can
separate, XOR clouds that it cannot, logic-gate truth tables, and a noisy 1-D
function for regression. Labels are 0/1 integers; every generator is reproducible
from its seed."""
from __future__ import annotations

import numpy as np

BOX = 1.0  # points live in [-BOX, BOX]²

GATES = {  # outputs for inputs (0,0), (0,1), (1,0), (1,1)
    "AND": [0, 0, 0, 1],
    "OR": [0, 1, 1, 1],
    "NAND": [1, 1, 1, 0],
    "XOR": [0, 1, 1, 0],
    "XNOR": [1, 0, 0, 1],
}


def linearly_separable(n: int = 40, seed: int = 0, margin: float = 0.1) -> tuple[np.ndarray, np.ndarray]:
    """n points in the box on both sides of a random line, none closer to it than `margin`."""
    rng = np.random.default_rng(seed)
    angle = rng.uniform(0, 2 * np.pi)
    normal, offset = np.array([np.cos(angle), np.sin(angle)]), rng.uniform(-0.3, 0.3)
    points = []
    while len(points) < n:
        p = rng.uniform(-BOX * 0.95, BOX * 0.95, size=2)
        if abs(p @ normal - offset) >= margin:
            points.append(p)
    X = np.array(points)
    y = (X @ normal - offset > 0).astype(int)
    if y.min() == y.max():  # all on one side: flip the farthest half so both classes appear
        y[np.argsort(X @ normal)[: n // 2]] = 1 - y[0]
    return X, y


def xor_blobs(n: int = 40, seed: int = 0, spread: float = 0.18) -> tuple[np.ndarray, np.ndarray]:
    """Four clouds at (±0.5, ±0.5); class 1 where exactly one coordinate is positive."""
    rng = np.random.default_rng(seed)
    centres = np.array([[-0.5, -0.5], [-0.5, 0.5], [0.5, -0.5], [0.5, 0.5]])
    which = np.arange(n) % 4
    X = np.clip(centres[which] + rng.normal(0, spread, (n, 2)), -BOX * 0.95, BOX * 0.95)
    y = ((centres[which, 0] > 0) != (centres[which, 1] > 0)).astype(int)
    return X, y


def truth_table(gate: str) -> tuple[np.ndarray, np.ndarray]:
    """The four input pairs of a two-input gate and its outputs."""
    if gate not in GATES:
        raise KeyError(f"unknown gate {gate!r}; choose from {', '.join(GATES)}")
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    return X, np.array(GATES[gate])


def true_function(x: np.ndarray) -> np.ndarray:
    """The curve behind the regression data: two bumps, smooth but not a low-degree polynomial."""
    return np.sin(3.0 * x)


def noisy_regression(n: int = 60, noise: float = 0.2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """x uniform in [-1, 1], y = sin(3x) + Gaussian noise of std `noise`; sorted by x."""
    rng = np.random.default_rng(seed)
    x = np.sort(rng.uniform(-1, 1, n))
    return x, true_function(x) + rng.normal(0, noise, n)
