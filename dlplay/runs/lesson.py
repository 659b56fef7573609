"""What a page's training provides so its runs can be stored, reopened and exported.

A `Lesson` names a page's spec type and three functions: `train(spec, job)` returns
the page's result object; `save(result)` turns it into tensors (weights), arrays
(final figures) and scalar figures; `load(spec, saved)` rebuilds the result from them,
so a run reopened after a restart offers everything a just-finished one does.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .. import course
from . import specs


@dataclass
class Saved:
    tensors: dict[str, Any]  # name → torch tensor (weights; several models share one file by prefix)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # final figures (confusion matrix…)
    summary: dict = field(default_factory=dict)  # final scalar figures, JSON
    headline: str = ""  # the one number the Runs page lists: "97.9% test accuracy"


@dataclass(frozen=True)
class Figure:
    """A run's one final number that seeds and settings are compared on: `key` in its summary."""
    key: str  # "test_acc"
    label: str  # "test accuracy"
    higher: bool = True  # whether more is better
    percent: bool = False  # a share shown in per cent (differences in points)

    def value(self, summary: dict) -> float | None:
        v = summary.get(self.key)
        return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None

    def text(self, v: float) -> str:
        return f"{v:.1%}" if self.percent else f"{v:.4g}"

    def scale(self) -> float:
        """Differences read in points for a share, as they are otherwise."""
        return 100.0 if self.percent else 1.0

    @property
    def unit(self) -> str:
        return " points" if self.percent else ""


@dataclass(kw_only=True)
class Lesson:
    page: str  # the page's key in the course table (`dlplay.course`), e.g. "mlp"
    spec_type: type
    train: Callable[[Any, Any], Any]  # (spec, job) → result
    save: Callable[[Any], Saved]
    load: Callable[[Any, Saved], Any]  # (spec, saved) → result
    brief: Callable[[Any], str] = lambda spec: ""  # key settings: "784→256→128→10 · 3 epochs"
    script: Callable[[Any, Any], str] | None = None  # (spec, run) → a standalone PyTorch script
    curves: tuple[str, ...] = ("loss",)  # metric names the Runs page can overlay
    work: Callable[[Any], Any] | None = None  # spec → dlplay.limits.Work: how much it trains (shared servers cap it)
    cost: Callable[[Any], Any] | None = None  # spec → dlplay.costs.Cost: its memory and step time, before it starts
    data: Callable[[Any], tuple[str, dict]] | None = None  # spec → (label, identity) of data the spec itself makes
    title: str | None = None  # "Digit classifier (MLP)": the course table's, unless given (a page outside it)
    path: str | None = None  # the page script, e.g. "pages/digit_classifier.py": the course table's, unless given
    figure: Figure | None = None  # the final number seed repeats and comparisons read (None: the curves only)

    def __post_init__(self):
        if self.title is None or self.path is None:
            entry = course.page(self.page)
            self.title = entry.title if self.title is None else self.title
            self.path = entry.path if self.path is None else self.path

    def spec_from(self, values: dict):
        return specs.from_dict(self.spec_type, values)


def lesson_for(page: str) -> Lesson | None:
    """The Lesson of a page key (None for a page that trains no runs)."""
    target = course.lessons().get(page)
    if target is None:
        return None
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr, None)
