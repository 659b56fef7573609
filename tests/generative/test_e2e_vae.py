"""End to end in headless Chromium: on the VAE page a learner trains a small VAE (one
epoch on 5,000 images, set with the page's controls), hovers the latent scatter and
sees a test digit's thumbnail in the tooltip, clicks that dot and sees it decoded next
to the test image, then clicks two empty places of the plane and sees each decoded at
the coordinates where they clicked."""
import re

import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.conftest import draw_stroke, need_shared, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000  # the first load imports torch and reads MNIST on a shared 2-core machine
TRAIN_MS = 240_000
TOOLTIP = "#vg-tooltip-element"  # vega-tooltip's box, which Streamlit's Vega charts use
SCATTER = '[class*="st-key-vae-scatter-"] canvas'  # the chart is keyed by its run: "vae-scatter-<run id>"


def test_train_hover_then_click_the_latent_plane(app_server, page):
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
    # This run, not one the server's earlier visitors left (a page first shows the last run of its setup).
    expect(page.locator(".dl-run-label")).to_contain_text("5,000 of 60,000", timeout=TRAIN_MS)
    elbo = page.locator('[data-testid="stMetric"]', has_text="Negative ELBO")
    expect(elbo).to_be_visible(timeout=TRAIN_MS)
    value = float(re.match(r"[\d.]+", elbo.locator('[data-testid="stMetricValue"]').inner_text()).group())
    assert value < 205.8, f"negative ELBO after one epoch: {value}"  # beats ignoring the code
    expect(page.get_by_text("Click a point of the plane to decode it.")).to_be_visible()
    screenshot(page, "e2e_vae_2_trained")

    # Hover: dots show their digit as a picture; two of them calibrate pixels to plane coordinates.
    dots = find_dots(page)
    assert len(dots) >= 2, f"too few dots showed a thumbnail on hover: {dots}"
    px1, py1, d1 = dots[0]
    page.mouse.move(px1, py1)
    thumb = page.locator(f"{TOOLTIP} img")
    expect(thumb).to_be_visible()
    assert thumb.get_attribute("src").startswith("data:image/png;base64,")
    page.wait_for_function("img => img.complete && img.naturalWidth === 56", arg=thumb.element_handle())
    screenshot(page, "e2e_vae_3_hover_thumbnail")

    # Click the hovered dot: it is decoded, and its test image is shown beside.
    decoded = page.locator(".st-key-vae-decoded")
    page.mouse.click(px1, py1)
    caption_0, _ = check_decoded(page, (d1["x"], d1["y"]), 0.011)
    expect(page.get_by_text(f"test image #{d1['index']}:")).to_be_visible()

    # Click anywhere: two empty places decode to (about) where they were clicked.
    to_data = calibrate(dots)
    box = page.locator(SCATTER).first.bounding_box()
    per_px = abs(to_data(1, 0)[0] - to_data(0, 0)[0])
    tolerance = 12 * per_px + 0.02  # the clickable grid is 61×61 over the plane
    first = pick_empty(page, box, 0.22, 0.3)
    page.mouse.click(*first)
    expect(decoded).not_to_have_text(caption_0, timeout=30_000)
    caption_1, src_1 = check_decoded(page, to_data(*first), tolerance)
    screenshot(page, "e2e_vae_4_decoded")

    second = pick_empty(page, box, 0.3, 0.6)
    page.mouse.click(*second)
    expect(decoded).not_to_have_text(caption_1, timeout=30_000)
    caption_2, src_2 = check_decoded(page, to_data(*second), tolerance)
    assert src_2 != src_1, "a different point should decode to a different image"
    screenshot(page, "e2e_vae_5_decoded_again")

    # Draw a digit: its code is marked with a star on the plane, where hovering names it.
    draw_stroke(page)
    drawn = page.get_by_text("reconstruction from ★ at")
    expect(drawn).to_be_visible(timeout=30_000)
    zx, zy = map(float, re.search(r"\((-?[\d.]+), (-?[\d.]+)\)", drawn.inner_text()).groups())
    moved = settled_chart_box(page)  # the calibration was taken before the page scrolled
    (ox, oy), (ux, uy) = to_data(0, 0), to_data(1, 1)  # the map is linear: invert it per axis
    star = ((zx - ox) / (ux - ox) + moved["x"] - box["x"], (zy - oy) / (uy - oy) + moved["y"] - box["y"])
    page.mouse.move(star[0] + 3, star[1] + 3)
    page.mouse.move(*star)
    expect(page.locator(TOOLTIP)).to_contain_text("your drawing", timeout=10_000)
    screenshot(page, "e2e_vae_6_drawn_star")


