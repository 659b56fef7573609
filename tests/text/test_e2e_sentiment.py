"""End to end in headless Chromium: on the sentiment page a learner trains a small LSTM on the
IMDB reviews, types a review of their own and sees its words highlighted — green toward the
verdict, red against it."""
import os

import pytest
from playwright.sync_api import expect

from tests.conftest import ROOT, need_shared, screenshot, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LOAD_MS = 90_000
REVIEW = "A wonderful film: brilliant acting, a moving story and a great ending. I loved it."


@pytest.fixture(scope="module")
def sentiment_url():
    with streamlit_server(["streamlit", "run", "pages/text/sentiment.py"], "server-sentiment.log",
                          env={**os.environ, "PYTHONPATH": str(ROOT)}) as url:
        yield url


def test_train_a_small_lstm_then_type_a_review_and_see_its_words_highlighted(sentiment_url, page):
    need_shared("aclImdb", "train")
    # A small LSTM that reads the max over its steps learns in a few seconds (measured: 76 % after
    # 4 epochs on the 2,250 training reviews, 2.6 s per epoch).
    # URL values are the labels the widgets show.
    page.goto(f"{sentiment_url}/?sent-corpus=IMDB+reviews+(aclImdb+folder)&sent-kind=LSTM&sent-pool=max+over+steps"
              "&sent-epochs=4&sent-lr=0.01&sent-vocab=10%2C000&sent-dropout=0.2")
    train = page.locator(".st-key-sent-train button")
    expect(train).to_be_enabled(timeout=LOAD_MS)
    expect(page.get_by_text("IMDB reviews: 2,500 training and 2,500 test texts")).to_be_visible(timeout=LOAD_MS)
    screenshot(page, "e2e_sentiment_1_ready")
    train.click()
    heading = page.get_by_role("heading", name="reads your review")
    expect(heading).to_be_visible(timeout=240_000)
    run_title = heading.inner_text()
    assert run_title.startswith("Run "), run_title
    expect(page.get_by_text("LSTM 64 · 1 layer · max-pooled").first).to_be_visible()  # the URL's settings trained

    # The heading comes as training starts; the box opens once the run has finished (slow under load).
    box = page.get_by_role("textbox", name="Your review")
    expect(box).to_be_enabled(timeout=240_000)
    box.fill(REVIEW)
    box.press("Control+Enter")  # Streamlit applies a text area's value on Ctrl+Enter (or leaving it)
    verdict = page.get_by_text(f"{run_title.split(' reads')[0]} says:")
    expect(verdict).to_be_visible(timeout=60_000)
    words = page.locator(".dlplay-review .dlplay-word")
    expect(words.first).to_be_visible(timeout=30_000)
    n = words.count()
    assert n == 19, f"one highlighted span per word read, punctuation included: {n}"  # 14 words + 5 marks
    tints = [words.nth(i).evaluate("e => getComputedStyle(e).backgroundColor") for i in range(n)]
    assert any(t.startswith("rgba(46, 160, 67") for t in tints), f"a word pushing toward the verdict: {tints}"
    assert "positive" in verdict.inner_text(), verdict.inner_text()
    screenshot(page, "e2e_sentiment_2_review")
