"""A text page after a reload: its last run, and what was typed on it.

A reload starts a new Streamlit session, whose state is empty. `ui.runs.open_page` brings
back a run still training for the tab that went (`adopt_orphan`) and the newest finished run
trained with the settings in the address bar (`adopt_last`). On the text pages the address
bar moves on after training, as the learner explores: the word whose neighbours to show and
the analogy's three words are settings that last, so after "king − man + woman" was changed
to "queen", the word2vec just trained was no longer found, and nothing was shown. These
pages show their newest run instead (`show_last_run`); the "Settings changed since run N"
notice says when the settings on screen are not that run's.

What the learner typed — a review, a sentence to rebuild — is kept per workspace in this
server's memory (`keep_typed`): a review of up to 200,000 characters does not belong in the
address bar (a link that long is refused by browsers and proxies), and a bound widget would
make every review a setting of the run. It comes back after a reload, and after a visit to
another page (Streamlit forgets a hidden page's widgets).

(`ui.runs.adopt_last` could fall back to the newest run itself; these pages do it here.)
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

import streamlit as st

from dlplay import runs
from ui.workspace import workspace

MAX_KEPT = 2000  # (workspace, box) pairs remembered, least recently typed forgotten first
_kept: OrderedDict[tuple[str, str], Any] = OrderedDict()
_lock = threading.Lock()


def show_last_run(key: str) -> None:
    """Call right after `ui.runs.open_page(key)`: once per session, a page that still has no run
    of its own shows the workspace's newest run of this page that is not training (one training
    belongs to another tab, which would lose it to this tab's Train)."""
    ss = st.session_state
    if f"run:{key}" in ss or ss.get("_dlplay_reopen") or ss.get(f"_lastrun:{key}"):
        return
    ss[f"_lastrun:{key}"] = True
    try:
        found = runs.get_store().list(workspace(), page=key)
    except Exception:  # noqa: BLE001 - no store: nothing to show, the page still works
        return
    ended = [r for r in found if not r.is_active and not (r.settings or {}).get("_sequence")]
    if ended:
        ss[f"run:{key}"] = max(ended, key=lambda r: r.id).id


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


__all__ = ["keep_typed", "show_last_run", "typed"]
