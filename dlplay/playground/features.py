"""Input features computed from a point (x1, x2), as TensorFlow Playground offers them.

Keys are the playground's URL names, so its links' feature switches carry over.
"""
from __future__ import annotations

import numpy as np

# key -> (label, function of x1, x2); the order is the playground's, top to bottom
FEATURES = {
    "x": ("X₁", lambda a, b: a),
    "y": ("X₂", lambda a, b: b),
    "xSquared": ("X₁²", lambda a, b: a * a),
    "ySquared": ("X₂²", lambda a, b: b * b),
    "xTimesY": ("X₁X₂", lambda a, b: a * b),
    "sinX": ("sin(X₁)", lambda a, b: np.sin(a)),
    "sinY": ("sin(X₂)", lambda a, b: np.sin(b)),
}


def label(key: str) -> str:
    return FEATURES[key][0]


def ordered(keys) -> list[str]:
    """The chosen keys in the playground's order (so the URL and the network agree)."""
    chosen = set(keys)
    return [k for k in FEATURES if k in chosen]


def compute(points: np.ndarray, keys) -> np.ndarray:
    """(n, 2) points -> (n, len(keys)) feature matrix, columns in `ordered(keys)` order."""
    a, b = points[:, 0], points[:, 1]
    cols = [FEATURES[k][1](a, b) for k in ordered(keys)]
    return np.stack(cols, 1) if cols else np.zeros((len(points), 0))
