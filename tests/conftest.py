"""Shared fixtures: real datasets (../shared/data, or fetched once: `dlplay.registry`), no
downloads by the app under test, background jobs stopped after every test, a live Streamlit
server and a headless Chromium for browser tests."""
from __future__ import annotations

import os

# `scripts/test.sh` runs the suite in two worker processes (pytest-xdist) on a 2-core machine: each
# trains on one core (two threads per worker measured 1.3× slower than one), and libgomp's long spin
# after each parallel region would steal the other worker's core. Set before torch loads.
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
if WORKER:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("GOMP_SPINCOUNT", "10000")

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dlplay import registry
from dlplay.bench.server import CHROMIUM, CHROMIUM_FLAGS

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = registry.test_data_dir(ROOT)  # DLPLAY_TEST_DATA, ../shared/data, else the cache fetched into
SCREENSHOTS = ROOT / "screenshots"
APP = ROOT / "dlplay_app"  # the app's folder: app.py, pages/ (paths in tests are relative to it)

# The app under test never downloads: it reads the test data, fetched (once) before the session from
# the mirror, if one is named — which the app under test then never sees (tests that want one set it).
os.environ["DLPLAY_OFFLINE"] = "1"
os.environ["DLPLAY_DATA_DIR"] = str(SHARED_DATA)
TEST_DATA_URL = os.environ.pop("DLPLAY_DATA_URL", "")


def pytest_configure(config):
    """Before any test (in the main process, before pytest-xdist starts its workers): the test data
    is all there, or fetched now from a mirror (DLPLAY_DATA_URL) or the originals; if it can't be,
    the run stops here with one message naming the missing files and the two ways to provide
    them — not hundreds of failures."""
    if WORKER or not registry.missing(SHARED_DATA):
        return
    shown = [""]

    def progress(frac: float, msg: str) -> None:
        what = msg.split(":")[0]  # a line for each file (or each hundreds of reviews), not each chunk
        if what != shown[0] or "files" in msg:
            shown[0] = what
            print(f"test data: {msg}", file=sys.stderr, flush=True)

    print(f"test data: fetching what {SHARED_DATA} lacks (once)", file=sys.stderr, flush=True)
    if TEST_DATA_URL:
        os.environ["DLPLAY_DATA_URL"] = TEST_DATA_URL
    try:
        registry.ensure(SHARED_DATA, progress=progress)
    except registry.FetchFailed as exc:
        raise pytest.UsageError(str(exc)) from None  # printed once, as "ERROR: …", exit status 4
    finally:
        os.environ.pop("DLPLAY_DATA_URL", None)


def pytest_collection_modifyitems(config, items):
    """The longest files first, so the two workers don't end with one of them finishing a long file
    alone. `durations.json`: seconds per file of 5 s or more, measured with `--durations=0`; a file
    not in it counts as short. The file that pretrains transfer's own body counts it, and those that
    read it count without it: they come later, when it is cached, instead of waiting for it. Stable
    and the same in every worker, as pytest-xdist requires."""
    import json

    seconds = json.loads((ROOT / "tests" / "durations.json").read_text())
    # A browser file not listed still starts a server and a browser: before the short files, not last.
    browser = {item.fspath.strpath for item in items if item.get_closest_marker("browser")}

    def weight(item) -> float:
        return seconds.get(Path(item.fspath.strpath).relative_to(ROOT).as_posix(),
                           5.0 if item.fspath.strpath in browser else 0.0)

    items.sort(key=lambda item: -weight(item))


def need_shared(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"test data missing: {path} — not in dlplay.registry's table, so the test command didn't fetch it")
    return path


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """Models the app caches (e.g. the DCGAN judge) go to this run's temp folder,
    never the user's ~/.cache; tests in one run share them."""
    base = tmp_path_factory.getbasetemp()
    # One cache for the workers of a run (what one made once, the other reuses: files are written
    # whole and renamed); a run store of each worker's own.
    os.environ["DLPLAY_CACHE_DIR"] = str((base.parent if WORKER else base) / "dlplay-cache")
    os.environ["DLPLAY_HOME"] = str(base / "dlplay-home")


@pytest.fixture(scope="module", autouse=True)
def _store_per_file(tmp_path_factory):
    """Each test file starts with an empty run store: a page shows the workspace's last run of its
    setup (`dlplay_app.ui.runs.adopt_last`), so runs left by another file — files run in any order, in two
    workers — would change what it shows. (Run ids restart: results cached by id are dropped.)"""
    from dlplay.runs import record

    before = os.environ["DLPLAY_HOME"]
    os.environ["DLPLAY_HOME"] = str(tmp_path_factory.mktemp("store"))
    record._results._items.clear()  # noqa: SLF001
    yield
    os.environ["DLPLAY_HOME"] = before
    record._results._items.clear()  # noqa: SLF001


