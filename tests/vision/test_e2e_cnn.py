"""End to end in headless Chromium: on the CNN builder a learner trains the fast CNN for
one epoch, sees the first layer's filter grid change from its random start, uploads a
picture and opens the feature maps it produces."""
import os

import pytest
from playwright.sync_api import expect

from dlplay.vision.cnn import PRESETS
from tests.conftest import ROOT, need_shared, screenshot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000
TRAIN_MS = 240_000
EXAMPLES = ROOT / "dlplay" / "assets" / "examples"


@pytest.fixture(scope="module")
def cnn_url():
    """The page served on its own (`streamlit run pages/vision/cnn.py`), so the test
    doesn't depend on where app.py lists it."""
    with streamlit_server(["streamlit", "run", "pages/vision/cnn.py"], "server-cnn.log",
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as url:
        yield url


def filter_src(page, caption: str, timeout: float = TRAIN_MS) -> str:
    image = page.locator('[data-testid="stImage"]', has_text=caption).locator("img").first
    expect(image).to_be_visible(timeout=timeout)
    return image.get_attribute("src")


def test_build_train_watch_filters_and_look_inside_an_upload(cnn_url, page):
    need_shared("MNIST", "raw")
    page.goto(cnn_url)
    train = page.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_enabled(timeout=LOAD_MS)
    expect(page.get_by_text("MNIST: 60,000 training")).to_be_visible(timeout=LOAD_MS)
    expect(page.get_by_text("formula and torchinfo agree")).to_be_visible()
    epochs = page.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Enter")
    expect(epochs).to_have_value("1")
    screenshot(page, "e2e_cnn_1_ready")

    train.click()
    before = filter_src(page, "before training", timeout=60_000)  # drawn at once, then updated each epoch
    screenshot(page, "e2e_cnn_2_training")
    metric = page.locator('[data-testid="stMetric"]', has_text="Test accuracy")
    expect(metric).to_be_visible(timeout=TRAIN_MS)
    after = filter_src(page, "after epoch 1")
    assert after != before, "the filter grid changed with training"
    accuracy = float(metric.locator('[data-testid="stMetricValue"]').inner_text().strip().rstrip("%"))
    assert accuracy >= 97.0, f"the fast CNN after one epoch on MNIST: {accuracy}%"
    screenshot(page, "e2e_cnn_3_trained")

    page.get_by_text("An uploaded image").click()
    page.locator('input[type="file"]').set_input_files(str(EXAMPLES / "digit-3-on-paper.jpg"))
    prediction = page.get_by_text("Prediction: 3")
    expect(prediction).to_be_visible(timeout=60_000)
    expect(page.get_by_text("what the model sees: “digit-3-on-paper.jpg”")).to_be_visible()
    convs = [b.filters for b in PRESETS["fast"] if b.kind == "conv"]
    conv1 = page.locator('[data-testid="stExpander"]', has_text=f"conv1: {convs[0]} maps of 28×28")
    expect(conv1.locator("img")).to_be_visible()
    pool2 = page.locator('[data-testid="stExpander"]', has_text=f"pool2: {convs[1]} maps of 7×7")
    pool2.get_by_text(f"pool2: {convs[1]} maps of 7×7").click()
    expect(pool2.locator("img")).to_be_visible()
    pool2.scroll_into_view_if_needed()
    screenshot(page, "e2e_cnn_4_feature_maps")

    page.locator('input[type="file"]').set_input_files(
        files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a picture"}])
    expect(page.get_by_text("“notes.txt” is not an image")).to_be_visible(timeout=30_000)
    screenshot(page, "e2e_cnn_5_not_an_image")