def set_training_images(page, label: str) -> None:
    """The select slider moves by keyboard: one step left per press until it reads `label`."""
    thumb = page.get_by_role("slider", name="Training images")
    for _ in range(5):
        if thumb.get_attribute("aria-valuetext") == label:
            return
        thumb.press("ArrowLeft")
        page.wait_for_timeout(300)
    assert thumb.get_attribute("aria-valuetext") == label


def settled_chart_box(page) -> dict:
    """The scatter's box once the rerun that redraws it (with the star) has settled."""
    chart = page.locator(SCATTER).first
    for _ in range(20):
        page.wait_for_timeout(500)
        try:
            chart.scroll_into_view_if_needed(timeout=2_000)
            return chart.bounding_box(timeout=2_000)
        except PlaywrightError:  # detached while Streamlit swapped in the redrawn chart
            continue
    raise AssertionError("the latent scatter never settled")


def tooltip_dot(page) -> dict | None:
    """The hovered dot's test index and plane coordinates, read from its tooltip table."""
    tip = page.locator(TOOLTIP)
    if not tip.is_visible() or tip.locator("img").count() == 0:
        return None
    cells = [c.strip() for c in tip.locator("td").all_inner_texts()]
    values = dict(zip(cells[0::2], cells[1::2]))
    x, y = [float(values[k].replace("\u2212", "-")) for k in values if k.startswith("z")][:2]  # d3's minus
    return {"index": int(values["test image #"].replace(",", "")), "x": x, "y": y}


def find_dots(page) -> list[tuple[float, float, dict]]:
    """Sweep the mouse along a few rows of the chart, from the left and from the right; the first
    dot showing a tooltip in each sweep, with the pixel where it did (both ends of a row: dots
    found from one side only may all lie on one vertical line, too close to calibrate)."""
    canvas = page.locator(SCATTER).first
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    found = []
    for fy in (0.2, 0.35, 0.5, 0.65):
        for side in (range(100), range(99, -1, -1)):
            for k in side:
                px, py = box["x"] + box["width"] * (0.1 + 0.7 * k / 100), box["y"] + box["height"] * fy
                page.mouse.move(px, py)
                page.wait_for_timeout(15)
                dot = tooltip_dot(page)
                if dot:
                    found.append((px, py, dot))
                    break
    return found


def calibrate(dots):
    """Pixel → plane coordinates, linear per axis, from the two hovered dots furthest
    apart in both directions."""
    a, b = max(((a, b) for a in dots for b in dots), key=lambda p: min(abs(p[0][0] - p[1][0]),
                                                                      abs(p[0][1] - p[1][1])))
    (ax, ay, da), (bx, by, db) = a, b
    assert min(abs(bx - ax), abs(by - ay)) > 20, dots
    sx, sy = (db["x"] - da["x"]) / (bx - ax), (db["y"] - da["y"]) / (by - ay)
    return lambda px, py: (da["x"] + (px - ax) * sx, da["y"] + (py - ay) * sy)


def pick_empty(page, box, fx: float, fy: float) -> tuple[float, float]:
    """A spot near a fraction of the chart where no dot is under the mouse."""
    for k in range(40):
        px = box["x"] + box["width"] * (fx + 0.01 * (k % 8))
        py = box["y"] + box["height"] * (fy + 0.01 * (k // 8))
        page.mouse.move(px, py)
        page.wait_for_timeout(20)
        if tooltip_dot(page) is None:
            return px, py
    raise AssertionError("no empty spot on the plane")


def check_decoded(page, expected, tolerance) -> tuple[str, str]:
    """The decoded image is shown with coordinates within `tolerance` of `expected`."""
    decoded = page.locator(".st-key-vae-decoded")
    img = decoded.locator("img")
    expect(img).to_be_visible(timeout=30_000)
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    caption = decoded.inner_text()
    match = re.search(r"decoded at \((-?[\d.]+), (-?[\d.]+)\)", caption)
    assert match, caption
    x, y = expected
    assert abs(float(match[1]) - x) < tolerance and abs(float(match[2]) - y) < tolerance, (caption, expected)
    return caption, img.get_attribute("src")
