"""The six datasets of TensorFlow Playground (its dataset.ts), seeded, and two with more classes.

Every generator returns `(points (n, 2), labels (n,))`. Binary labels are +1 (blue) /
-1 (orange); multi-class labels are the classes 0..k−1 (as floats); regression labels are
real numbers, about -1 to 1.
`noise` is a fraction, 0 to 0.5, as the playground's 0–50 slider divided by 100.
"""
from __future__ import annotations

import numpy as np

RADIUS = 6.0  # points live in [-6, 6]², the heatmap's square


def _uniform(rng, a, b, n):
    return rng.uniform(a, b, n)


def circle(n: int, noise: float, rng: np.random.Generator):
    """Half the points inside radius 2.5 (blue), half in the ring 3.5–5 (orange).
    Noise jitters the point used for the label, so some land on the wrong side."""
    radius = 5.0
    half = n // 2
    r = np.concatenate([_uniform(rng, 0, radius * 0.5, half), _uniform(rng, radius * 0.7, radius, n - half)])
    angle = _uniform(rng, 0, 2 * np.pi, n)
    pts = np.stack([r * np.sin(angle), r * np.cos(angle)], 1)
    jitter = rng.uniform(-radius, radius, (n, 2)) * noise
    labels = np.where(np.hypot(*(pts + jitter).T) < radius * 0.5, 1.0, -1.0)
    return pts, labels


def xor(n: int, noise: float, rng: np.random.Generator):
    """Quadrants: blue where x1·x2 ≥ 0. A 0.3 gap keeps points off the axes."""
    pts = rng.uniform(-5, 5, (n, 2))
    pts += np.where(pts > 0, 0.3, -0.3)
    jitter = rng.uniform(-5, 5, (n, 2)) * noise
    shifted = pts + jitter
    labels = np.where(shifted[:, 0] * shifted[:, 1] >= 0, 1.0, -1.0)
    return pts, labels


def gauss(n: int, noise: float, rng: np.random.Generator):
    """Two Gaussian blobs at (2, 2) blue and (-2, -2) orange; noise widens them
    (variance 0.5 at no noise up to 4 at the most)."""
    variance = 0.5 + noise / 0.5 * 3.5
    half = n // 2
    blue = rng.normal(2.0, np.sqrt(variance), (half, 2))
    orange = rng.normal(-2.0, np.sqrt(variance), (n - half, 2))
    return np.concatenate([blue, orange]), np.concatenate([np.ones(half), -np.ones(n - half)])


def spiral(n: int, noise: float, rng: np.random.Generator):
    """Two interleaved arms of 1.75 turns each, radius growing to 5."""
    half = n // 2
    pts, labels = [], []
    for delta, label, m in ((0.0, 1.0, half), (np.pi, -1.0, n - half)):
        i = np.arange(m)
        r = i / m * 5
        t = 1.75 * i / m * 2 * np.pi + delta
        arm = np.stack([r * np.sin(t), r * np.cos(t)], 1) + rng.uniform(-1, 1, (m, 2)) * noise
        pts.append(arm)
        labels.append(np.full(m, label))
    return np.concatenate(pts), np.concatenate(labels)


def reg_plane(n: int, noise: float, rng: np.random.Generator):
    """Regression: the label rises linearly along x1 + x2, from -1 to 1."""
    pts = rng.uniform(-RADIUS, RADIUS, (n, 2))
    jitter = rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    return pts, (pts + jitter).sum(1) / 10  # -1.2 … 1.2 in the corners, unclamped as in the playground


_BUMPS = np.array([[-4, 2.5, 1], [0, 2.5, -1], [4, 2.5, 1], [-4, -2.5, -1], [0, -2.5, 1], [4, -2.5, -1]], float)


def reg_gauss(n: int, noise: float, rng: np.random.Generator):
    """Regression: six signed bumps in a 3×2 grid; a point takes the strongest
    bump's value, falling linearly from ±1 at its centre to 0 at distance 2."""
    pts = rng.uniform(-RADIUS, RADIUS, (n, 2))
    jitter = rng.uniform(-RADIUS, RADIUS, (n, 2)) * noise
    return pts, _bump_label(pts + jitter)


