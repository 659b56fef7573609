"""AppTests of the page "Word embeddings": the corpus it reads, a short word2vec run (with the
sentiment embedding beside it), neighbours, analogies and the map named by their run, the
accuracy table of both, and unknown words answered with a warning."""

import pytest

from tests.conftest import job_of, chart_titles, page_texts

PAGE = "pages/text/embeddings.py"
KEY = "emb"


@pytest.fixture(autouse=True)
def own_store(monkeypatch, tmp_path):
    """A run store of this test's own: runs other test files stored (Sentiment runs among
    them) would otherwise be offered here too."""
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))


texts, titles = page_texts, chart_titles


def test_renders_with_the_corpus_source_and_nothing_to_explore_yet(apptest):
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception and not at.error
    page = texts(at)
    assert "IMDB reviews: 2,500 training and 2,500 test texts" in page and "Source —" in page
    assert at.selectbox(key=f"{KEY}-corpus").value == "imdb"
    assert not at.button(key=f"{KEY}-train").disabled
    assert any("Nothing to explore yet" in i.value for i in at.info)
    assert "Sentiment embeddings capture polarity, not meaning" in page


def test_without_the_reviews_the_page_says_what_to_put_where_and_train_is_off(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception
    assert any("imdb_train.csv.gz" in e.value and "aclImdb folder form" in e.value for e in at.error)
    assert at.button(key=f"{KEY}-train").disabled


@pytest.mark.slow
def test_a_short_run_shows_neighbours_analogies_and_both_accuracies(apptest):
    at = apptest(PAGE).run(timeout=60)
    # 1,000 reviews, 3 epochs: measured about 2 s of word2vec and 5 s of sentiment embedding
    # on an idle machine (30 s when two other test files run beside it).
    at.select_slider(key=f"{KEY}-ntrain").set_value(1000)
    at.number_input(key=f"{KEY}-epochs").set_value(3)
    at.button(key=f"{KEY}-train").click().run(timeout=60)
    assert not at.exception
    job = job_of(at, KEY)
    assert job.wait(120), "the run finishes"
    assert job.state == "done", job.error
    at.run(timeout=60)
    assert not at.exception and not at.error
    run_id = at.session_state[f"run:{KEY}"]
    name = f"Run {run_id} · word2vec"
    shown = titles(at)
    assert f"Run {run_id} · word2vec loss per word, each epoch" in shown
    assert f"{name} · nearest neighbours of “excellent”" in shown
    assert f"{name} · king − man + woman" in shown
    assert any(t.startswith(f"{name} · 2-D PCA of ") for t in shown)
    assert f"{name} · polarity: cosine with good − bad" in shown
    assert any(m.value.startswith("**king − man + woman ≈ ") for m in at.markdown)
    # The accuracy table holds both of the run's tables, side by side.
    table = at.dataframe[0].value
    assert f"{name} · accuracy" in table and f"Run {run_id} · sentiment embedding · accuracy" in table
    assert table.loc["all covered questions", f"{name} · covered"] > 1000  # measured 2,200 on 1,000 reviews
    assert "Polarity" in texts(at)

    # The sentiment embedding of the same run, chosen as the source: its figures say so.
    at.selectbox(key=f"{KEY}-source").set_value(f"Run {run_id} · sentiment embedding").run(timeout=60)
    assert not at.exception
    assert f"Run {run_id} · sentiment embedding · nearest neighbours of “excellent”" in titles(at)

    # A word the vocabulary doesn't know: a warning that names it, no traceback.
    at.text_input(key=f"{KEY}-word").set_value("qwzxvbn").run(timeout=60)
    assert not at.exception
    assert any("“qwzxvbn” is not in the vocabulary" in w.value for w in at.warning)
    at.text_input(key=f"{KEY}-a").set_value("").run(timeout=60)
    assert any("Type three words" in w.value for w in at.warning) and not at.exception


def test_a_sentiment_page_run_is_offered_through_its_vocab_and_embeddings(apptest, monkeypatch):
    """The Sentiment page's runs are offered by the contract its result keeps (`.vocab`,
    `.embeddings()`); here a stored run whose result is that contract only, with random vectors."""
    import numpy as np

    from dlplay import runs
    from dlplay.text import corpus, tokens

    vocab = tokens.vocab_for(corpus.load("imdb").train_texts, 20_000, "imdb")

    class SentimentResult:
        def __init__(self):
            self.vocab = vocab

        def embeddings(self):
            return np.random.default_rng(0).normal(size=(vocab.size, 16)).astype(np.float32)

    store = runs.get_store()
    run = store.create(workspace="local", page="sent", title="Sentiment", spec={}, brief="lstm · 2 epochs")
    store.update(run.id, state=runs.DONE, has_model=True)
    real = runs.result_of
    monkeypatch.setattr(runs, "result_of", lambda r, *a, **k: SentimentResult() if r.id == run.id else real(r, *a, **k))
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception
    label = f"Run {run.id} · sentiment model (lstm · 2 epochs)"
    assert label in at.selectbox(key=f"{KEY}-source").options
    at.selectbox(key=f"{KEY}-source").set_value(label).run(timeout=60)
    assert not at.exception and not at.error
    assert f"Run {run.id} · sentiment model · nearest neighbours of “excellent”" in titles(at)
    table = at.dataframe[0].value
    # Random vectors: the questions are covered (the vocabulary knows their words), hardly any answered.
    assert table.loc["all covered questions", f"Run {run.id} · sentiment model · covered"] > 5000
    assert table.loc["all covered questions", f"Run {run.id} · sentiment model · accuracy"] < 0.01
