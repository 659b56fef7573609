"""A PyTorch MLP as a scikit-learn estimator, so GridSearchCV and RandomizedSearchCV search
it as the assignment does (what skorch's NeuralNetClassifier gives, in a page of code over
dlplay's own training loop).

Every hyperparameter is an `__init__` argument stored as is (scikit-learn's `clone` and
`set_params` rely on it); `fit` builds a fresh network each time. A search watching its
trials (`dlplay.craft.search`) sets a `Watch` for the duration: fits then report progress to
its job and honour Stop, and every validation score reaches it — GridSearchCV keeps its
per-fold scores to itself until the very end.
"""
from __future__ import annotations

import contextvars
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin

from ..jobs import Cancelled, TrainingDiverged
from ..models.mlp import MLP
from ..train import TrainConfig, evaluate, fit, predict_proba

HYPERPARAMETERS = ("lr", "width", "depth", "dropout", "weight_decay", "batch_size")


@dataclass
class Watch:
    """What a running search wants from each fit: its job (Stop, progress), and every score."""
    job: object | None = None  # a TrialJob: Stop reaches the fit, its progress becomes the search's
    on_score: Callable[[dict, float, "MLPNet"], None] | None = None  # (hyperparameters, score, fitted estimator)


WATCH: contextvars.ContextVar[Watch | None] = contextvars.ContextVar("dlplay_search_watch", default=None)


class TrialJob:
    """What `dlplay.train.fit` sees as its job during one trial: Stop reaches it, its progress
    becomes the search's (`progress(fraction, status)`), its per-step rows are dropped — the
    search reports whole trials."""

    def __init__(self, job, progress: Callable[[float, str | None], None]):
        self.job, self.report = job, progress
        self.progress = 0.0  # as a Job's: `fit` reads it to keep the bar where it is while it measures

    def check_cancelled(self) -> None:
        if self.job is not None:
            self.job.check_cancelled()

    def stopped_at(self, note: str) -> None:
        raise Cancelled()  # a stopped trial ends the search; the search keeps what it has

    def set_progress(self, fraction: float, status: str | None = None) -> None:
        self.progress = fraction
        self.report(fraction, status)

    def metric(self, **row) -> None:
        pass

    def log(self, message: str) -> None:
        pass


class MLPNet(ClassifierMixin, BaseEstimator):
    """784 → width × depth (ReLU, dropout) → classes, trained with Adam (weight decay) for
    `epochs` at a constant learning rate. X: float32 pixels (n, features); y: class labels."""

    def __init__(self, lr: float = 1e-3, width: int = 128, depth: int = 2, dropout: float = 0.0,
                 weight_decay: float = 0.0, batch_size: int = 64, epochs: int = 3, seed: int = 0,
                 norm: tuple[float, float] = (0.0, 1.0)):
        self.lr, self.width, self.depth, self.dropout = lr, width, depth, dropout
        self.weight_decay, self.batch_size, self.epochs, self.seed, self.norm = weight_decay, batch_size, epochs, seed, norm

    def hyperparameters(self) -> dict:
        """The searched settings as plain numbers (scipy's distributions hand out numpy floats)."""
        return {"lr": float(self.lr), "width": int(round(self.width)), "depth": int(self.depth),
                "dropout": float(self.dropout), "weight_decay": float(self.weight_decay),
                "batch_size": int(self.batch_size)}

    def build(self, in_features: int, n_classes: int) -> MLP:
        h = self.hyperparameters()
        return MLP(in_features, (h["width"],) * h["depth"], n_classes, dropout=h["dropout"], norm=tuple(self.norm))

    def fit(self, X, y, eval_set: tuple | None = None, callbacks: tuple = ()) -> "MLPNet":
        """Train a fresh network. `eval_set`: (X_val, y_val) scored after every epoch and passed to
        `callbacks` (each `cb.on_epoch_end(model, epoch, row)` — Optuna's pruning watches these)."""
        x, labels = _tensor(X), np.asarray(y)
        self.classes_ = np.unique(labels)
        yt = torch.from_numpy(np.searchsorted(self.classes_, labels).astype(np.int64))
        val = None
        if eval_set is not None:
            val = (_tensor(eval_set[0]), torch.from_numpy(np.searchsorted(self.classes_, np.asarray(eval_set[1])).astype(np.int64)))
        h = self.hyperparameters()
        torch.manual_seed(int(self.seed))
        self.model_ = self.build(x.shape[1], len(self.classes_))
        cfg = TrainConfig(optimizer="adam", lr=h["lr"], batch_size=h["batch_size"], epochs=int(self.epochs),
                          l2=h["weight_decay"], schedule="constant", seed=int(self.seed))
        watch = WATCH.get()
        t0 = time.perf_counter()
        self.diverged_ = ""
        try:
            self.history_ = fit(self.model_, (x, yt), val, cfg, job=watch.job if watch else None,
                                callbacks=tuple(callbacks))
        except TrainingDiverged as exc:  # a result, not a crash: the search scores it as it is
            self.diverged_, self.history_ = str(exc), None
        self.fit_seconds_ = time.perf_counter() - t0
        return self

    def predict_proba(self, X) -> np.ndarray:
        probs = predict_proba(self.model_, _tensor(X)).numpy()
        return np.nan_to_num(probs, nan=1.0 / len(self.classes_))  # a diverged network guesses

    def predict(self, X) -> np.ndarray:
        return self.classes_[self.predict_proba(X).argmax(1)]

    def score(self, X, y, sample_weight=None) -> float:
        value = float(super().score(X, y, sample_weight))
        watch = WATCH.get()
        if watch is not None and watch.on_score is not None:
            watch.on_score(self.hyperparameters(), value, self)
        return value

    def evaluate(self, X, y) -> dict:
        """Loss and accuracy of the fitted network (labels as classes_ indices)."""
        yt = torch.from_numpy(np.searchsorted(self.classes_, np.asarray(y)).astype(np.int64))
        return evaluate(self.model_, _tensor(X), yt)


def _tensor(X) -> torch.Tensor:
    return X.float() if isinstance(X, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(X, dtype=np.float32))
