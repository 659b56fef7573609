"""The assignment a learner works on, on every page: its controls the teacher hid are hidden (their values
stay the assignment's, from the page's address), and the sidebar links back to its checklist."""
from __future__ import annotations

import re

import streamlit as st

from dlplay.classroom import assignments
from dlplay_app.ui.escape import md
from dlplay_app.ui.workspace import workspace

KEY_RE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # a widget key as CSS may name it


def current() -> assignments.Assignment | None:
    """The assignment of this session: from a link (`?assignment=`), else the workspace's newest (looked up
    once per session)."""
    if code := st.query_params.get("assignment"):
        st.session_state["assignment"] = code
    if "assignment" not in st.session_state:
        try:
            mine = assignments.joined_by(workspace())
        except Exception:  # noqa: BLE001 - no store: no assignment (the pages say why they can't train)
            mine = []
        st.session_state["assignment"] = mine[0].code if mine else None
    return assignments.get(st.session_state["assignment"]) if st.session_state["assignment"] else None


def apply(page_key: str | None) -> None:
    """Hide this page's controls the assignment hides; link the sidebar to the checklist."""
    try:
        a = current()
    except Exception:  # noqa: BLE001 - a store that can't be read: the page itself says so
        return
    if a is None:
        return
    keys = [k for k in a.hidden.get(page_key or "", []) if KEY_RE.match(k)]
    if keys:
        st.html("<style>" + ", ".join(f".st-key-{k}" for k in keys) + " {display: none !important}</style>")
    st.sidebar.markdown(f"📋 **Assignment:** [{md(a.title)}](assignment)")
