"""End to end in headless Chromium: on the VAE page a learner trains a small VAE (one
epoch on 5,000 images, set with the page's controls), clicks two places of the latent
plane and sees each decoded, with the coordinates of where they clicked."""
import re

import pytest
from playwright.sync_api import expect

from dlplay.vae import GRID_TRACE
from tests.conftest import need_shared, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000  # the first load imports torch and reads MNIST on a shared 2-core machine
TRAIN_MS = 240_000

# Index of the latent scatter among the page's plotly charts (the one holding the clickable grid).
SCATTER_INDEX_JS = f"""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
  .findIndex(e => (e.data || []).some(t => t.name === {GRID_TRACE!r}))"""

# Data coordinates of a pixel position inside the scatter's plot area, and data units per pixel.
TO_DATA_JS = """([i, px, py]) => {
  const el = document.querySelectorAll('.js-plotly-plot')[i];
  const xa = el._fullLayout.xaxis, ya = el._fullLayout.yaxis;
  return [xa.p2l(px), ya.p2l(py), Math.abs(xa.p2l(1) - xa.p2l(0))];
}"""


def test_train_then_click_the_latent_plane(app_server, page):
    need_shared("MNIST", "raw")
    page.goto(f"{app_server}/vae")
    train = page.get_by_role("button", name="Train", exact=True)
    expect(train).to_be_enabled(timeout=LOAD_MS)
    expect(page.get_by_text("MNIST: 60,000 training")).to_be_visible(timeout=LOAD_MS)

    set_training_images(page, "5,000")
    epochs = page.get_by_label("Epochs")
    epochs.fill("1")
    epochs.press("Enter")
    expect(epochs).to_have_value("1")
    screenshot(page, "e2e_vae_1_ready")

    train.click()
    elbo = page.locator('[data-testid="stMetric"]', has_text="Negative ELBO")
    expect(elbo).to_be_visible(timeout=TRAIN_MS)
    value = float(re.match(r"[\d.]+", elbo.locator('[data-testid="stMetricValue"]').inner_text()).group())
    assert value < 205.8, f"negative ELBO after one epoch: {value}"  # beats ignoring the code
    expect(page.get_by_text("Click a point of the plane to decode it.")).to_be_visible()
    screenshot(page, "e2e_vae_2_trained")

    decoded = page.locator(".st-key-vae-decoded")
    first = click_plane(page, 0.3, 0.35)
    expect(decoded.locator("img")).to_be_visible(timeout=30_000)
    caption_1, src_1 = check_decoded(page, first)
    screenshot(page, "e2e_vae_3_decoded")

    second = click_plane(page, 0.75, 0.8)
    expect(decoded).not_to_have_text(caption_1, timeout=30_000)
    caption_2, src_2 = check_decoded(page, second)
    assert src_2 != src_1, "a different point should decode to a different image"
    screenshot(page, "e2e_vae_4_decoded_again")


def set_training_images(page, label: str) -> None:
    """The select slider moves by keyboard: one step left per press until it reads `label`."""
    thumb = page.get_by_role("slider", name="Training images")
    for _ in range(5):
        if thumb.get_attribute("aria-valuetext") == label:
            return
        thumb.press("ArrowLeft")
        page.wait_for_timeout(300)
    assert thumb.get_attribute("aria-valuetext") == label


def click_plane(page, fx: float, fy: float) -> tuple[float, float, float]:
    """Click at a fraction of the scatter's plot area; returns the data coordinates there
    and the data units per pixel."""
    index = page.evaluate(SCATTER_INDEX_JS)
    assert index >= 0, "latent scatter not found"
    area = page.locator(".js-plotly-plot").nth(index).locator(".nsewdrag").first
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    px, py = box["width"] * fx, box["height"] * fy
    page.mouse.click(box["x"] + px, box["y"] + py)
    return tuple(page.evaluate(TO_DATA_JS, [index, px, py]))


def check_decoded(page, clicked) -> tuple[str, str]:
    """The decoded image is shown with the coordinates of a point within a few pixels of
    the click (the clickable grid is 61×61 over the plane)."""
    decoded = page.locator(".st-key-vae-decoded")
    img = decoded.locator("img")
    expect(img).to_be_visible(timeout=30_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    caption = decoded.inner_text()
    match = re.search(r"decoded at \((-?[\d.]+), (-?[\d.]+)\)", caption)
    assert match, caption
    x, y, per_px = clicked
    tolerance = 12 * per_px + 0.01
    assert abs(float(match[1]) - x) < tolerance and abs(float(match[2]) - y) < tolerance, (caption, clicked)
    return caption, img.get_attribute("src")
