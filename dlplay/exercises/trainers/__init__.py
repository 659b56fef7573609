"""Trainers: for each exercise, a small model that learns with the learner's function. Each is dlplay's own
source, sent into the sandbox whole with `common.py` ahead of it (the sandbox imports nothing of dlplay), and
importable here too, so tests run them on the reference without a sandbox."""
from __future__ import annotations

from pathlib import Path

HERE = Path(__file__).parent
_IMPORT = "from .common import"


def source(name: str) -> str:
    """The trainer module `name` as the sandbox runs it: common.py, then the module without its import of it."""
    own = "\n".join(line for line in (HERE / f"{name}.py").read_text().splitlines() if not line.startswith(_IMPORT))
    return (HERE / "common.py").read_text() + "\n\n" + own + "\n"
