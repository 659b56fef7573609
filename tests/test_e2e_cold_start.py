"""A class arriving together on a freshly started shared server: twelve visitors open
twelve pages at the same moment, and none of them sees an error (a fresh server once
crashed Grid-world in 3 of 6 such starts: pages importing plotly and pandas in several
script threads at once; `dlplay_app.serve` now imports what pages use before the first visitor)."""
from __future__ import annotations

import os

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot, server_log, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = ["gridworld", "playground", "digit_classifier", "vae", "cnn", "sentiment", "search", "lstm_music",
         "runs", "compare", "diagnosis", "gridworld"]
LOAD_MS = 180_000  # twelve first page loads at once on two cores


def test_twelve_visitors_arriving_at_once_on_a_fresh_server_see_no_error(browser, tmp_path):
    env = {**os.environ, "DLPLAY_SHARED": "1", "DLPLAY_HOME": str(tmp_path / "home")}
    with streamlit_server(["dlplay_app.serve"], "cold_start_server.log", env=env) as url:
        contexts = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in PAGES]
        try:
            tabs = [c.new_page() for c in contexts]
            for tab, page in zip(tabs, PAGES):  # all requests out before any page has loaded
                tab.goto(f"{url}/{page}", wait_until="commit")
            for tab in tabs:
                expect(tab.locator("h1").first).to_be_visible(timeout=LOAD_MS)
            for tab, page in zip(tabs, PAGES):
                tab.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                                      timeout=LOAD_MS)
                errors = tab.locator('[data-testid="stException"]')
                if errors.count():
                    screenshot(tab, f"cold_start_{page}")
                assert errors.count() == 0, f"{page}: {errors.first.inner_text()[:500]}"
        finally:
            for c in contexts:
                c.close()
    log = server_log("cold_start_server.log").read_text()
    assert "Traceback" not in log and "Uncaught app exception" not in log, log[-3000:]
