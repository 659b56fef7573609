"""Model selection: K-fold cross-validation and a grid search over hyperparameters.

scikit-learn's KFold and ParameterGrid do the bookkeeping (which rows go in which fold,
every combination of the grid); the training itself is ours. `fit_score(params,
x_train, y_train, x_val, y_val)` trains one model and returns its validation error.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from sklearn.model_selection import KFold, ParameterGrid

from ..jobs import TrainingDiverged
from .mlp import MLP
from .train import fit

FitScore = Callable[[dict, np.ndarray, np.ndarray, np.ndarray, np.ndarray], float]


def folds(n: int, k: int = 5, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train indices, validation indices) for each of k shuffled folds."""
    return list(KFold(n_splits=k, shuffle=True, random_state=seed).split(np.arange(n)))


def cross_val_errors(fit_score: FitScore, params: dict, x, y, k: int = 5, seed: int = 0) -> list[float]:
    """Validation error on each fold, training on the other k − 1."""
    return [fit_score(params, x[tr], y[tr], x[va], y[va]) for tr, va in folds(len(x), k, seed)]


@dataclass
class GridPoint:
    params: dict
    fold_errors: list[float] = field(default_factory=list)
    note: str = ""

    @property
    def cv_error(self) -> float:
        return float(np.mean(self.fold_errors)) if self.fold_errors else math.inf

    @property
    def cv_std(self) -> float:
        return float(np.std(self.fold_errors)) if self.fold_errors else math.nan


def grid_search(fit_score: FitScore, grid: dict[str, list], x, y, k: int = 5, seed: int = 0,
                job=None) -> list[GridPoint]:
    """Cross-validate every combination in `grid`; returns them best (lowest CV error) first.
    A setting that diverges is kept with an infinite error and a note instead of stopping the search."""
    combos = [{k: p[k] for k in grid} for p in ParameterGrid(grid)]  # keep the caller's key order
    results = []
    for i, params in enumerate(combos):
        if job is not None:
            job.check_cancelled()
            job.set_progress(i / len(combos), f"setting {i + 1} of {len(combos)}: {_short(params)}")
        point = GridPoint(params)
        try:
            point.fold_errors = cross_val_errors(fit_score, params, x, y, k, seed)
        except TrainingDiverged as exc:
            point.note = str(exc)
        if not all(map(math.isfinite, point.fold_errors)):
            point.fold_errors, point.note = [], point.note or "diverged"
        results.append(point)
        if job is not None:
            job.metric(step=i + 1, split="grid", cv_error=point.cv_error, **params)
    return sorted(results, key=lambda p: p.cv_error)


def _short(params: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


# --- the MLP regressor the regression page searches over ----------------------------------------

def mlp_regressor(depth: int = 1, width: int = 16, lr: float = 0.05, l2: float = 0.0,
                  activation: str = "tanh", seed: int = 0) -> MLP:
    """1 input → `depth` hidden layers of `width` units → 1 linear output, MSE loss."""
    return MLP([1] + [width] * depth + [1], activation=activation, loss="mse", l2=l2, seed=seed)


def fit_regressor(params: dict, x, y, epochs: int = 1500, seed: int = 0) -> MLP:
    """Train an `mlp_regressor(**params)` full batch with momentum SGD on 1-D inputs."""
    kw = {k: v for k, v in params.items() if k in ("depth", "width", "l2", "activation")}
    net = mlp_regressor(**kw, seed=seed)
    fit(net, np.reshape(x, (-1, 1)), np.reshape(y, (-1, 1)), lr=params["lr"], momentum=0.9, epochs=epochs)
    return net


def regressor_error(params: dict, x_tr, y_tr, x_val, y_val, epochs: int = 1500) -> float:
    """Validation MSE of an MLP regressor trained on (x_tr, y_tr): a `FitScore`."""
    net = fit_regressor(params, x_tr, y_tr, epochs)
    pred = net.forward(np.reshape(x_val, (-1, 1))).reshape(-1)
    return float(np.mean((pred - np.asarray(y_val)) ** 2))


@dataclass
class Search:
    points: list[GridPoint]  # best first
    best: MLP  # the winning setting retrained on all the data

    def table(self) -> list[dict]:
        return [{**p.params, "cv_mse": p.cv_error, "cv_std": p.cv_std, "note": p.note} for p in self.points]


def search_regressor(x, y, grid: dict[str, list], k: int = 5, epochs: int = 1500, seed: int = 0,
                     job=None) -> Search:
    """Grid search over MLP regressors with K-fold CV, then refit the winner on everything."""
    def score(params, x_tr, y_tr, x_val, y_val):
        if job is not None:
            job.check_cancelled()
        return regressor_error(params, x_tr, y_tr, x_val, y_val, epochs)

    points = grid_search(score, grid, x, y, k, seed, job)
    if not math.isfinite(points[0].cv_error):
        raise TrainingDiverged("every setting diverged — lower the learning rates in the grid and search again")
    if job is not None:
        job.set_progress(0.99, "retraining the best setting on all the data")
    return Search(points, fit_regressor(points[0].params, x, y, epochs, seed))
