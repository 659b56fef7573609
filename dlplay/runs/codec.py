"""One way to store a lesson's result: saved and rebuilt from its dataclass fields.

A field holding a model (a torch module, or a NumPy network with `state_dict`) is saved as its
weights (safetensors, each name prefixed "<field>.");
a tensor as a tensor and a NumPy array as an array, both under the field's name; anything else
— numbers, text, lists and dicts of them — goes into the run's JSON summary. Rebuilding reads
each field back from wherever it was stored, so a run keeps opening when a figure moves from the
summary to the arrays, and a field added later takes its default in older runs.

What the fields cannot say, a lesson tells its `Codec`: how to build each module empty before its
weights are loaded (from the spec and the summary), summary values those builders read, the
names earlier stores used for a field, and a field kept in another form (a tokenizer as its JSON
text).
"""
from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from .lesson import Saved


@dataclass(frozen=True)
class Form:
    """A field stored in another form: `save(value)` → what is stored, `load(stored)` → the value.
    With `whole`, the field is stored as several entries — `save` returns {name: value}, each
    stored by its type (a model under its name) — and `load(spec, saved)` reads them back from the
    whole `Saved` (a latent plane's centre, axes and explained variance; several named models)."""

    save: Callable[[Any], Any]
    load: Callable[[Any], Any]
    whole: bool = False


@dataclass
class Codec:
    result: type  # the lesson's result dataclass
    models: dict[str, Callable[[Any, dict], Any]]  # field → (spec, summary) → the module, empty
    headline: Callable[[Any], str]  # the one number the Runs page lists
    extra: Callable[[Any], dict] = lambda result: {}  # summary values the builders read (a model's input size)
    renamed: dict[str, str] = field(default_factory=dict)  # field → the name stored runs use
    forms: dict[str, Form] = field(default_factory=dict)  # field → how it is stored, when not as it is
    skip: tuple[str, ...] = ()  # fields not stored: rebuilt with their defaults
    derive: dict[str, Callable[[dict], Any]] = field(default_factory=dict)  # field → made from the others on load

    def save(self, result) -> Saved:
        saved = Saved({}, {}, dict(self.extra(result)), self.headline(result))
        for f in dataclasses.fields(self.result):
            if f.name == "spec" or f.name in self.skip or f.name in self.derive:
                continue
            value, name, form = getattr(result, f.name), self.renamed.get(f.name, f.name), self.forms.get(f.name)
            if form is not None and form.whole:
                for part, v in form.save(value).items():
                    _put(saved, part, v)
                continue
            _put(saved, name, form.save(value) if form is not None else value)
        return saved

    def load(self, spec, saved: Saved):
        values, hints = {}, typing.get_type_hints(self.result)
        for f in dataclasses.fields(self.result):
            name, form = self.renamed.get(f.name, f.name), self.forms.get(f.name)
            if f.name == "spec":
                values["spec"] = spec
            elif f.name in self.models:
                values[f.name] = _module(self.models[f.name](spec, saved.summary), saved.tensors, f"{name}.")
            elif f.name in self.skip or f.name in self.derive:
                continue
            elif form is not None and form.whole:
                values[f.name] = form.load(spec, saved)
            elif (stored := _get(saved, name)) is not _MISSING:
                values[f.name] = form.load(stored) if form is not None else _as(hints.get(f.name), stored)
        for name, make in self.derive.items():
            values[name] = make(values)
        return self.result(**values)


_MISSING = object()


def _put(saved: Saved, name: str, value) -> None:
    import torch

    if hasattr(value, "state_dict"):  # a torch module, or a NumPy network (`dlplay.scratch.mlp.MLP`)
        saved.tensors.update({f"{name}.{k}": _tensor(v) for k, v in value.state_dict().items()})
    elif isinstance(value, torch.Tensor):
        saved.tensors[name] = _tensor(value)
    elif isinstance(value, np.ndarray):
        saved.arrays[name] = value
    else:
        saved.summary[name] = value


def _get(saved: Saved, name: str):
    for where in (saved.tensors, saved.arrays, saved.summary):
        if name in where:
            return where[name]
    return _MISSING


def _tensor(v):
    import torch

    return (torch.from_numpy(np.array(v)) if isinstance(v, np.ndarray) else v.detach().cpu()).contiguous()


def _module(model, tensors: dict, prefix: str):
    model.load_state_dict({k.removeprefix(prefix): v for k, v in tensors.items() if k.startswith(prefix)})
    return model.eval() if hasattr(model, "eval") else model


def _as(hint, value):
    """A stored value as the field's type says: an array read back as a tensor, a JSON list as an
    array or a tuple, JSON's null as NaN for a number (JSON has no NaN)."""
    import torch

    if value is None:
        return math.nan if hint is float else None

    if isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union:  # "np.ndarray | None"
        hint = next((a for a in typing.get_args(hint) if a is not type(None)), None)
    base = typing.get_origin(hint) or hint
    if base is torch.Tensor and not isinstance(value, torch.Tensor):
        return torch.as_tensor(np.asarray(value))
    if base is np.ndarray:
        return value.cpu().numpy() if isinstance(value, torch.Tensor) else np.asarray(value)
    if base is tuple and isinstance(value, list):
        return tuple(value)
    return value
