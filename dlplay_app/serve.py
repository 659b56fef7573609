"""The `dlplay` command (also `python -m dlplay_app.serve`): the app's server — `streamlit run app.py`
with the settings that matter passed on the command line (wherever it is started from), every
page reachable by its own link from the very first request, one log format, and a health route.
`dlplay --help` lists its options; any other option goes to Streamlit.

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

APP = Path(__file__).resolve().parent / "app.py"


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
    from dlplay_app import ui

    names = list(LIBRARIES)
    for package in (dlplay, ui):
        names += [m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")
                  if not m.name.startswith(NOT_PAGES) and m.name != __name__ and not m.name.endswith(".__main__")]
    failed = []
    for name in names:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - its page says what is missing when opened
            failed.append(name)
    return failed


# Measured to matter, so passed on the command line whatever config files the machine has (a flag given wins):
# Streamlit's gc.collect() after every rerun costs ~230 ms once torch is loaded and starves training threads; its
# file watcher crawls the venv; usage statistics would leave a class's server.
SETTINGS = {"runner.postScriptGC": "false", "server.fileWatcherType": "none", "browser.gatherUsageStats": "false"}


def cli(argv: list[str] | None = None) -> None:
    """`dlplay [--port N] [--address A] [--data-dir D] [--home H] [--shared] [streamlit options]`."""
    import argparse

    from dlplay import __version__

    parser = argparse.ArgumentParser(
        prog="dlplay", allow_abbrev=False, description="Serve dlplay: learn deep learning by training real models live in the browser.",
        epilog="Any other option goes to Streamlit (for example --server.baseUrlPath=/dlplay). "
               "Environment variables (README: Settings) set the rest: limits, a Ray cluster, PostgreSQL.")
    parser.add_argument("--port", type=int, help="the port to serve on (default 8501)")
    parser.add_argument("--address", help="the address to listen on (default localhost; 0.0.0.0 for a class)")
    parser.add_argument("--data-dir", help="where datasets are read and downloaded (DLPLAY_DATA_DIR; "
                                           "default ~/.cache/dlplay/data)")
    parser.add_argument("--home", help="the run store: its database and every run's weights (DLPLAY_HOME; "
                                       "default ~/.local/share/dlplay)")
    parser.add_argument("--shared", action="store_true", help="a server a class shares (DLPLAY_SHARED=1): private "
                        "workspaces, fair-use limits, no server path or traceback shown to a visitor")
    parser.add_argument("--version", action="version", version=f"dlplay {__version__}")
    args, rest = parser.parse_known_args(argv)
    for value, name in ((args.data_dir, "DLPLAY_DATA_DIR"), (args.home, "DLPLAY_HOME")):
        if value:
            os.environ[name] = str(Path(value).expanduser().resolve())
    if args.shared:
        os.environ["DLPLAY_SHARED"] = "1"
    flags = [f"--server.port={args.port}"] * (args.port is not None) + [f"--server.address={args.address}"] * bool(
        args.address) + ["--client.showErrorDetails=none"] * args.shared
    main([*flags, *rest])


def main(argv: list[str]) -> None:
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli as streamlit_cli

    from dlplay import logs, places

    logs.configure()
    _add_health_route()
    warm_imports()
    PagesManager.uses_pages_directory = False  # read once, by the first session's PagesManager
    logs.event(logging.getLogger("dlplay.serve"), "server starting", pid=os.getpid(), shared=places.shared(),
               data=places.data_dir(), store=_store_name(), ray=os.environ.get("DLPLAY_RAY_ADDRESS") or None)
    # Streamlit's own lines in the same format as dlplay's (dlplay.logs), unless asked otherwise.
    wanted = {**SETTINGS, "logger.messageFormat": logs.FORMAT, "logger.level": logs.level().lower()}
    options = [f"--{k}={v}" for k, v in wanted.items() if not any(a.startswith(f"--{k}") for a in argv)]
    sys.argv = ["streamlit", "run", str(APP), *options, *argv]
    streamlit_cli.main()


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
    cli(sys.argv[1:])
