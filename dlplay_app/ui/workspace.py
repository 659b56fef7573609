"""Who is visiting: the private workspace of this browser on a shared server.

The key lives in a cookie of the browser (first-party, one year), never in the address
bar: a setup link a learner shares carries settings only. A bookmark of one's workspace
(the Runs page offers it, saying it is private) carries the key as `?ws=…`; opened in a
browser whose own workspace differs, it asks before switching — it never opens someone
else's runs silently — and the key leaves the address bar at once either way.
"""
from __future__ import annotations

import json

import streamlit as st

from dlplay import places, workspaces
from dlplay.work import Visitor

WS_PARAM = "ws"
COOKIE = "dlplay_ws"
LOCAL_WORKSPACE = workspaces.LOCAL_WORKSPACE
_KEY, _OFFER, _WRITTEN = "_dlplay_ws", "_dlplay_ws_offer", "_dlplay_ws_cookie"


def shared_server() -> bool:
    return places.shared()


def workspace() -> str:
    """Whose runs this visitor sees. On a personal machine everyone is one workspace; on
    a shared server (DLPLAY_SHARED=1) each browser gets a private key, kept in a cookie."""
    if not shared_server():
        return LOCAL_WORKSPACE
    ss = st.session_state
    if _KEY not in ss:
        kept = _cookie()
        ss[_KEY] = kept if workspaces.is_key(kept) else workspaces.new_key()
    _take_link_key()
    return ss[_KEY]


def session_id() -> str:
    """This browser tab's session id; its jobs are stopped and released once the tab has
    been closed for a few seconds (`dlplay.sessions` watches the Streamlit session)."""
    from dlplay import sessions
    from dlplay.jobs import SessionHandle, get_scheduler

    if "_dlplay_session" not in st.session_state:
        st.session_state["_dlplay_session"] = SessionHandle(get_scheduler(), sessions.streamlit_session_id())
    handle = st.session_state["_dlplay_session"]
    # Every call, not only the first: a session released after a long disconnect that
    # then came back (and trains again) is watched anew.
    sessions.WATCH.watch(handle.id, handle.streamlit_id)
    return handle.id


def visitor() -> Visitor:
    """Who starts work here (`dlplay.work`): this browser's workspace and this tab's session."""
    return Visitor(workspace(), session_id())


def keep_in_browser() -> None:
    """Write this visitor's key to the browser's cookie (app.py calls it on every page)."""
    if not shared_server():
        return
    key = workspace()
    if st.session_state.get(_WRITTEN) == key and _cookie() == key:
        return
    st.session_state[_WRITTEN] = key
    # The key's alphabet is URL-safe base64 (checked): nothing in it needs escaping.
    st.html(f"""<script>
      document.cookie = {json.dumps(f"{COOKIE}={key}")} + "; path=/; max-age=31536000; SameSite=Strict"
        + (location.protocol === "https:" ? "; Secure" : "");
    </script>""", unsafe_allow_javascript=True, width="content")


def bookmark_url() -> str:
    """The private link that brings this workspace to another browser."""
    return f"{(st.context.url or '').split('?')[0]}?{WS_PARAM}={workspace()}"


def switch_offer() -> None:
    """When a link carried another workspace's key: ask before opening it here."""
    offered = st.session_state.get(_OFFER)
    if not offered or not shared_server():
        return
    with st.container(border=True, key="ws-offer"):
        st.markdown("**This link carries a private workspace key.** Opening it shows that workspace's runs in "
                    "this browser — and lets this browser change and delete them. Open it only if it is your "
                    "own bookmark. Your current workspace stays reachable through its own bookmark on the Runs page.")
        c1, c2, _ = st.columns([1, 1, 3])
        if c1.button("Open that workspace", key="ws-offer-open", type="primary"):
            st.session_state[_KEY] = offered
            st.session_state.pop(_OFFER, None)
            st.rerun()
        if c2.button("Keep mine", key="ws-offer-keep"):
            st.session_state.pop(_OFFER, None)
            st.rerun()


def _take_link_key() -> None:
    """A key in the address bar is taken out of it, and offered (never adopted) if valid."""
    given = st.query_params.get(WS_PARAM)
    if given is None:
        return
    del st.query_params[WS_PARAM]
    if given == st.session_state[_KEY]:
        return
    if workspaces.is_key(given):
        st.session_state[_OFFER] = given
    else:
        st.toast("This link's workspace key is not a valid private key: it was ignored.", icon=":material/key_off:")


def _cookie() -> str:
    try:
        value = st.context.cookies.get(COOKIE, "")
    except Exception:  # noqa: BLE001 - no browser behind this session (tests, scripts)
        return ""
    return value if isinstance(value, str) else ""