@pytest.fixture(autouse=True)
def _stop_jobs():
    """A torch thread still alive at exit aborts the process: stop and join every job."""
    yield
    from dlplay import jobs

    if jobs._scheduler is not None:
        jobs._scheduler.shutdown(timeout=30)
        jobs._scheduler = None


@pytest.fixture(autouse=True)
def _as_served(monkeypatch):
    """Run app.py before every page, as a server does. AppTest forgets before each run that
    app.py calls st.navigation, so after switch_page it would run the page file alone
    (Streamlit's old pages/-folder mode) and skip app.py's reading of the URL."""
    from streamlit.runtime import pages_manager

    real_init = pages_manager.PagesManager.__init__

    def init(self, *args, **kwargs):
        real_init(self, *args, **kwargs)
        pages_manager.PagesManager.uses_pages_directory = False

    monkeypatch.setattr(pages_manager.PagesManager, "__init__", init)


@pytest.fixture
def apptest():
    """AppTest.from_file for a page script, with caches cleared between tests."""
    import streamlit as st
    from streamlit.testing.v1 import AppTest

    def make(page: str) -> AppTest:
        st.cache_resource.clear()
        st.cache_data.clear()
        return AppTest.from_file(str(APP / page), default_timeout=30)

    yield make
    st.cache_resource.clear()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_log(log_name: str) -> Path:
    """Where streamlit_server writes a server's output (each xdist worker its own file)."""
    return SCREENSHOTS / (f"{WORKER}-{log_name}" if WORKER else log_name)


@contextlib.contextmanager
def streamlit_server(args: list[str], log_name: str, env: dict | None = None):
    """A Streamlit server (`python -m <args>`) on a free localhost port, its output in
    screenshots/<log_name>; yields the base URL once it answers, stops it afterwards."""
    port = _free_port()
    SCREENSHOTS.mkdir(exist_ok=True)
    log = open(server_log(log_name), "w")
    env = dict(env or os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    # From the app's folder: `streamlit run pages/….py` (one page as the app) reads the project's
    # settings there (.streamlit/config.toml), as `dlplay` passes them itself.
    proc = subprocess.Popen(
        [sys.executable, "-m", *args, "--server.port", str(port), "--server.address", "127.0.0.1",
         "--server.headless", "true"],
        cwd=APP, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"Streamlit server did not start; see {server_log(log_name)}")
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="session")
def app_server():
    """`streamlit run app.py` (through dlplay_app.serve) on a free localhost port; yields the base URL."""
    with streamlit_server(["dlplay_app.serve"], "server.log") as url:
        yield url


def _may_install() -> bool:
    """Whether this user can install Debian packages: root, or sudo without a password."""
    if os.geteuid() == 0:
        return True
    try:
        return subprocess.run(["sudo", "-n", "true"], capture_output=True, timeout=10).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        if _may_install():  # setup.sh could have installed it: its absence is a failure
            pytest.fail("chromium is not installed (scripts/setup.sh test installs Debian's chromium)")
        pytest.skip("browser tests skipped: chromium is not installed, and without root or sudo setup.sh can't "
                    "install it (sudo apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def screenshot(pg, name: str) -> Path:
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


def draw_stroke(pg) -> None:
    """A vertical stroke down the middle of the page's drawing canvas, drawn with the mouse."""
    canvas = pg.locator('[data-testid="stBidiComponentIsolated"] canvas').last
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box and box["width"] > 100, f"drawable canvas not found: {box}"
    x = box["x"] + box["width"] * 0.5
    pg.mouse.move(x, box["y"] + box["height"] * 0.15)
    pg.mouse.down()
    pg.mouse.move(x + box["width"] * 0.02, box["y"] + box["height"] * 0.85, steps=25)
    pg.mouse.up()


def job_of(at, key: str):
    """The job behind a page's current run (or plain job) in an AppTest session."""
    from dlplay.jobs import get_scheduler
    from dlplay.runs import RECORDER

    state = at.session_state
    if f"run:{key}" in state:
        return RECORDER.job(state[f"run:{key}"])
    return get_scheduler().get(state[f"job:{key}"])


def run_of(at, key: str):
    """The stored run a page shows in an AppTest session."""
    from dlplay.runs import get_store

    return get_store().get(at.session_state[f"run:{key}"])


def page_texts(at) -> str:
    """All the markdown and captions an AppTest page shows, as one text."""
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def chart_titles(at) -> list[str]:
    """The titles of the page's plotly charts (each names its run: "Run 7 · …")."""
    import json

    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
