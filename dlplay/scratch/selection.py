"""Model selection: K-fold cross-validation and a grid search over hyperparameters.

scikit-learn's KFold and ParameterGrid do the bookkeeping (which rows go in which fold,
every combination of the grid); the training itself is ours. `fit_score(params,
x_train, y_train, x_val, y_val)` trains one model and returns its validation error.
`LESSON` makes the regression page's search a stored run (page "regsel"): its table,
its points and the winner retrained on them.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np
from sklearn.model_selection import KFold, ParameterGrid

from ..jobs import Cancelled, TrainingDiverged
from ..runs.codec import Codec, Form
from ..runs.lesson import Lesson
from ..runs.lesson import Figure
from .datasets import noisy_regression
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
    return sorted(grid_points(fit_score, grid, x, y, k, seed, job), key=lambda p: p.cv_error)


def n_settings(grid: dict[str, list]) -> int:
    return len(ParameterGrid(grid))


def grid_points(fit_score: FitScore, grid: dict[str, list], x, y, k: int = 5, seed: int = 0,
                job=None) -> Iterator[GridPoint]:
    """`grid_search`'s settings one at a time, in grid order, each as soon as it is cross-validated."""
    combos = [{k: p[k] for k in grid} for p in ParameterGrid(grid)]  # keep the caller's key order
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
        if job is not None:
            job.metric(step=i + 1, split="grid", cv_error=point.cv_error, **params)
        yield point


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
    points: list[GridPoint]  # best first (only those cross-validated before a Stop)
    best: MLP  # the winning setting retrained on all the data
    x: np.ndarray  # the points searched on
    y: np.ndarray
    stopped: str = ""  # "stopped after 5 of 24 settings" when Stop was pressed

    def table(self) -> list[dict]:
        return [{**p.params, "cv_mse": p.cv_error, "cv_std": p.cv_std, "note": p.note} for p in self.points]

    @property
    def winner_mse(self) -> float:
        """The retrained winner's mean squared error on all the points (the export script prints it too)."""
        pred = self.best.forward(np.reshape(self.x, (-1, 1))).reshape(-1)
        return float(np.mean((pred - self.y) ** 2))


def search_regressor(x, y, grid: dict[str, list], k: int = 5, epochs: int = 1500, seed: int = 0,
                     job=None) -> Search:
    """Grid search over MLP regressors with K-fold CV, then refit the winner on everything.
    Stop ends the search after the settings done so far, and the best of those is refit."""
    def score(params, x_tr, y_tr, x_val, y_val):
        if job is not None:
            job.check_cancelled()
        return regressor_error(params, x_tr, y_tr, x_val, y_val, epochs)

    points, stopped = [], ""
    try:
        for point in grid_points(score, grid, x, y, k, seed, job):
            points.append(point)
    except Cancelled:
        if not any(math.isfinite(p.cv_error) for p in points):
            raise  # no setting finished: nothing to keep
        stopped = f"stopped after {len(points)} of {n_settings(grid)} settings"
        job.stopped_at(stopped)
    points.sort(key=lambda p: p.cv_error)
    if not math.isfinite(points[0].cv_error):
        raise TrainingDiverged("every setting diverged — lower the learning rates in the grid and search again")
    if job is not None:
        job.set_progress(0.99, "retraining the best setting on all the data")
    best = fit_regressor(points[0].params, x, y, epochs, seed)
    return Search(points, best, np.asarray(x, float), np.asarray(y, float), stopped)


# --- the regression page's search as a stored run (dlplay.runs) ---------------------------------

@dataclass
class SearchSpec:
    n_points: int = 60
    noise: float = 0.25
    seed: int = 0
    depths: tuple[int, ...] = (1, 2)
    widths: tuple[int, ...] = (2, 16)
    lrs: tuple[float, ...] = (0.003, 0.1)
    l2s: tuple[float, ...] = (0.0, 0.01)
    k: int = 5
    epochs: int = 1000

    def grid(self) -> dict[str, list]:
        return {"depth": list(self.depths), "width": list(self.widths), "lr": list(self.lrs), "l2": list(self.l2s)}

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        return noisy_regression(self.n_points, self.noise, self.seed)


def run_search(spec: SearchSpec, job=None) -> Search:
    x, y = spec.data()
    return search_regressor(x, y, spec.grid(), k=spec.k, epochs=spec.epochs, seed=spec.seed, job=job)


def _best_net(spec: SearchSpec, summary: dict):
    """The winner's network, empty: the first point's setting."""
    params = summary["points"][0]["params"]
    return mlp_regressor(**{k: v for k, v in params.items() if k in ("depth", "width", "l2", "activation")},
                         seed=spec.seed)


POINTS = Form(lambda points: [{"params": p.params, "fold_errors": p.fold_errors, "note": p.note} for p in points],
              lambda rows: [GridPoint(r["params"], list(r["fold_errors"]), r["note"]) for r in rows])
CODEC = Codec(Search, models={"best": _best_net}, forms={"points": POINTS},
              headline=lambda r: f"best CV MSE {r.points[0].cv_error:.4f}",
              extra=lambda r: {"winner_mse": r.winner_mse, "cv_mse": r.points[0].cv_error, "winner": r.points[0].params})
save_result, load_result = CODEC.save, CODEC.load


def brief(spec: SearchSpec) -> str:
    n = n_settings(spec.grid())
    return f"{n} setting{'s' if n != 1 else ''} × {spec.k} folds · {spec.n_points} points · noise {spec.noise:g}"


def _script(spec: SearchSpec, run) -> str:
    from .stored import regression_script

    return regression_script(spec, run)


def work(spec: SearchSpec):
    """Fits the search makes: grid settings × folds (a shared server caps it)."""
    from ..limits import Work

    return Work(n_settings(spec.grid()), "setting", spec.k, "folds", unit="fits")


LESSON = Lesson(page="regsel", figure=Figure("cv_mse", "best cross-validated MSE", higher=False),
                spec_type=SearchSpec, train=run_search, save=save_result, load=load_result, brief=brief,
                script=_script, curves=("cv_error",), work=work)
