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
