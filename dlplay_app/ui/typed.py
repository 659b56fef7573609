"""What a learner typed on a page — a review, a sentence to rebuild — kept per workspace in
this server's memory (`keep_typed`): a review of up to 200,000 characters does not belong in the
address bar (a link that long is refused by browsers and proxies), and a bound widget would
make every review a setting of the run. It comes back after a reload, and after a visit to
another page (Streamlit forgets a hidden page's widgets). The run itself comes back through
`ui.runs.open_page(key, newest=True)`.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import streamlit as st

from dlplay_app.ui.workspace import workspace

MAX_KEPT = 2000  # (workspace, box) pairs remembered, least recently typed forgotten first
_kept: OrderedDict[tuple[str, str], Any] = OrderedDict()
_lock = threading.Lock()


def keep_typed(widget: str, allowed=None) -> None:
    """Call just before drawing the widget keyed `widget`: when this session has no value for it
    (a reload, a visit to another page), it gets the one last typed there in this workspace —
    if `allowed` (a collection) holds it. Then call `typed(widget, value)` with what it shows."""
    if widget in st.session_state:
        return
    with _lock:
        value = _kept.get((workspace(), widget))
    if value is not None and (allowed is None or value in allowed):
        st.session_state[widget] = value


def typed(widget: str, value):
    """Remember what the widget shows now (see `keep_typed`); returns `value`."""
    with _lock:
        _kept[(workspace(), widget)] = value
        _kept.move_to_end((workspace(), widget))
        while len(_kept) > MAX_KEPT:
            _kept.popitem(last=False)
    return value


__all__ = ["keep_typed", "typed"]
