"""Runs that last, in headless Chromium against real `streamlit run app.py` servers.

1. A learner sets up the digit classifier, leaves the page and comes back (the
   settings stay, and live in the URL), trains, stops mid-run (the model is kept and
   measured), draws a digit; the server restarts; the Runs page lists the stopped run,
   and "Reopen on its page" brings back its settings, its stop note, its accuracy and a
   model that still predicts.
2. On a shared server (DLPLAY_SHARED=1) two visitors get private workspaces: one's run
   is invisible to the other, and the first visitor's link (?ws=…) brings it back.
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
from playwright.sync_api import expect

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

    def __init__(self, home: Path, shared: bool):
        self.home, self.shared, self.procs = home, shared, []

    def start(self) -> str:
        env = os.environ.copy()  # DLPLAY_DATA_DIR, DLPLAY_OFFLINE, DLPLAY_CACHE_DIR as conftest sets them
        env["DLPLAY_HOME"] = str(self.home)
        env.pop("DLPLAY_SHARED", None)
        if self.shared:
            env["DLPLAY_SHARED"] = "1"
        port = _free_port()
        SCREENSHOTS.mkdir(exist_ok=True)
        self.log = SCREENSHOTS / f"e2e_runs_server{len(self.procs)}.log"
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
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
    s = Servers(tmp_path / "dlplay-home", shared=False)
    yield s
    s.close()


@pytest.fixture
def shared_servers(tmp_path):
    """As `servers`, with DLPLAY_SHARED=1: each visitor has a private workspace."""
    s = Servers(tmp_path / "dlplay-home", shared=True)
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
    page.locator(".st-key-mlp-dataset").click()
    page.get_by_role("option", name=title, exact=True).click()
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


def test_accuracy(page) -> float:
    metric = page.locator('[data-testid="stMetric"]', has_text="Test accuracy")
    expect(metric).to_be_visible(timeout=TRAIN_MS)
    value = metric.locator('[data-testid="stMetricValue"]').inner_text()
    return float(value.strip().rstrip("%")) / 100


test_accuracy.__test__ = False  # a page reader, not a test


def draw_and_predict(page) -> str:
    draw_stroke(page)
    prediction = page.get_by_text(re.compile(r"Prediction: \w"))
    expect(prediction).to_be_visible(timeout=STEP_MS)
    return prediction.inner_text()


def no_traceback(page) -> None:
    expect(page.locator('[data-testid="stException"]')).to_have_count(0)


# --- 1. stop, restart, reopen -----------------------------------------------------------------

def test_stopped_run_survives_restart_and_reopens(servers, browser):
    need_shared("MNIST", "raw")
    url = servers.start()
    context, page = _context_page(browser)
    try:
        open_digit_page(page, url)
        pick_dataset(page, "MNIST")
        set_epochs(page, 5)
        page.wait_for_url(re.compile(r"mlp-epochs=5"), timeout=STEP_MS)  # the link to this setup

        go_to(page, "Welcome")
        page.wait_for_url(re.compile(r"/$|/\?"), timeout=STEP_MS)
        go_to(page, "Digit classifier")
        expect(page.get_by_role("button", name="Train")).to_be_enabled(timeout=LOAD_MS)
        expect(page.get_by_label("Epochs")).to_have_value("5")
        screenshot(page, "e2e_runs_1_setup_kept")

        wait_until_idle(page)
        page.get_by_role("button", name="Train").click()
        loss_points(page)
        page.get_by_role("button", name="Stop").click()
        note = page.get_by_text(re.compile(r"Stopped at epoch \d of 5"))
        expect(note).to_be_visible(timeout=STEP_MS)
        accuracy = test_accuracy(page)
        screenshot(page, "e2e_runs_2_stopped")
        draw_and_predict(page)
        no_traceback(page)
        screenshot(page, "e2e_runs_3_predicted")
    finally:
        context.close()
    servers.stop()

    url = servers.start()
    context, page = _context_page(browser)
    try:
        page.goto(f"{url}/runs")
        expect(page.get_by_text("1 run.")).to_be_visible(timeout=LOAD_MS)
        screenshot(page, "e2e_runs_4_listed")
    finally:
        context.close()
