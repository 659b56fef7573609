"""The optional parts of an install (`pip install dlplay[music]`, `dlplay[cluster]`): whether this one
has them, and what a page says when it doesn't — the lesson's name and the one command to run."""
from __future__ import annotations

import importlib.util

EXTRAS = {
    "music": ("pretty_midi", "music21"),  # MIDI files and Bach chorales: the LSTM music lesson
    "cluster": ("ray",),  # training on a Ray cluster (DLPLAY_RAY_ADDRESS)
}


def missing(extra: str) -> list[str]:
    """The extra's modules this install lacks ([] when it is complete)."""
    return [m for m in EXTRAS[extra] if importlib.util.find_spec(m) is None]


def message(extra: str, what: str) -> str | None:
    """What a page says when `extra` is missing (None when it is there)."""
    if not (lacking := missing(extra)):
        return None
    return (f"{what} needs dlplay's {extra} extra ({', '.join(lacking)} {'is' if len(lacking) == 1 else 'are'} not "
            f"installed). Install it with `pip install 'dlplay[{extra}]'` (or `bash scripts/setup.sh`, which "
            "installs every extra) and restart the server.")


__all__ = ["EXTRAS", "message", "missing"]
