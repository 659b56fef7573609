"""The search space: each hyperparameter's range, and the three ways of drawing from it —
a grid of evenly spaced values, scikit-learn's random distributions, Optuna's `suggest_*`.
One range serves all three, so grid, random and Optuna searches compare on the same space.
A range whose two ends are equal keeps that setting fixed."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Param:
    name: str
    low: float
    high: float
    scale: str  # "log" | "linear" | "int" (linear, whole numbers) | "int_log" | "pow2" (powers of two)
    label: str

    @property
    def fixed(self) -> bool:
        return self.low == self.high

    def grid(self, points: int) -> list:
        """`points` values evenly spaced on the parameter's scale, ends included (1: the middle)."""
        if self.fixed:
            return [self.cast(self.low)]
        if points == 1:
            return [self.cast(self._from_unit(0.5))]
        values = [self.cast(self._from_unit(t)) for t in np.linspace(0.0, 1.0, points)]
        return list(dict.fromkeys(float(f"{v:.3g}") if isinstance(v, float) else v for v in values))  # integer ranges narrower than `points` repeat values

    def distribution(self):
        """What RandomizedSearchCV samples from: a scipy distribution, or a list of choices."""
        from scipy import stats

        if self.fixed:
            return [self.cast(self.low)]
        if self.scale == "log":
            return stats.loguniform(self.low, self.high)
        if self.scale == "linear":
            return stats.uniform(self.low, self.high - self.low)
        if self.scale == "int":
            return stats.randint(int(self.low), int(self.high) + 1)
        return self.choices()

    def choices(self) -> list[int]:
        """The whole numbers an int_log / pow2 range draws from (widths by a step of about √2: 32, 45, 64…)."""
        if self.scale == "pow2":
            return [2 ** k for k in range(int(math.log2(self.low)), int(math.log2(self.high)) + 1)]
        n = int(round(2 * math.log2(self.high / self.low))) + 1
        return list(dict.fromkeys(self.cast(self._from_unit(t)) for t in np.linspace(0.0, 1.0, n)))

    def suggest(self, trial):
        """Optuna's draw of this parameter for `trial`."""
        if self.fixed:
            return self.cast(self.low)
        if self.scale in ("log", "linear"):
            return trial.suggest_float(self.name, self.low, self.high, log=self.scale == "log")
        if self.scale == "int":
            return trial.suggest_int(self.name, int(self.low), int(self.high))
        if self.scale == "int_log":
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=True)
        return trial.suggest_categorical(self.name, self.choices())

    def cast(self, value):
        if self.scale in ("int", "int_log", "pow2"):
            return int(round(value))
        return float(value)

    def _from_unit(self, t: float) -> float:
        if self.scale in ("log", "int_log", "pow2"):
            value = math.exp(math.log(self.low) + t * (math.log(self.high) - math.log(self.low)))
            return 2 ** round(math.log2(value)) if self.scale == "pow2" else value
        return self.low + t * (self.high - self.low)


def space(spec) -> list[Param]:
    """The search spec's ranges as Params, in the order tables show them. Weight decay may be off
    (0) or searched on a log scale: a range from 0 starts at 1e-6."""
    wd_low, wd_high = spec.weight_decay
    if wd_low == 0 < wd_high:
        wd_low = min(1e-6, wd_high)
    return [Param("lr", *spec.lr, "log", "learning rate"), Param("width", *spec.width, "int_log", "width"),
            Param("depth", *spec.depth, "int", "hidden layers"), Param("dropout", *spec.dropout, "linear", "dropout"),
            Param("weight_decay", wd_low, wd_high, "log", "weight decay"),
            Param("batch_size", *spec.batch_size, "pow2", "batch size")]


def grid(params: list[Param], points: int) -> dict[str, list]:
    """GridSearchCV's param_grid."""
    return {p.name: p.grid(points) for p in params}


def grid_size(params: list[Param], points: int) -> int:
    return math.prod(len(p.grid(points)) for p in params)


def searched(params: list[Param]) -> list[Param]:
    return [p for p in params if not p.fixed]
