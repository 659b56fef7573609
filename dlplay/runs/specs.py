"""A page's settings are one dataclass (its spec); here it becomes JSON for the run
store and comes back, nested dataclasses and tuples included."""
from __future__ import annotations

import dataclasses
import json
import typing
from typing import Any


def to_dict(spec) -> dict:
    """The spec as plain JSON values (tuples become lists)."""
    from .store import dumps

    return json.loads(dumps(dataclasses.asdict(spec)))


def from_dict(cls, values: dict):
    """Rebuild `cls` from `to_dict`'s output; unknown keys are dropped, missing ones keep
    their defaults (a run stored by an older version still opens)."""
    hints = typing.get_type_hints(cls)
    kwargs = {}
    for f in dataclasses.fields(cls):
        if f.name in values:
            kwargs[f.name] = _convert(hints.get(f.name, Any), values[f.name])
    return cls(**kwargs)


def _convert(hint, value):
    if value is None:
        return None
    if dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return from_dict(hint, value)
    origin = typing.get_origin(hint)
    if origin is tuple and isinstance(value, list):
        args = typing.get_args(hint)
        inner = args[0] if args else Any
        return tuple(_convert(inner, v) for v in value)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        for arg in typing.get_args(hint):
            if arg is type(None):
                continue
            if dataclasses.is_dataclass(arg) and isinstance(value, dict):
                return from_dict(arg, value)
            if typing.get_origin(arg) is tuple and isinstance(value, list):
                return _convert(arg, value)
    return value


def same(spec, stored: dict) -> bool:
    """Whether `spec` is the setup a run was stored with."""
    return to_dict(spec) == json.loads(json.dumps(stored))


def with_values(spec, values: dict[str, Any]):
    """`spec` with settings replaced by name — nested ones dotted ("train.epochs") — each value converted
    as a stored run's would be. An unknown name raises KeyError naming the settings there are."""
    d = to_dict(spec)
    for name, value in values.items():
        *parents, last = name.split(".")
        inner = d
        for part in parents:
            inner = inner.get(part) if isinstance(inner.get(part), dict) else {}
        if last not in inner or isinstance(inner[last], dict):
            raise KeyError(f"no setting {name!r}; the settings are {', '.join(names(spec))}")
        inner[last] = value
    return from_dict(type(spec), d)


def names(spec) -> list[str]:
    """Every setting's name, nested ones dotted ("train.epochs")."""
    return list(flatten(to_dict(spec)))


def flatten(d: dict, prefix: str = "") -> dict:
    """A stored spec's settings by dotted name ("train.lr"), values as stored."""
    out = {}
    for k, v in d.items():
        if isinstance(v, dict):
            out.update(flatten(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out
