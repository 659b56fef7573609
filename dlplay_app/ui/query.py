"""The address bar, read defensively: anyone can type anything after the `?`.

Settings widgets bound to the URL (`ui.settings.KEEP`) are validated by Streamlit, which
keeps the default for a value it can't use — except that an integer `st.number_input`
given `inf` or `1e999` raises OverflowError (Streamlit 1.67 catches only ValueError), so
`?mlp-epochs=inf` would show a traceback. `drop_unusable()` runs in app.py before any page
and removes such values (and overlong ones) from the URL; every setting then keeps its
default. Pages that parse the URL themselves (the playground) are defensive too.
"""
from __future__ import annotations

import logging
import math

import streamlit as st

log = logging.getLogger(__name__)
MAX_CHARS = 1000  # a setting's value is short; a workspace key is at most 64 characters


def unusable(value: str) -> bool:
    """Too long to be a setting, or a number that is not finite (inf, nan, 1e999, 10**400 digits)."""
    if len(value) > MAX_CHARS:
        return True
    try:
        return not math.isfinite(float(value))
    except ValueError:
        return False


def drop_unusable() -> None:
    """Remove every query parameter with an unusable value before widgets read the URL."""
    drop([key for key in st.query_params.keys()
          if len(key) > MAX_CHARS or any(unusable(v) for v in st.query_params.get_all(key))])


def drop(keys) -> None:
    """Remove these query parameters before the widgets bound to them read the URL."""
    from streamlit.runtime.state.session_state_proxy import get_session_state

    dropped = False
    for key in keys:
        try:
            del st.query_params[key]  # the address bar no longer shows it
            dropped = True
        except Exception:  # noqa: BLE001 - a key bound to a widget already holds the widget's own value
            log.debug("query parameter %r is bound; left as it is", key)
    if dropped:
        # Bound widgets are seeded from the URL as it was when the run started, not from
        # st.query_params: that snapshot must forget the dropped values too.
        with get_session_state().query_params() as qp:
            qp.set_initial_query_params_from_current()
