"""A job function as bytes for another process.

Job functions are closures (`dlplay.runs.record.start` closes over the lesson, the
spec, the run and the run store), so they are pickled by value with cloudpickle. Two
kinds of things in them are sent by name instead:

- objects held in a global of a `dlplay` module (a page's `LESSON`, the results cache
  `record._results`, registries): the worker uses its own, as it does for functions;
- a `RunStore` (a database engine, a lock: not picklable, and not reachable from a
  cluster worker) becomes `StoreWrites`, which forwards each write (`update`,
  `save_model`, `add_metrics`) through the job's event channel; the server that owns
  the store performs it, in order with the job's events.
"""
from __future__ import annotations

import importlib
import io
import sys
import threading
import types
from typing import Any, Callable

from ray import cloudpickle  # the copy Ray itself uses: no extra requirement

WRITES = ("update", "save_model", "add_metrics")
_binding = threading.local()  # the sender that StoreWrites unpickled in this thread use


class StoreWrites:
    """Stands in for a `RunStore` inside a job running elsewhere: writes go back to the
    server as ("store", token, method, args, kwargs) items; reads are refused."""

    def __init__(self, token: int):
        self._token = token
        self._send: Callable[[tuple], None] = _binding.send

    def __getattr__(self, name: str):
        if name not in WRITES:
            raise AttributeError(f"a job running on the cluster can only write to the run store "
                                 f"({', '.join(WRITES)}), not call {name!r}: read what it needs before it starts")

        def write(*args, **kwargs):
            self._send(("store", self._token, name, args, kwargs))

        return write


class _Pickler(cloudpickle.Pickler):
    def __init__(self, file, stores: dict[int, Any]):
        super().__init__(file)
        self._stores = stores
        self._globals = _dlplay_globals()

    def reducer_override(self, obj):
        from ..runs.store import RunStore

        if isinstance(obj, RunStore):
            self._stores[id(obj)] = obj
            return StoreWrites, (id(obj),)
        if id(obj) in self._globals and not isinstance(obj, _PICKLED_AS_USUAL):
            return _global, self._globals[id(obj)]
        return super().reducer_override(obj)


# Pickled as cloudpickle always does: values, and what it already sends by name.
_PICKLED_AS_USUAL = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset, type,
                     types.ModuleType, types.FunctionType, types.BuiltinFunctionType)


def _dlplay_globals() -> dict[int, tuple[str, str]]:
    """id of each object held in a global of a loaded dlplay module → (module, name)."""
    found: dict[int, tuple[str, str]] = {}
    for modname, module in list(sys.modules.items()):
        if module is not None and (modname == "dlplay" or modname.startswith("dlplay.")):
            for name, value in list(vars(module).items()):
                if not name.startswith("__"):
                    found.setdefault(id(value), (modname, name))
    return found


def _global(module: str, name: str):
    return getattr(importlib.import_module(module), name)


def dumps(fn: Callable) -> tuple[bytes, dict[int, Any]]:
    """`fn` as bytes, and the run stores it writes to (token → store) for `perform`."""
    stores: dict[int, Any] = {}
    buf = io.BytesIO()
    _Pickler(buf, stores).dump(fn)
    return buf.getvalue(), stores


def loads(payload: bytes, send: Callable[[tuple], None]) -> Callable:
    """The job function again; its store writes become `send(item)` calls."""
    _binding.send = send
    try:
        return cloudpickle.loads(payload)
    finally:
        del _binding.send


def perform(stores: dict[int, Any], item: tuple) -> None:
    """Carry out a ("store", token, method, args, kwargs) item on the real store."""
    _, token, method, args, kwargs = item
    if method not in WRITES:
        raise ValueError(f"not a store write: {method}")
    getattr(stores[token], method)(*args, **kwargs)
