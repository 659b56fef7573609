"""AppTests of the page "Sentiment: RNN to Transformer"."""
import pytest

from tests.conftest import job_of, chart_titles, page_texts

PAGE = "pages/text/sentiment.py"
KEY = "sent"


texts, titles = page_texts, chart_titles


def test_defaults_show_the_source_and_the_lstm_parameters_by_hand(apptest):
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception and not at.error
    page = texts(at)
    assert "Source:" in page and "IMDB reviews: 2,500 training and 2,500 test texts" in page
    # 10,000·64 + 4·(64·(64+64)+64) + 4·64 + (64+1)·2 = 640,000 + 33,024 + 256 + 130
    assert "LSTM 64 · 1 layer · max-pooled: 673,410 trainable parameters" in page
    assert "The sum equals PyTorch's count." in page
    assert not at.button(key=f"{KEY}-train").disabled


def test_transformer_settings_and_its_parameter_count(apptest):
    from dlplay.text import models

    at = apptest(PAGE).run(timeout=60)
    at.selectbox(key=f"{KEY}-kind").set_value("transformer").run()
    at.select_slider(key=f"{KEY}-heads").set_value(8)
    at.select_slider(key=f"{KEY}-ff").set_value(256)
    at.selectbox(key=f"{KEY}-pos").set_value("learned").run()
    assert not at.exception and not at.error
    net = models.NetSpec(kind="transformer", heads=8, ff=256, positional="learned")
    n = models.n_params(models.build(net, 10_000, 2, 200))
    assert f"8 heads · ff 256 · 1 layer · learned positions: {n:,} trainable parameters" in texts(at)
    assert not at.button(key=f"{KEY}-train").disabled


def test_a_missing_corpus_names_the_files_and_train_is_off(apptest, monkeypatch, tmp_path):
    from dlplay.text import corpus

    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    corpus.clear_cache()
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception
    assert any("aclImdb" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key=f"{KEY}-train").disabled
    corpus.clear_cache()


@pytest.mark.slow
def test_a_bag_run_fills_the_table_and_reads_a_review_word_by_word(apptest):
    at = apptest(PAGE).run(timeout=60)
    at.selectbox(key=f"{KEY}-kind").set_value("bag").run()
    at.select_slider(key=f"{KEY}-maxlen").set_value(200)
    at.number_input(key=f"{KEY}-epochs").set_value(4)
    at.button(key=f"{KEY}-train").click().run()
    assert not at.exception
    job = job_of(at, KEY)
    assert job.wait(180) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    run_id = at.session_state[f"run:{KEY}"]
    assert f"Run {run_id} · loss" in titles(at) and f"Run {run_id} · accuracy" in titles(at)
    row = at.dataframe[0].value.iloc[-1]
    # Measured: 4 epochs of the bag with bigrams on 2,250 reviews: 74-78 % on the 2,500 test reviews.
    assert row["run"] == run_id and row["model"] == "Bag of embeddings (fastText)" and row["test acc"] >= 0.7
    assert row["parameters"] == job.result.n_params
    assert f"Run {run_id} reads your review" in [s.value for s in at.subheader]
    at.selectbox(key=f"{KEY}-example").set_value("A weary pan").run()
    assert not at.exception
    verdict = [m.value for m in at.markdown if m.value.startswith(f"**Run {run_id} says:")]
    assert verdict and "negative" in verdict[0].split("—")[0], verdict
    html = at.get("html")[0].proto.body
    assert html.count("dlplay-word") == len(job.result.vocab.piece(at.text_area(key=f"{KEY}-review").value).ids)
    words = at.dataframe[1].value
    assert len(words) == 10 and set(words.columns) >= {"word", "as typed"}
    at.text_area(key=f"{KEY}-review").set_value("   ").run()
    assert not at.exception and any("Type a review" in i.value for i in at.info)
    at.text_area(key=f"{KEY}-review").set_value("zzqx " * 20_000).run()  # 100,000 characters, no known word
    page = texts(at)
    assert not at.exception and "the model reads only its last 200" in page and "[UNK]" in page
