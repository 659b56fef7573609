"""Runs that last, in headless Chromium against real `streamlit run app.py` servers.

1. A learner sets up the digit classifier, leaves the page and comes back (the
   settings stay, and live in the URL), trains, stops mid-run (the model is kept and
   measured), draws a digit; the server restarts; the Runs page lists the stopped run,
   and "Reopen on its page" brings back its settings, its stop note, its accuracy and a
   model that still predicts.
2. On a shared server (DLPLAY_SHARED=1) two visitors get private workspaces, kept in a
   cookie: one's run is invisible to the other and to a classmate opening their setup
   link; the private bookmark (?ws=…) asks before it opens the workspace in a fresh
   browser, where ticking its row in the table selects it for reopening.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

from dlplay.bench.server import LOSS_POINTS_JS
from tests.conftest import ROOT, SCREENSHOTS, draw_stroke, need_shared, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000  # a fresh server imports torch and reads MNIST on a shared 2-core machine
TRAIN_MS = 120_000
STEP_MS = 30_000  # one rerun of a page
VIEWPORT = {"width": 1400, "height": 1000}


# --- servers ----------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Servers:
    """`streamlit run app.py` processes on one run store (DLPLAY_HOME): a test can stop
    one and start another to see what survives a restart."""

    def __init__(self, home: Path, shared: bool, name: str):
        self.home, self.shared, self.name, self.procs = home, shared, name, []

    def start(self) -> str:
        env = os.environ.copy()  # DLPLAY_DATA_DIR, DLPLAY_OFFLINE, DLPLAY_CACHE_DIR as conftest sets them
        env["DLPLAY_HOME"] = str(self.home)
        env.pop("DLPLAY_SHARED", None)
        if self.shared:
            env["DLPLAY_SHARED"] = "1"
        port = _free_port()
        SCREENSHOTS.mkdir(exist_ok=True)
        self.log = SCREENSHOTS / f"{self.name}_server{len(self.procs)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "dlplay_app.serve", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, stdout=open(self.log, "w"), stderr=subprocess.STDOUT, env=env)
        self.procs.append(proc)
        url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline and proc.poll() is None:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).status == 200:
                    return url
            except OSError:
                time.sleep(0.3)
        pytest.fail(f"Streamlit server did not start; see {self.log}:\n{self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        """Terminate the newest server, as a person stopping `streamlit run` would (Ctrl-C)."""
        proc = self.procs[-1]
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(5)


@pytest.fixture
def servers(tmp_path):
    """Start servers with `servers.start()` (one store under tmp_path), private workspaces off."""
    s = Servers(tmp_path / "dlplay-home", shared=False, name="e2e_runs")
    yield s
    s.close()


@pytest.fixture
def shared_servers(tmp_path):
    """As `servers`, with DLPLAY_SHARED=1: each visitor has a private workspace."""
    s = Servers(tmp_path / "dlplay-home", shared=True, name="e2e_runs_ws")
    yield s
    s.close()


def _context_page(browser):
    context = browser.new_context(viewport=VIEWPORT)
    return context, context.new_page()


# --- the digit page, as a learner drives it -------------------------------------------------------

def wait_until_idle(page, timeout_ms: int = STEP_MS) -> None:
    """Until the script rerun in progress (if any) ends: Streamlit shows its status widget
    ("Running…") while a script runs, and a click during it waits for the next one."""
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=timeout_ms)


def open_digit_page(page, url: str) -> None:
    page.goto(f"{url}/digit_classifier")
    expect(page.get_by_role("button", name="Train")).to_be_enabled(timeout=LOAD_MS)


def pick_dataset(page, title: str) -> None:
    # A rerun that lands just after the click redraws the select and closes its list (the
    # session's first reruns: its registration, the URL cleaned); a learner clicks again.
    for attempt in range(3):
        wait_until_idle(page)
        page.locator(".st-key-mlp-dataset").click()
        try:
            page.get_by_role("option", name=title, exact=True).click(timeout=5_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
    expect(page.locator(".st-key-mlp-dataset input")).to_have_value(title, timeout=STEP_MS)


def set_epochs(page, n: int) -> None:
    box = page.get_by_label("Epochs")
    box.fill(str(n))
    box.press("Enter")
    expect(box).to_have_value(str(n))


def go_to(page, title: str) -> None:
    """Navigate inside the app (the sidebar's page list), keeping the browser session."""
    page.locator('[data-testid="stSidebarNav"] a', has_text=title).click()


def loss_points(page, more_than: int = 0) -> int:
    handle = page.wait_for_function(
        f"() => {{ const n = ({LOSS_POINTS_JS})(); return n > {more_than} ? n : 0; }}", timeout=TRAIN_MS)
    return handle.json_value()


def read_accuracy(page) -> float:
    metric = page.locator('[data-testid="stMetric"]', has_text="Test accuracy")
    expect(metric).to_be_visible(timeout=TRAIN_MS)
    value = metric.locator('[data-testid="stMetricValue"]').inner_text()
    return float(value.strip().rstrip("%")) / 100


def draw_and_predict(page) -> str:
    draw_stroke(page)
    prediction = page.get_by_text(re.compile(r"Prediction: \w"))
    expect(prediction).to_be_visible(timeout=STEP_MS)
    return prediction.inner_text()


# --- the Runs page --------------------------------------------------------------------------------

def grid_row(page, i: int) -> list[str]:
    """Row `i` of the runs table as text, read from the grid's accessibility table (the
    grid itself is a canvas)."""
    cells = page.locator(f'[data-testid="stDataFrame"] td[id^="glide-cell-"][id$="-{i}"]')
    expect(cells.first).to_be_attached(timeout=STEP_MS)
    return [c.strip() for c in cells.all_text_contents()]


def tick_row(page, i: int) -> None:
    """Tick row `i`'s box in the runs table (the grid is a canvas: a click at the box)."""
    box = page.locator('[data-testid="stDataFrame"] canvas').first.bounding_box()
    header = row = 35  # Streamlit's grid: 35 px rows under a 35 px header; the boxes 15 px in
    page.mouse.click(box["x"] + 15, box["y"] + header + row * i + row / 2)


def select_run(page, label: str) -> None:
    page.locator(".st-key-runs-chosen").click()
    page.get_by_role("option", name=label).click()
    page.keyboard.press("Escape")
    expect(page.get_by_role("button", name="Reopen on its page")).to_be_visible(timeout=STEP_MS)


def no_traceback(page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


# --- 1. stop, restart, reopen -----------------------------------------------------------------

def test_stopped_run_survives_restart_and_reopens(servers, browser):
    need_shared("MNIST", "raw")
    url = servers.start()
    context, page = _context_page(browser)
    try:
        open_digit_page(page, url)
        # Full MNIST: five epochs of the 5k sample end in about a second, before Stop can land.
        pick_dataset(page, "MNIST")
        set_epochs(page, 5)
        page.wait_for_url(re.compile(r"mlp-epochs=5"), timeout=STEP_MS)  # the link to this setup

        go_to(page, "Welcome")
        page.wait_for_url(re.compile(r"/$|/\?"), timeout=STEP_MS)
        go_to(page, "Digit classifier")
        expect(page.get_by_role("button", name="Train")).to_be_enabled(timeout=LOAD_MS)
        expect(page.get_by_label("Epochs")).to_have_value("5")
        expect(page).to_have_url(re.compile(r"mlp-epochs=5"))
        screenshot(page, "e2e_runs_1_setup_kept")

        wait_until_idle(page)
        page.get_by_role("button", name="Train").click()
        loss_points(page)
        page.get_by_role("button", name="Stop").click()
        note = page.get_by_text(re.compile(r"Stopped at epoch \d of 5"))
        expect(note).to_be_visible(timeout=STEP_MS)
        stop_note = re.search(r"Stopped at epoch \d of 5 \(step [\d,]+\)", note.inner_text()).group(0)
        accuracy = read_accuracy(page)
        screenshot(page, "e2e_runs_2_stopped")
        predicted = draw_and_predict(page)
        no_traceback(page)
        screenshot(page, "e2e_runs_3_predicted")
    finally:
        context.close()
    servers.stop()

    url = servers.start()  # the same store: a restart keeps the run
    context, page = _context_page(browser)
    try:
        page.goto(f"{url}/runs")
        expect(page.get_by_text("1 run.")).to_be_visible(timeout=LOAD_MS)
        assert grid_row(page, 0)[:2] == ["1", "Digit classifier (MLP)"]
        assert grid_row(page, 0)[3] == f"{stop_note[0].lower()}{stop_note[1:]}"
        screenshot(page, "e2e_runs_4_listed_after_restart")

        select_run(page, "run 1 · Digit classifier (MLP)")
        no_traceback(page)
        screenshot(page, "e2e_runs_5_selected")
        page.get_by_role("button", name="Reopen on its page").click()

        page.wait_for_url(re.compile(r"/digit_classifier"), timeout=STEP_MS)
        expect(page.get_by_text(re.compile(r"run 1 · MNIST"))).to_be_visible(timeout=LOAD_MS)
        expect(page.get_by_label("Epochs")).to_have_value("5")
        expect(page.get_by_text(stop_note, exact=False)).to_be_visible()
        assert read_accuracy(page) == accuracy
        assert loss_points(page) >= 1  # its curves, from the store
        expect(page.get_by_text(re.compile(r"Settings changed since run"))).to_have_count(0)
        assert draw_and_predict(page) == predicted  # the same stroke, the same model: the same answer
        no_traceback(page)
        screenshot(page, "e2e_runs_6_reopened_after_restart")
        expect(page).to_have_url(re.compile(r"mlp-epochs=5"))  # its setup, in the address bar
    finally:
        context.close()


# --- 2. private workspaces on a shared server ---------------------------------------------------

WS_RE = re.compile(r"[?&]ws=([A-Za-z0-9_-]{22,64})")


def open_runs_page(page, url: str) -> str:
    """Open the Runs page; returns the visitor's workspace key, from the private bookmark the
    page offers (never from the address bar: the key lives in a cookie)."""
    page.goto(url)
    expect(page.get_by_role("heading", name="Runs")).to_be_visible(timeout=LOAD_MS)
    expect(page.get_by_text("Your private workspace")).to_be_visible()
    page.get_by_text("Bookmark my workspace").click()
    code = page.locator('[data-testid="stCode"]', has_text="ws=")
    expect(code).to_be_visible(timeout=STEP_MS)
    assert "ws=" not in page.url, page.url
    return WS_RE.search(code.inner_text()).group(1)


def test_visitors_see_only_their_own_runs_and_a_bookmark_brings_them_back(shared_servers, browser):
    url = shared_servers.start()
    (ctx_a, a), (ctx_b, b) = _context_page(browser), _context_page(browser)
    try:
        ws_a = open_runs_page(a, f"{url}/runs")
        ws_b = open_runs_page(b, f"{url}/runs")
        assert ws_a != ws_b
        for page in (a, b):
            expect(page.get_by_text("No runs yet")).to_be_visible()

        go_to(a, "Digit classifier")  # visitor A trains a short run
        expect(a.get_by_role("button", name="Train")).to_be_enabled(timeout=LOAD_MS)
        pick_dataset(a, "MNIST 5k sample (bundled)")
        set_epochs(a, 1)
        wait_until_idle(a)
        a.get_by_role("button", name="Train").click()
        read_accuracy(a)
        setup_link = a.url
        assert "mlp-epochs=1" in setup_link and "ws=" not in setup_link, setup_link
        screenshot(a, "e2e_runs_ws_1_a_trained")

        a.goto(f"{url}/runs")  # a new page load: the browser's cookie brings the workspace back
        expect(a.get_by_text("1 run.")).to_be_visible(timeout=LOAD_MS)
        row = grid_row(a, 0)
        assert row[1] == "Digit classifier (MLP)" and row[3] == "done", row
        screenshot(a, "e2e_runs_ws_2_a_sees_it")

        b.reload()  # visitor B: still nothing
        expect(b.get_by_role("heading", name="Runs")).to_be_visible(timeout=LOAD_MS)
        expect(b.get_by_text("No runs yet")).to_be_visible(timeout=STEP_MS)
        expect(b.locator('[data-testid="stDataFrame"]')).to_have_count(0)
        no_traceback(b)
        screenshot(b, "e2e_runs_ws_3_b_sees_nothing")
    finally:
        ctx_a.close()
        ctx_b.close()

    ctx_s, s = _context_page(browser)  # A's setup link, shared with a classmate: settings, no runs
    try:
        s.goto(setup_link)
        expect(s.get_by_role("button", name="Train")).to_be_visible(timeout=LOAD_MS)
        expect(s.get_by_label("Epochs")).to_have_value("1", timeout=STEP_MS)
        go_to(s, "Runs")
        expect(s.get_by_text("No runs yet")).to_be_visible(timeout=STEP_MS)
        no_traceback(s)
    finally:
        ctx_s.close()

    ctx_c, c = _context_page(browser)  # A's private bookmark, in a fresh browser: asks first
    try:
        c.goto(f"{url}/runs?ws={ws_a}")
        expect(c.get_by_text("This link carries a private workspace key")).to_be_visible(timeout=LOAD_MS)
        expect(c.get_by_text("No runs yet")).to_be_visible(timeout=STEP_MS)
        assert "ws=" not in c.url, c.url
        c.get_by_role("button", name="Open that workspace").click()
        expect(c.get_by_text("1 run.")).to_be_visible(timeout=STEP_MS)
        assert grid_row(c, 0)[:2] == [row[0], "Digit classifier (MLP)"]
        tick_row(c, 0)  # ticking the row selects the run for reopening
        expect(c.locator(".st-key-runs-chosen")).to_contain_text(f"run {row[0]} · Digit classifier (MLP)",
                                                                 timeout=STEP_MS)
        screenshot(c, "e2e_runs_ws_4_bookmark_ticked")
        c.get_by_role("button", name="Reopen on its page").click()
        expect(c.get_by_text(re.compile(rf"run {row[0]} · MNIST"))).to_be_visible(timeout=LOAD_MS)
        read_accuracy(c)
        assert "ws=" not in c.url, c.url
        no_traceback(c)
        screenshot(c, "e2e_runs_ws_5_bookmark_reopened")
    finally:
        ctx_c.close()
