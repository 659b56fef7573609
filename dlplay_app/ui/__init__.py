"""Streamlit helpers shared by the pages (widgets and rendering only)."""


def _leave_pages_directory_mode() -> None:
    """Streamlit treats a `pages/` folder as the old multipage mode until app.py first
    calls st.navigation. If the very first request after start is a page's own URL,
    that page would run without app.py (no navigation, no page config): switch to
    app.py's navigation and rerun once."""
    import streamlit as st
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory and st.runtime.exists():
        PagesManager.uses_pages_directory = False
        st.rerun()


_leave_pages_directory_mode()
