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

import logging
import os
import sys
from pathlib import Path

APP = Path(__file__).resolve().parents[1] / "app.py"


# Imported by no page (tools, or only when configured: Ray).
NOT_PAGES = ("dlplay.bench", "dlplay.loadtest", "dlplay.executors")
# What pages reach for lazily: plotly imports pandas on first use of some figures.
LIBRARIES = ("torch", "numpy", "pandas", "plotly.express", "plotly.graph_objects", "plotly.subplots", "altair",
             "PIL.Image", "sklearn", "scipy.stats")


def warm_imports() -> list[str]:
    """Import every module the pages use, once, before the first visitor. A class arriving
    together on a fresh server runs many page scripts at once, each importing what it needs
    in its own thread; a module whose import chain comes back to itself is then handed
    half-made to another thread (seen: Grid-world's `partially initialized module 'pandas'
    has no attribute 'Series'`, from plotly's lazy import, in 3 of 6 such starts).
    Returns the modules that failed to import (a missing optional library)."""
    import importlib
    import pkgutil

    import dlplay
    import ui

    names = list(LIBRARIES)
    for package in (dlplay, ui):
        names += [m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
                  if not m.name.startswith(NOT_PAGES) and m.name != __name__]
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - its page says what is missing when opened
            failed.append(name)
    return failed


def main(argv: list[str]) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    from dlplay import logs, places

    logs.configure()
    _add_health_route()
    warm_imports()
    PagesManager.uses_pages_directory = False  # read once, by the first session's PagesManager
    logs.event(logging.getLogger("dlplay.serve"), "server starting", pid=os.getpid(), shared=places.shared(),
               data=places.data_dir(), store=_store_name(), ray=os.environ.get("DLPLAY_RAY_ADDRESS") or None)
    # Streamlit's own lines in the same format as dlplay's (dlplay.logs), unless asked otherwise.
    options = [] if any(a.startswith("--logger.messageFormat") for a in argv) else [
        "--logger.messageFormat", logs.FORMAT, "--logger.level", logs.level().lower()]
    sys.argv = ["streamlit", "run", str(APP), *options, *argv]
    cli.main()


def _add_health_route() -> None:
    """`/_dlplay/health` (dlplay.health: the store and the cluster) beside Streamlit's own routes."""
    from streamlit.web.server.starlette import starlette_server

    from dlplay import health

    make = starlette_server.create_starlette_app

    def create(runtime):
        app = make(runtime)
        app.router.routes.insert(0, health.route())  # before the static files' catch-all
        return app

    starlette_server.create_starlette_app = create


def _store_name() -> str:
    """The run store for the log: its database URL without a password."""
    from sqlalchemy.engine import make_url

    from dlplay import places

    url = os.environ.get("DLPLAY_DB_URL")
    return make_url(url).render_as_string(hide_password=True) if url else str(places.store_home() / "runs.db")


if __name__ == "__main__":
    main(sys.argv[1:])
