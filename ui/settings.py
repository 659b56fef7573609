"""Settings that last: every settings widget is drawn with `**KEEP`, so its value
survives a visit to another page (Streamlit otherwise drops a hidden page's widget
state) and lives in the address bar, as the playground's settings do: the URL is a
link to the setup. Streamlit validates bound values: a malformed one is ignored.
"""
from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

KEEP = dict(persist_state="session", bind="query-params")


def setup_link(key: str) -> None:
    """A "Link to this setup" popover with the page's URL, settings included."""
    base = (st.context.url or "").split("?")[0]
    query = {k: v for k, v in st.query_params.to_dict().items() if k.startswith(f"{key}-") or k == "ws"}
    url = f"{base}?{urlencode(query)}" if query else base
    with st.popover("Link to this setup", icon=":material/link:"):
        st.caption("This address opens the page with the settings you see (changed ones only; the rest "
                   "are defaults). Copy it to share or bookmark the setup.")
        st.code(url, language=None)
