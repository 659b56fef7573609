"""End to end in headless Chromium: on the digit-classifier page a learner sets one
epoch, trains on full MNIST, watches the loss curve grow while the job runs, reads
the test accuracy, draws a "1" and gets a prediction."""
import re

import pytest
from playwright.sync_api import expect

from dlplay.bench.server import LOSS_POINTS_JS
from tests.conftest import draw_stroke, need_shared, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000  # first load imports torch and reads MNIST on a shared 2-core machine
TRAIN_MS = 240_000

# True while a one-epoch job runs: the progress bar then reads "epoch 1/1 · step n/N · t s".
RUNNING_JS = """() => Array.from(document.querySelectorAll('[data-testid="stProgress"]'))
  .some(e => /epoch 1\\/1 · step/.test(e.innerText))"""


def test_train_watch_and_draw(app_server, page):
    need_shared("MNIST", "raw")
    page.goto(f"{app_server}/digit_classifier")
    train = page.get_by_role("button", name="Train")
    expect(train).to_be_enabled(timeout=LOAD_MS)
    expect(page.get_by_text("MNIST: 60,000 training")).to_be_visible(timeout=LOAD_MS)

    epochs = page.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Enter")
    expect(epochs).to_have_value("1")
    screenshot(page, "e2e_digit_1_ready")

    train.click()
    # A first point, then more points, both seen while the progress bar says the job runs.
    first = points_while_running(page, more_than=0)
    screenshot(page, "e2e_digit_2_training")
    later = points_while_running(page, more_than=first)
    assert later > first >= 1
    screenshot(page, "e2e_digit_3_curve_grew")

    metric = page.locator('[data-testid="stMetric"]', has_text="Test accuracy")
    expect(metric).to_be_visible(timeout=TRAIN_MS)
    value = metric.locator('[data-testid="stMetricValue"]').inner_text()
    accuracy = float(value.strip().rstrip("%")) / 100
    assert accuracy >= 0.95, f"test accuracy after 1 epoch on MNIST: {value}"
    assert page.evaluate(LOSS_POINTS_JS) >= later
    expect(page.get_by_text(re.compile(r"[\d,]+ samples/s"))).to_be_visible()
    screenshot(page, "e2e_digit_4_trained")

    draw_stroke(page)
    prediction = page.get_by_text(re.compile(r"Prediction: \w"))
    expect(prediction).to_be_visible(timeout=60_000)
    assert re.search(r"Prediction: 1\b", prediction.inner_text()), prediction.inner_text()
    expect(page.get_by_text("what the model sees")).to_be_visible()
    screenshot(page, "e2e_digit_5_prediction")


def points_while_running(page, more_than: int) -> int:
    """Wait until the loss curve has more than `more_than` points while the job still
    runs (both read in the same instant in the browser); returns the count."""
    handle = page.wait_for_function(
        f"() => {{ const n = ({LOSS_POINTS_JS})(); return ({RUNNING_JS})() && n > {more_than} ? n : 0; }}",
        timeout=TRAIN_MS)
    return handle.json_value()
