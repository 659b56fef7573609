"""End to end in headless Chromium (issue 25): clicks on the board while the agent learns and the
board redraws twice a second are all kept (one in four was lost: a click arriving while the page
redrew was read from the wrong chart, or undone by the layout box's stale text), and a refused click's
reason stays on screen until the next edit (it showed for well under a second)."""
import time
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot
from tests.rl.test_e2e_gridworld import BOARD, CELL_XY, stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000
# Column 5 of the empty 10×10 world walled from the top, one click each; row 9 stays open.
WALLS = [(r, 5) for r in range(9)]


def _layout(page) -> list[str]:
    return page.locator(".st-key-rl-text textarea").input_value().splitlines()


def _click(page, r, c) -> None:
    xy, deadline = None, time.time() + 10
    while xy is None and time.time() < deadline:
        xy = page.evaluate(CELL_XY, [BOARD, r, c])
    assert xy is not None, "the board is not on the page"
    page.mouse.move(*xy)  # as a hand does: Plotly clicks the point it hovers, found a moment after the move
    page.wait_for_timeout(150)
    page.mouse.click(*xy)


def test_fast_clicks_while_learning_are_all_kept_and_a_refusal_stays(app_server, page):
    query = {"rl-world": "Empty 10×10", "rl-method": "Q-learning", "rl-episodes": 5000, "rl-pace": "20 episodes/s"}
    page.goto(f"{app_server}/gridworld?{urlencode(query)}")
    train = page.locator(".st-key-rl-train button")
    expect(train).to_be_enabled(timeout=LOAD_MS)
    train.click()
    expect(page.locator(".st-key-rl-stop button")).to_be_enabled(timeout=30_000)
    expect(page.get_by_text("Greedy path: ")).to_be_visible(timeout=30_000)
    # The live board mounts with the run's first redraws: a click before that can miss (seen once in a
    # full-suite run, the first of nine); every click after it must be kept.
    page.wait_for_timeout(1500)

    lost = []
    for r, c in WALLS:  # a learner walling a column: each click lands while the board redraws live
        _click(page, r, c)
        deadline, rows = time.time() + 10, []
        while time.time() < deadline:  # kept: the layout says so (a lost click never shows)
            rows = _layout(page)
            if rows[r][c] == "#":
                break
            page.wait_for_timeout(150)
        else:
            lost.append((r, c))
    rows = _layout(page)
    screenshot(page, "e2e_rl_clicks_1_walled")
    assert not lost and all(rows[r][c] == "#" for r, c in WALLS), f"clicks lost: {lost}\n" + "\n".join(rows)

    _click(page, 9, 5)  # the last gap: no path left, refused while the agent learns
    warning = page.get_by_text("Not sent to the running agent")
    expect(warning).to_be_visible(timeout=10_000)
    for _ in range(8):  # still there through several live redraws (every 0.5 s)
        page.wait_for_timeout(500)
        assert warning.is_visible(), "the refusal's reason disappeared before the next edit"
    screenshot(page, "e2e_rl_clicks_2_refused")
    assert _layout(page)[9][5] == ".", "the refused wall is not placed"
    stop(page)
