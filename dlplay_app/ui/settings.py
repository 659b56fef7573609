"""Settings that last: every settings widget is drawn with `**KEEP`, so its value
survives a visit to another page (Streamlit otherwise drops a hidden page's widget
state) and lives in the address bar, as the playground's settings do: the URL is a
link to the setup. Streamlit validates bound values: a malformed one is ignored.
"""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from dlplay import viz

KEEP = dict(persist_state="session", bind="query-params")

# Every page's charts: dlplay's Plotly template (titles below the toolbar, `dlplay.viz`) on top of the
# default Streamlit set when it was imported — here, where every settings page comes after Streamlit,
# whatever imported dlplay.viz first.
viz.use_template()


def ranges_restored(*keys: str) -> None:
    """Range widgets (a slider or select_slider with two ends) give tuples, but a run's settings
    are stored as JSON, where a tuple comes back as a list — and a select_slider given a list in
    session state takes it for one value (the search page then crashed on `tuple(map(float, lr))`
    whenever a run was reopened). Call right after `ui.runs.open_page`, before the widgets, with
    the page's range keys: a list there becomes a tuple again. (Only range widgets: a multiselect
    keeps its list.) `ui.runs.restore_settings` could apply `restored_range` itself, key by key,
    once it knows which widgets are ranges."""
    for key in keys:
        if isinstance(value := st.session_state.get(key), list):
            st.session_state[key] = restored_range(value)


def restored_range(value):
    """A range setting as its widget wants it: a list of two ends as a tuple, anything else as it is."""
    return tuple(value) if isinstance(value, list) and len(value) == 2 else value


def setup_link(key: str) -> None:
    """A "Link to this setup" popover with the page's URL, settings included."""
    base = (st.context.url or "").split("?")[0]
    query = {k: v for k, v in st.query_params.to_dict().items() if k.startswith(f"{key}-")}
    url = f"{base}?{urlencode(query)}" if query else base
    with st.popover("Link to this setup", icon=":material/link:"):
        st.caption("This address opens the page with the settings you see (changed ones only; the rest "
                   "are defaults). Copy it to share or bookmark the setup.")
        st.code(url, language=None)
