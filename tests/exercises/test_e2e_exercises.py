"""In headless Chromium: a learner types a correct perceptron rule into the editor, presses Ctrl+Enter,
sees every check pass, then trains with it and watches their curve drawn over the reference's."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from dlplay.exercises import catalog
from tests.conftest import screenshot
from tests.exercises.conftest import needs_sandbox

pytestmark = [pytest.mark.browser, pytest.mark.slow, needs_sandbox]

LOAD_MS = 90_000
BODY = "def update(w, x, y, lr):\n    if y * (w @ x) <= 0:\n        return w + lr * y * x\n    return w\n"


def test_type_a_rule_pass_every_check_and_train_beside_the_reference(app_server, page):
    page.goto(f"{app_server}/exercises?ex=perceptron")
    expect(page.get_by_text("one step of the perceptron learning rule")).to_be_visible(timeout=LOAD_MS)
    editor = page.frame_locator('iframe[title*="code_editor"]').locator(".ace_content")
    expect(editor).to_be_visible(timeout=LOAD_MS)
    expect(editor).to_contain_text("raise NotImplementedError")
    editor.click()
    page.keyboard.press("Control+A")
    page.keyboard.press("Delete")
    page.keyboard.insert_text("import numpy as np\n\n\n" + BODY)  # as pasted: no auto-indent on top
    expect(editor).to_contain_text("return w + lr * y * x")
    page.keyboard.press("Control+Enter")  # the editor's submit: Check, with the text as it is now
    expect(page.get_by_text("Every check passed (4)")).to_be_visible(timeout=60_000)
    page.wait_for_timeout(3000)
    expect(page.get_by_text("Every check passed (4)")).to_have_count(1)  # checked once, not again on each rerun
    screenshot(page, "e2e_exercises_1_passed")

    page.get_by_role("button", name="Train with my code").click()
    expect(page.get_by_text("learned alike")).to_be_visible(timeout=60_000)
    traces = page.locator('[data-testid="stPlotlyChart"] .scatterlayer .trace')
    expect(traces).to_have_count(2)
    screenshot(page, "e2e_exercises_2_trained")
    assert catalog.BY_ID["perceptron"].function == "update"
