"""Word embeddings after Train and after a reload (issue 25): the explorer kept a Sentiment-page
model it had offered before the word2vec just trained ("king − man + woman ≈ lumiere" under the
new run's curves), and a reload after exploring a little no longer showed — or offered — the run."""
import numpy as np
import pytest

from dlplay import runs
from tests.conftest import chart_titles, job_of

PAGE = "pages/text/embeddings.py"
KEY = "emb"


@pytest.fixture(autouse=True)
def own_store(monkeypatch, tmp_path):
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))


@pytest.fixture
def sentiment_run(monkeypatch):
    """A stored Sentiment-page run with random vectors (the contract: .vocab, .embeddings())."""
    from dlplay.text import corpus, tokens

    vocab = tokens.vocab_for(corpus.load("imdb").train_texts, 20_000, "imdb")

    class Result:
        def __init__(self):
            self.vocab = vocab

        def embeddings(self):
            return np.random.default_rng(0).normal(size=(vocab.size, 16)).astype(np.float32)

    store = runs.get_store()
    run = store.create(workspace="local", page="sent", title="Sentiment", spec={}, brief="lstm · 2 epochs")
    store.update(run.id, state=runs.DONE, has_model=True)
    real = runs.result_of
    monkeypatch.setattr(runs, "result_of", lambda r, *a, **k: Result() if r.id == run.id else real(r, *a, **k))
    return run


@pytest.mark.slow
def test_after_train_the_explorer_shows_the_run_just_trained_and_a_reload_brings_it_back(apptest, sentiment_run):
    at = apptest(PAGE).run(timeout=60)
    sentiment = f"Run {sentiment_run.id} · sentiment model (lstm · 2 epochs)"
    assert at.selectbox(key=f"{KEY}-source").value == sentiment  # before any word2vec: the one there is
    at.select_slider(key=f"{KEY}-ntrain").set_value(1000)
    at.number_input(key=f"{KEY}-epochs").set_value(2)
    at.toggle(key=f"{KEY}-sentiment").set_value(False)
    at.button(key=f"{KEY}-train").click().run(timeout=60)
    job = job_of(at, KEY)
    assert job.wait(120) and job.state == "done", job.error
    at.run(timeout=60)
    assert not at.exception
    run_id = at.session_state[f"run:{KEY}"]
    w2v = f"Run {run_id} · word2vec"
    assert at.selectbox(key=f"{KEY}-source").value == w2v
    assert f"{w2v} · king − man + woman" in chart_titles(at)

    # The learner explores: another word, another analogy (both last in the address bar).
    at.text_input(key=f"{KEY}-word").set_value("great").run(timeout=60)
    at.text_input(key=f"{KEY}-c").set_value("girl").run(timeout=60)
    assert f"{w2v} · king − man + girl" in chart_titles(at)

    # A reload: a new session, whose address holds the words explored (bound widgets write their values
    # there; AppTest does not, so the test writes them as the browser's address bar held them).
    again = apptest(PAGE)
    again.query_params.update({f"{KEY}-word": "great", f"{KEY}-c": "girl"})
    again.run(timeout=60)
    assert not again.exception
    assert again.session_state.get(f"run:{KEY}") == run_id
    assert f"Run {run_id} · word2vec loss per word, each epoch" in chart_titles(again)
    assert again.selectbox(key=f"{KEY}-source").value == w2v and sentiment in again.selectbox(key=f"{KEY}-source").options
    assert f"{w2v} · king − man + girl" in chart_titles(again)  # what was explored, on the run trained
    assert f"{w2v} · nearest neighbours of “great”" in chart_titles(again)
