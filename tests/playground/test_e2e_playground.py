"""2-D playground in a real browser: Play redraws the heatmap several times a second,
and the URL the page writes reproduces its settings in a fresh page."""
from __future__ import annotations

import re

import pytest

from tests.conftest import screenshot

pytestmark = pytest.mark.browser

HEATMAP = "svg.pg-heatmap"

# Records, in the page, every heatmap picture shown and when: polling from the test
# process would miss redraws between its round trips.
WATCH_JS = """() => {
  window.__pg = [];
  window.__pgTimer = setInterval(() => {
    const svg = document.querySelector('svg.pg-heatmap');
    if (!svg) return;
    const href = svg.querySelector('image').getAttribute('href');
    const img = href.length + ':' + href.slice(-60);
    const last = window.__pg[window.__pg.length - 1];
    if (!last || last.img !== img) window.__pg.push({t: performance.now(), img: img, epoch: +svg.dataset.epoch});
  }, 15);
}"""


def _open(page, url):
    page.goto(url)
    page.locator(HEATMAP).wait_for(timeout=60_000)


def _epoch(page) -> int:
    return int(page.locator(HEATMAP).get_attribute("data-epoch"))


def test_play_redraws_and_url_reproduces_setup(app_server, page, browser):
    _open(page, f"{app_server}/playground?dataset=spiral&networkShape=6,4&showTestData=true")
    assert page.get_by_role("radio", name="Spiral").is_checked()
    assert _epoch(page) == 0
    first = page.locator(f"{HEATMAP} image").get_attribute("href")

    page.evaluate(WATCH_JS)
    page.locator(".st-key-pg-play button").click()
    page.wait_for_timeout(5000)
    seen = page.evaluate("window.__pg")
    screenshot(page, "playground_playing")
    page.locator(".st-key-pg-play button").click()  # pause

    assert page.locator(f"{HEATMAP} image").get_attribute("href") != first
    assert seen[-1]["epoch"] > 50, seen[-1]
    late = [s for s in seen if s["t"] >= seen[0]["t"] + 1000]  # after the first second's page rerun
    rate = (len(late) - 1) / ((late[-1]["t"] - late[0]["t"]) / 1000)
    print(f"browser heatmap redraws while playing: {rate:.1f}/s over {len(late)} pictures")
    assert rate >= 2.0  # 4–5/s on an idle 2-core machine; a floor that survives a busy one

    # Settings changed with the widgets land in the URL ...
    page.get_by_role("radio", name="XOR").click(force=True)
    page.wait_for_url(re.compile(r"dataset=xor"), timeout=30_000)
    layers = page.locator(".st-key-pg-layers input")
    layers.fill("3")
    layers.press("Enter")
    page.wait_for_url(re.compile(r"networkShape=6%2C4%2C4"), timeout=30_000)
    page.locator(".st-key-pg-act").click()
    page.get_by_role("option", name="ReLU").click()
    page.wait_for_url(re.compile(r"activation=relu"), timeout=30_000)
    url = page.url
    assert "showTestData=true" in url

    # ... and a fresh page opened on that URL shows the same settings.
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        fresh = context.new_page()
        _open(fresh, url)
        assert fresh.get_by_role("radio", name="XOR").is_checked()
        assert fresh.locator(".st-key-pg-layers input").input_value() == "3"
        assert [fresh.locator(f".st-key-pg-n{i} input").input_value() for i in range(3)] == ["6", "4", "4"]
        assert fresh.locator(".st-key-pg-act input").input_value() == "ReLU"
        assert fresh.locator(".st-key-pg-test input").is_checked()
        assert fresh.locator("svg.pg-network").inner_html().count("<title>layer 3, neuron") == 4
        assert _epoch(fresh) == 0 and fresh.locator(f"{HEATMAP} circle").count() == 500
        screenshot(fresh, "playground_from_url")
    finally:
        context.close()
