"""`python -m ui.serve [streamlit options]`: the app's server, `streamlit run app.py` with every
page reachable by its own link from the very first request.

Streamlit takes an app with a `pages/` folder beside its main script for an old-style (v1)
multipage app until `st.navigation` has run once in the process. So the first visitor after a
start who opens a link to a page (a bookmark of `/vae`) gets "Page not found" for a page in a
subfolder, and a top-level page run without `app.py` (no URL checks, no workspace). Declaring
the app a `st.navigation` app before the server starts closes that gap; `streamlit run app.py`
still works, with this one first-request wrinkle.
"""
from __future__ import annotations

import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


def main(argv: list[str]) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False  # read once, by the first session's PagesManager
    sys.argv = ["streamlit", "run", str(APP), *argv]
    cli.main()


if __name__ == "__main__":
    main(sys.argv[1:])