def _bump_label(p: np.ndarray) -> np.ndarray:
    d = np.hypot(p[:, None, 0] - _BUMPS[:, 0], p[:, None, 1] - _BUMPS[:, 1])
    values = _BUMPS[:, 2] * np.clip(1 - d / 2, 0, 1)
    return values[np.arange(len(p)), np.abs(values).argmax(1)]


def spiral3(n: int, noise: float, rng: np.random.Generator):
    """Three interleaved arms, classes 0, 1, 2, each of 1.25 turns with radius growing to 5."""
    pts, labels = [], []
    for k, m in enumerate((n // 3, n // 3, n - 2 * (n // 3))):
        i = np.arange(m)
        r = 0.2 + i / m * 4.8
        t = 1.25 * i / m * 2 * np.pi + k * 2 * np.pi / 3
        arm = np.stack([r * np.sin(t), r * np.cos(t)], 1) + rng.uniform(-1, 1, (m, 2)) * noise
        pts.append(arm)
        labels.append(np.full(m, float(k)))
    return np.concatenate(pts), np.concatenate(labels)


def blobs5(n: int, noise: float, rng: np.random.Generator):
    """Five Gaussian blobs, classes 0–4, centred on a circle of radius 3.5; noise widens
    them (standard deviation 0.6 at no noise up to 1.6), clipped to the map."""
    sd = 0.6 + noise * 2
    counts = [n // 5] * 4 + [n - 4 * (n // 5)]
    pts, labels = [], []
    for k, m in enumerate(counts):
        angle = np.pi / 2 + k * 2 * np.pi / 5
        centre = 3.5 * np.array([np.cos(angle), np.sin(angle)])
        pts.append(rng.normal(centre, sd, (m, 2)))
        labels.append(np.full(m, float(k)))
    return np.clip(np.concatenate(pts), -RADIUS, RADIUS), np.concatenate(labels)


# name -> (title, generator, number of points, is regression); names as in the playground's URLs
DATASETS = {
    "circle": ("Circle", circle, 500, False),
    "xor": ("Exclusive or", xor, 500, False),
    "gauss": ("Gaussian", gauss, 500, False),
    "spiral": ("Spiral", spiral, 500, False),
    "reg-plane": ("Plane (regression)", reg_plane, 1200, True),
    "reg-gauss": ("Multi Gaussian (regression)", reg_gauss, 1200, True),
    "spiral3": ("Spiral, 3 classes", spiral3, 600, False),
    "blobs5": ("Blobs, 5 classes", blobs5, 500, False),
}
MULTICLASS = {"spiral3": 3, "blobs5": 5}  # name -> number of classes
MAX_CLASSES = 5  # the most classes the playground trains (its colours)
CLASSIFICATION = [k for k, v in DATASETS.items() if not v[3] and k not in MULTICLASS]  # the ±1 sets
REGRESSION = [k for k, v in DATASETS.items() if v[3]]
CUSTOM = "custom"  # state.dataset for points given to Playground(state, data=...)


def n_classes(name: str) -> int:
    """2 for the ±1 sets, k for the multi-class ones, 0 for regression (KeyError for others)."""
    if name in MULTICLASS:
        return MULTICLASS[name]
    return 0 if DATASETS[name][3] else 2


def generate(name: str, noise: float = 0.0, seed: int = 0, n: int | None = None):
    """Points and labels of dataset `name`, shuffled (so a train/test cut is random)."""
    _, fn, default_n, _ = DATASETS[name]
    rng = np.random.default_rng(seed)
    pts, labels = fn(n or default_n, noise, rng)
    order = rng.permutation(len(pts))
    return pts[order], labels[order]


def split(pts: np.ndarray, labels: np.ndarray, perc_train: int):
    """First `perc_train` % for training, the rest for testing (data is already shuffled)."""
    cut = len(pts) * perc_train // 100
    return (pts[:cut], labels[:cut]), (pts[cut:], labels[cut:])
