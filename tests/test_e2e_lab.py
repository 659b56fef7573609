"""The lab loop in headless Chromium on a class's server (DLPLAY_SHARED=1, a teacher key): the teacher sets an
assignment and shares its link; two students open it in their own browsers and join; one trains the digit
classifier × 2 seeds from the assignment's page link — its hidden control hidden — writes a note, and
downloads the lab report as a notebook from the Runs page; the teacher's class view shows both students and
the gradebook CSV holds both."""
from __future__ import annotations

import json
import os

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout, expect

from tests.conftest import screenshot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS, TRAIN_MS, STEP_MS = 90_000, 180_000, 30_000
KEY = "an-operator-chosen-teacher-key-for-the-class"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    env = {**os.environ, "DLPLAY_HOME": str(tmp_path_factory.mktemp("lab") / "home"), "DLPLAY_SHARED": "1",
           "DLPLAY_TEACHER_KEY": KEY}
    with streamlit_server(["dlplay_app.serve"], "server-lab.log", env=env) as url:
        yield url


def _idle(page) -> None:
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=STEP_MS)


def _pick(page, label: str) -> None:
    """Add `label` to the Runs page's selection (a rerun landing just after the click closes the list: again)."""
    for attempt in range(3):
        _idle(page)
        page.locator(".st-key-runs-chosen").first.click()
        try:
            page.get_by_role("option", name=label).click(timeout=5_000)
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
        finally:
            page.keyboard.press("Escape")
    expect(page.locator(".st-key-runs-chosen").first).to_contain_text(label, timeout=STEP_MS)


def _download(page, button) -> str:
    """Click a download button; the downloaded file's path (a click landing during a rerun: a learner clicks again)."""
    for attempt in range(3):
        _idle(page)
        try:
            with page.expect_download(timeout=15_000) as got:
                button.click()
            return got.value.path()
        except PlaywrightTimeout:
            if attempt == 2:
                raise


def test_a_teacher_sets_two_students_work_and_the_teacher_sees_the_class(server, browser):
    teacher, ada, bob = (browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(3))
    try:
        t = teacher.new_page()
        t.goto(f"{server}/teacher")
        t.get_by_label("Teacher key", exact=True).fill(KEY)
        t.get_by_role("button", name="Open").click()
        expect(t.get_by_role("tab", name="Set an assignment")).to_be_visible(timeout=LOAD_MS)
        t.get_by_label("Title", exact=True).fill("Lab 2: small nets")
        goals = "More goals, one a line: page | what it asks | conditions on the run's figures"
        t.get_by_label(goals, exact=True).fill("mlp | test accuracy ≥ 50 % | test_acc >= 0.5")
        t.get_by_label("Settings preset, one page a line: page: widget=value&widget=value", exact=True).fill(
            "mlp: mlp-dataset=MNIST 5k sample (bundled)&mlp-layers=1&mlp-units0=16&mlp-epochs=1")
        t.get_by_label("Controls hidden, one page a line: page: widget, widget", exact=True).fill("mlp: mlp-opt")
        t.get_by_role("button", name="Create and share").click()
        link = t.locator('[data-testid="stCode"]').filter(has_text="assignment?assignment=").first
        expect(link).to_be_visible(timeout=STEP_MS)
        path = link.inner_text().strip()
        screenshot(t, "e2e_lab_1_assignment_set")

        for context, name in ((ada, "Ada"), (bob, "Bob")):
            p = context.new_page()
            p.goto(f"{server}{path}")
            p.get_by_label("Your name, as your teacher knows you", exact=True).fill(name)
            p.get_by_role("button", name="Join this assignment").click()
            expect(p.get_by_text("0 of 1 done")).to_be_visible(timeout=LOAD_MS)

        # Ada works: the goal's link opens the page with the assignment's settings, the optimizer hidden
        p = ada.pages[0]
        link = p.locator('[data-testid="stMain"]').get_by_role("link", name="Digit classifier (MLP)")
        href = link.get_attribute("href")  # (Markdown links open a new tab: followed here in this one)
        p.goto(href if href.startswith("http") else f"{server}/{href}")
        train = p.get_by_role("button", name="Train")
        expect(train).to_be_enabled(timeout=LOAD_MS)
        expect(p.locator(".st-key-mlp-epochs input").first).to_have_value("1")
        expect(p.locator(".st-key-mlp-opt").first).to_be_hidden()
        expect(p.locator(".st-key-mlp-act").first).to_be_visible()
        _idle(p)
        p.locator(".st-key-mlp-seeds").first.click()
        p.get_by_role("option", name="× 2 seeds").click()
        expect(p.locator(".st-key-mlp-seeds input").first).to_have_value("× 2 seeds", timeout=STEP_MS)
        train.click()
        expect(p.get_by_text("2 of 2 trained")).to_be_visible(timeout=TRAIN_MS)
        expect(p.get_by_text("over the seeds trained")).to_be_visible(timeout=STEP_MS)
        p.wait_for_timeout(3_000)  # the page's one rerun when the group's last run ends
        _idle(p)
        p.get_by_text("📝 Your note").first.click()
        p.get_by_label("Note on run 2", exact=True).fill("Two seeds: about the same.")
        p.get_by_role("button", name="Save note").click()
        expect(p.get_by_text("Saved with the run.")).to_be_visible(timeout=STEP_MS)  # (the report below quotes it)
        screenshot(p, "e2e_lab_2_seeds_and_note")

        p.goto(f"{server}/runs")
        expect(p.locator('[data-testid="stDataFrame"]').first).to_be_visible(timeout=LOAD_MS)
        for label in ("run 1 · Digit classifier (MLP)", "run 2 · Digit classifier (MLP)"):
            _pick(p, label)
        expect(p.get_by_text("Is this difference real?")).to_be_visible(timeout=STEP_MS)
        p.get_by_text("Lab report of these 2 runs").click()
        notebook = json.loads(open(_download(p, p.get_by_role("button", name="Notebook (.ipynb)"))).read())
        p.get_by_role("button", name="Make the HTML page").click()
        html_button = p.get_by_role("button", name="HTML page", exact=True)
        expect(html_button).to_be_visible(timeout=STEP_MS)
        assert "Plotly.newPlot" in open(_download(p, html_button)).read()
        text = json.dumps(notebook)
        assert notebook["nbformat"] == 4 and "figures_table(REPORT)" in text and "Two seeds: about the same." in text
        screenshot(p, "e2e_lab_3_report")

        t.reload()  # a new session: the key again (it is never in the address)
        t.get_by_label("Teacher key", exact=True).fill(KEY)
        t.get_by_role("button", name="Open").click()
        t.get_by_role("tab", name="The class").click()
        expect(t.get_by_text("Learners")).to_be_visible(timeout=LOAD_MS)
        grid = t.locator('[data-testid="stDataFrame"]').first
        expect(grid).to_be_visible(timeout=STEP_MS)
        rows = open(_download(t, t.get_by_role("button", name="Gradebook (CSV)"))).read().splitlines()
        assert rows[0].startswith("name,") and rows[1].startswith("Ada,1,") and rows[2].startswith("Bob,0,"), rows
        screenshot(t, "e2e_lab_4_class")

        b = bob.pages[0]  # Bob sees his own checklist only, none of Ada's runs
        b.goto(f"{server}/runs")
        expect(b.get_by_text("No runs yet")).to_be_visible(timeout=LOAD_MS)
    finally:
        for c in (teacher, ada, bob):
            c.close()
