"""End to end in headless Chromium: Q-learning learns the maze's 12-step shortcut, the learner
clicks a wall onto it while the agent is still learning, and the greedy path drawn on the board
re-routes round the wall (42 steps, the new shortest) — REINFORCEjs' best moment, on any grid."""
import re
import time
from urllib.parse import urlencode

import pytest
from playwright.sync_api import expect

from tests.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000
BOARD = "click a cell to edit"
# The board's greedy path (as cells) and where a cell's centre is on the screen, read from its SVG.
READ_PATH = """(title) => {
  const svg = [...document.querySelectorAll('svg.rl-board')].find(s => s.textContent.includes(title));
  if (!svg) return null;
  const line = svg.querySelector('.rl-path'), cell = svg.querySelector('.rl-cell');
  if (!line) return [];
  const size = +cell.getAttribute('width'), top = +cell.getAttribute('y');
  return line.getAttribute('points').trim().split(' ').map(p => p.split(',').map(Number))
    .map(([x, y]) => [Math.floor((y - top) / size), Math.floor(x / size)]);
}"""
CELL_XY = """([title, r, c]) => {
  const svg = [...document.querySelectorAll('svg.rl-board')].find(s => s.textContent.includes(title));
  const cell = svg && svg.querySelector(`.rl-cell[data-r="${r}"][data-c="${c}"]`);
  if (!cell) return null;
  cell.scrollIntoView({block: 'center'});
  const box = cell.getBoundingClientRect();
  return [box.left + box.width / 2, box.top + box.height / 2];
}"""
SHORTCUT = (2, 5)  # the corridor cell every 12-step path goes through


def _greedy_steps(page) -> tuple[int, int] | None:
    m = re.search(r"Greedy path: (\d+) steps from S to G \(shortest: (\d+)\)", page.inner_text("body"))
    return (int(m.group(1)), int(m.group(2))) if m else None


def _wait_for(page, want, seconds: float):
    deadline, seen = time.time() + seconds, None
    while time.time() < deadline:
        seen = _greedy_steps(page)
        if seen == want:
            return seen
        page.wait_for_timeout(250)
    return seen


def test_a_wall_on_the_learned_path_makes_the_policy_reroute(app_server, page):
    # Settings drawn with labels travel in the link as their labels.
    query = {"rl-world": "A maze with a shortcut", "rl-method": "Q-learning", "rl-episodes": 5000,
             "rl-pace": "20 episodes/s"}
    page.goto(f"{app_server}/gridworld?{urlencode(query)}")
    train = page.locator(".st-key-rl-train button")
    expect(train).to_be_enabled(timeout=LOAD_MS)
    expect(page.get_by_text("Shortest path from S to G: 12 steps.")).to_be_visible(timeout=LOAD_MS)
    train.click()
    expect(page.locator(".st-key-rl-stop button")).to_be_enabled(timeout=30_000)

    seen = _wait_for(page, (12, 12), 60)
    screenshot(page, "e2e_rl_1_learned")
    assert seen == (12, 12), f"the greedy policy takes the 12-step shortcut: {seen}"
    path = page.evaluate(READ_PATH, BOARD)
    assert list(SHORTCUT) in path and len(path) == 13, path

    x, y = page.evaluate(CELL_XY, [BOARD, *SHORTCUT])  # the "wall" tool is the default
    page.mouse.click(x, y)
    expect(page.get_by_text("Greedy path: ")).to_be_visible(timeout=30_000)
    seen = _wait_for(page, (42, 42), 90)
    screenshot(page, "e2e_rl_2_rerouted")
    assert seen == (42, 42), f"after the wall the greedy path goes round it: {seen}"
    path = page.evaluate(READ_PATH, BOARD)
    assert list(SHORTCUT) not in path and len(path) == 43, path
    assert page.locator(".st-key-rl-stop button").is_enabled(), "the agent re-routed while still learning"
    assert "....###...#." in page.get_by_label("Layout", exact=True).input_value(), "the layout text follows the edit"
    stop(page)


def stop(page) -> None:
    """Stop the run and see it stopped: a tab closed before its Stop is read leaves the run
    training, and the next test's fresh tab adopts it (as a reload does)."""
    page.locator(".st-key-rl-stop button").click()
    expect(page.locator(".st-key-rl-train button")).to_be_enabled(timeout=30_000)
