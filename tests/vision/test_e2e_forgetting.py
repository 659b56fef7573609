"""End to end in headless Chromium: on the forgetting page a learner trains digits 0–4 and then
5–9 and, while the run is still going, sees task A's curve fall in the chart: the test reads
the chart's own data from the browser twice during the run."""
import os
import time

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, need_shared, screenshot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000
EPOCHS_A, EPOCHS_B = 2, 8  # all ~30,000 images of each task: about 20–40 s on 2 cores

# The run's chart (its title starts "Run <id> ·") as the browser holds it: task A's points.
READ_A = """() => {
  const title = p => String((p.layout && p.layout.title && p.layout.title.text) || '').replace(/<[^>]+>/g, '');
  const el = [...document.querySelectorAll('.js-plotly-plot')].find(p => title(p).startsWith('Run '));
  if (!el) return null;
  const a = el.data.find(t => String(t.name).startsWith('task A'));
  return a ? {title: title(el), x: Array.from(a.x), y: Array.from(a.y)} : null;
}"""


@pytest.fixture(scope="module")
def forgetting_url():
    """The page served on its own (`streamlit run pages/vision/forgetting.py`)."""
    with streamlit_server(["streamlit", "run", "pages/vision/forgetting.py"], "server-forgetting.log",
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as url:
        yield url


def read_live(page, stop, ready, timeout_s: float = 180):
    """Task A's points once `ready(points)` holds, read while the run is active (Stop enabled
    just before and just after reading)."""
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        live_before = stop.is_enabled()
        points = page.evaluate(READ_A)
        if points and ready(points):
            assert live_before and stop.is_enabled(), f"the run had ended before the read: {points}"
            return points
        page.wait_for_timeout(150)
    raise AssertionError(f"task A's curve never got there: {page.evaluate(READ_A)}")


def test_task_a_curve_falls_live_while_b_is_learned(forgetting_url, page):
    need_shared("MNIST", "raw")
    page.goto(f"{forgetting_url}/?forget-ntrain=all&forget-epochs-a={EPOCHS_A}&forget-epochs-b={EPOCHS_B}")
    train = page.locator(".st-key-forget-train button")
    expect(train).to_be_enabled(timeout=LOAD_MS)
    expect(page.get_by_text("MNIST: 60,000 training")).to_be_visible(timeout=LOAD_MS)
    expect(page.get_by_label("Epochs on task B")).to_have_value(str(EPOCHS_B))
    screenshot(page, "e2e_forgetting_1_ready")

    train.click()
    stop = page.locator(".st-key-forget-stop button")
    expect(stop).to_be_enabled(timeout=30_000)
    # First read: task B has begun (a point past epoch EPOCHS_A) and the run goes on.
    first = read_live(page, stop, lambda p: any(x > EPOCHS_A for x in p["x"]))
    screenshot(page, "e2e_forgetting_2_falling")
    assert first["title"].startswith("Run ") and "digits 0–4 → digits 5–9" in first["title"]
    at_b = first["x"].index(EPOCHS_A)
    assert first["y"][at_b] >= 0.9, f"task A learned before B: {first}"
    assert min(first["y"][at_b + 1:]) <= first["y"][at_b] - 0.3, f"A fell once B began, live: {first}"
    # Second read, still live: the curve has grown by at least one more epoch of B.
    second = read_live(page, stop, lambda p: len(p["x"]) > len(first["x"]))
    assert second["x"][:len(first["x"])] == first["x"] and len(second["x"]) > len(first["x"])
    assert second["y"][-1] <= first["y"][at_b] - 0.3, f"A stays down while B trains: {second}"

    metric = page.locator('[data-testid="stMetric"]', has_text="Task A after B")
    expect(metric).to_be_visible(timeout=180_000)
    after_b = float(metric.locator('[data-testid="stMetricValue"]').inner_text().strip().rstrip("%"))
    assert after_b < 10, f"digits 0–4 after training on 5–9: {after_b}%"
    final = page.evaluate(READ_A)
    assert final["x"] == list(range(EPOCHS_A + EPOCHS_B + 1)), final
    screenshot(page, "e2e_forgetting_3_done")
