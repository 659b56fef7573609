"""AppTests of the page "Sequence autoencoder"."""
import json

from tests.conftest import job_of

PAGE = "pages/text/seq_autoencoder.py"
KEY = "seqae"


def titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def test_a_missing_corpus_is_named_and_train_is_off(apptest, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))  # an empty data directory
    at = apptest(PAGE).run(timeout=60)
    at.selectbox(key=f"{KEY}-corpus").set_value("uci_sentences").run(timeout=60)
    assert not at.exception
    assert any("sentiment_labelled_sentences" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key=f"{KEY}-train").disabled


def test_a_short_run_shows_its_curves_reconstructions_and_code_scatter(apptest):
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception and not at.error
    assert any("UCI" in c.value or "IMDB" in c.value for c in at.caption), "the corpus source is shown"
    assert any("first **24 words**" in c.value for c in at.caption)
    at.selectbox(key=f"{KEY}-corpus").set_value("uci_sentences")
    at.select_slider(key=f"{KEY}-ntrain").set_value(1000)
    at.select_slider(key=f"{KEY}-maxlen").set_value(12)
    at.select_slider(key=f"{KEY}-vocab").set_value(1000)
    at.number_input(key=f"{KEY}-epochs").set_value(2)
    at.run(timeout=60)
    at.button(key=f"{KEY}-train").click().run(timeout=60)
    assert not at.exception
    job = job_of(at, KEY)
    assert job.wait(120), "the short run finishes"
    assert job.state == "done", job.error
    at.run(timeout=60)
    assert not at.exception and not at.error
    run = at.session_state[f"run:{KEY}"]
    shown = titles(at)
    assert f"Run {run} · loss (cross-entropy per word)" in shown, shown
    assert f"Run {run} · words rebuilt" in shown
    assert f"Run {run} · words rebuilt at each position (greedy, test texts)" in shown
    assert any(t.startswith(f"Run {run} · codes of 600 test texts (PCA) · coloured by sentiment") for t in shown), shown
    table = at.dataframe[0].value
    assert len(table) == 6 and list(table.columns) == ["sentiment", "original", "reconstruction", "words right"]
    assert set(table["sentiment"]) <= {"negative", "positive"}
    assert any(f"Run {run}: test texts and their reconstructions" == h.value for h in at.subheader)
    assert any(m.label.startswith("Words rebuilt, greedy") for m in at.metric)

    # Your own sentence: empty, then one with an unknown word, then a huge one.
    own = at.text_area(key=f"{KEY}-own-{run}")
    assert any("Type a sentence" in i.value for i in at.info)
    own.input("the phone is great but zqxvw broke").run(timeout=60)
    assert not at.exception
    assert any("→ rebuilt:" in m.value for m in at.markdown)
    assert any("[UNK]" in c.value for c in at.caption), "the unknown word is named"
    assert any(n.get("name") == "your text" for c in at.get("plotly_chart") for n in json.loads(c.proto.spec)["data"])
    at.text_area(key=f"{KEY}-own-{run}").input("good " * 25_000).run(timeout=60)
    assert not at.exception and any("only the first 12 of its 25,000 words" in c.value for c in at.caption)
