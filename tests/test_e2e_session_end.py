"""A closed tab's work ends; a reloaded tab takes its run back — in headless Chromium
against a real `streamlit run app.py` (its own server, its own run store).

1. A learner starts a 30-epoch run on full MNIST and closes the tab: the run is
   stopped within 30 s (read from the store in the server's DLPLAY_HOME) and keeps its
   model, and the server's RSS comes back to within 10 % of its level before the run.
2. A learner reloads the tab mid-run: the page shows the same run still training,
   the run outlives the grace period in which a closed tab's run is stopped (and a
   visit to another page), and Stop on the reloaded page stops it, keeping its model.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dlplay.bench.server import LOSS_POINTS_JS, free_port
from dlplay.runs.store import RunStore
from dlplay.sessions import CHECK_S, GRACE_S
from tests.conftest import ROOT, SCREENSHOTS, need_shared, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000
STEP_MS = 30_000
STOP_WITHIN_S = 30.0
RSS_SLACK = 0.10


class Server:
    """`streamlit run app.py` with its own DLPLAY_HOME, so the test reads its runs."""

    def __init__(self, home: Path):
        self.home = home
        env = os.environ.copy()
        env["DLPLAY_HOME"] = str(home)
        for name in ("DLPLAY_SHARED", "DLPLAY_DB_URL", "DLPLAY_SESSION_GRACE_S", "DLPLAY_SESSION_CHECK_S"):
            env.pop(name, None)  # the shipped defaults are what is measured
        SCREENSHOTS.mkdir(exist_ok=True)
        self.log = SCREENSHOTS / "e2e_session_end_server.log"
        port = free_port()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dlplay_app.serve", "--server.port", str(port),
             "--server.address", "127.0.0.1", "--server.headless", "true"],
            cwd=ROOT, stdout=open(self.log, "w"), stderr=subprocess.STDOUT, env=env)
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.time() + 60
        while time.time() < deadline and self.proc.poll() is None:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1).status == 200:
                    break
            except OSError:
                time.sleep(0.3)
        else:
            self.close()
            pytest.fail(f"Streamlit server did not start; see {self.log}")
        self.store = RunStore(home)

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise RuntimeError("no VmRSS")

    def steady_rss_mb(self, seconds: float = 3.0) -> float:
        samples = []
        for _ in range(int(seconds / 0.5)):
            samples.append(self.rss_mb())
            time.sleep(0.5)
        return sorted(samples)[len(samples) // 2]

    def newest_run(self):
        runs = self.store.list("local", page="mlp")
        return runs[0] if runs else None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    s = Server(tmp_path_factory.mktemp("session-end") / "dlplay-home")
    yield s
    s.close()


def wait_until_idle(page, timeout_ms: int = STEP_MS) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=timeout_ms)


def open_long_run_setup(page, url: str) -> None:
    """The digit page on full MNIST, 30 epochs (a few minutes on 2 cores)."""
    page.goto(f"{url}/digit_classifier?mlp-epochs=30")
    expect(page.get_by_role("button", name="Train")).to_be_enabled(timeout=LOAD_MS)
    expect(page.get_by_label("Epochs")).to_have_value("30")
    expect(page.locator(".st-key-mlp-dataset input")).to_have_value("MNIST")
    wait_until_idle(page)


def start_training(page, server: Server):
    """Train, then the new run once it draws (the page may show an earlier run of the same
    setup until then: the last run of a setup comes back with the page)."""
    before = server.newest_run()
    page.get_by_role("button", name="Train").click()
    deadline = time.monotonic() + STEP_MS / 1000
    run = server.newest_run()
    while (run is None or (before is not None and run.id == before.id)) and time.monotonic() < deadline:
        time.sleep(0.2)
        run = server.newest_run()
    page.wait_for_function(f"() => ({LOSS_POINTS_JS})() > 0", timeout=STEP_MS)
    run = server.store.get(run.id)
    assert run is not None and run.state == "running", run
    return run


def wait_for_state(server: Server, run_id: int, done: tuple, timeout: float):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        run = server.store.get(run_id)
        if run.state in done:
            return run
        time.sleep(0.25)
    return server.store.get(run_id)


def test_closing_the_tab_stops_its_run_within_30_s_and_memory_returns(server, browser):
    need_shared("MNIST", "raw")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    open_long_run_setup(page, server.url)
    before = server.steady_rss_mb()
    run = start_training(page, server)
    time.sleep(2)  # training for real: tensors, optimizer state, a worker thread's heap
    during = server.rss_mb()

    context.close()  # the tab goes away mid-run
    closed = time.monotonic()
    ended = wait_for_state(server, run.id, ("stopped", "cancelled", "done", "failed"), STOP_WITHIN_S + 5)
    took = time.monotonic() - closed
    print(f"\nrun {run.id} ended {ended.state!r} {took:.1f} s after its tab closed "
          f"(grace {GRACE_S:g} s, check every {CHECK_S:g} s)")
    assert ended.state == "stopped", f"still {ended.state} {took:.0f} s after the tab closed"
    assert took <= STOP_WITHIN_S
    assert ended.has_model and re.match(r"stopped at epoch \d+ of 30", ended.status), ended.status

    deadline, after = time.monotonic() + 20, server.rss_mb()
    while after > before * (1 + RSS_SLACK) and time.monotonic() < deadline:
        time.sleep(1)
        after = server.rss_mb()
    print(f"server RSS: {before:.0f} MB before the run, {during:.0f} MB while training, "
          f"{after:.0f} MB after the tab closed ({after / before - 1:+.1%})")
    assert after <= before * (1 + RSS_SLACK), f"RSS {after:.0f} MB vs {before:.0f} MB before the run"


def test_a_reloaded_tab_shows_its_running_run_and_stops_it(server, browser):
    need_shared("MNIST", "raw")
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        open_long_run_setup(page, server.url)
        run = start_training(page, server)

        page.reload()
        expect(page.get_by_text(f"run {run.id} ·").first).to_be_visible(timeout=LOAD_MS)
        expect(page.get_by_role("button", name="Stop")).to_be_enabled(timeout=STEP_MS)
        points = page.wait_for_function(f"() => ({LOSS_POINTS_JS})()", timeout=STEP_MS).json_value()
        page.wait_for_function(f"() => ({LOSS_POINTS_JS})() > {points}", timeout=STEP_MS)  # still live
        screenshot(page, "e2e_session_end_1_reloaded")

        # Past the grace period that ends a closed tab's run, with a visit to another page.
        page.locator('[data-testid="stSidebarNav"] a', has_text="Runs").click()
        expect(page.get_by_role("heading", name="Runs").first).to_be_visible(timeout=STEP_MS)
        time.sleep(GRACE_S + 2 * CHECK_S + 1)
        assert server.store.get(run.id).state == "running", "the reloaded tab's run goes on"
        page.locator('[data-testid="stSidebarNav"] a', has_text="Digit classifier").click()
        expect(page.get_by_text(f"run {run.id} ·").first).to_be_visible(timeout=STEP_MS)

        wait_until_idle(page)
        page.get_by_role("button", name="Stop").click()
        ended = wait_for_state(server, run.id, ("stopped", "cancelled", "done", "failed"), 15)
        assert ended.state == "stopped" and ended.has_model, (ended.state, ended.status)
        expect(page.get_by_text("Stopped at epoch").first).to_be_visible(timeout=STEP_MS)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)
        screenshot(page, "e2e_session_end_2_stopped")
    finally:
        context.close()
