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

from . import specs


@dataclass
class Saved:
    tensors: dict[str, Any]  # name → torch tensor (weights; several models share one file by prefix)
    arrays: dict[str, np.ndarray] = field(default_factory=dict)  # final figures (confusion matrix…)
    summary: dict = field(default_factory=dict)  # final scalar figures, JSON
    headline: str = ""  # the one number the Runs page lists: "97.9% test accuracy"


@dataclass
class Lesson:
    page: str  # the page's KEY, e.g. "mlp"
    title: str  # "Digit classifier (MLP)"
    path: str  # the page script, e.g. "pages/digit_classifier.py"
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

    def spec_from(self, values: dict):
        return specs.from_dict(self.spec_type, values)


# page KEY → "module:attribute" of its Lesson; imported only when needed.
REGISTRY: dict[str, str] = {
    "mlp": "dlplay.classify:LESSON",
    "npdigits": "dlplay.scratch.digits:LESSON",
    "gates": "dlplay.scratch.gates:LESSON",
    "regsel": "dlplay.scratch.selection:LESSON",
    "ae": "dlplay.generative.autoencoders:LESSON",
    "dn": "dlplay.generative.denoise:LESSON",
    "morph": "dlplay.generative.morph:LESSON",
    "vae": "dlplay.generative.vae:LESSON",
    "gan": "dlplay.generative.gan:LESSON",
    "cnn": "dlplay.vision.cnn:LESSON",
    "tl": "dlplay.vision.transfer:LESSON",
    "forget": "dlplay.vision.forgetting:LESSON",
    "imgreg": "dlplay.vision.regression:LESSON",
    "sent": "dlplay.text.sentiment:LESSON",
    "emb": "dlplay.text.word2vec:LESSON",
    "seqae": "dlplay.text.seqae:LESSON",
    "overfit": "dlplay.craft.overfit:LESSON",
    "pipe": "dlplay.craft.pipeline:LESSON",
    "search": "dlplay.craft.search:LESSON",
    "diag": "dlplay.craft.diagnosis:LESSON",
    "music": "dlplay.music.training:LESSON",
    "rl": "dlplay.rl.lesson:LESSON",
    "pg": "dlplay.playground.lesson:LESSON",
}


def register(page: str, target: str) -> None:
    REGISTRY[page] = target


def lesson_for(page: str) -> Lesson | None:
    target = REGISTRY.get(page)
    if target is None:
        return None
    module, attr = target.split(":")
    return getattr(importlib.import_module(module), attr, None)
