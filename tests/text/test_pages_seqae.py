"""AppTests of the page "Sequence autoencoder"."""
import json

import pytest

from tests.conftest import job_of

PAGE = "pages/text/seq_autoencoder.py"
KEY = "seqae"


def values(a) -> list:
    """A plotly array from a chart's JSON (numpy arrays travel base64-encoded)."""
    import base64

    import numpy as np

    if isinstance(a, dict) and "bdata" in a:
        return np.frombuffer(base64.b64decode(a["bdata"]), dtype=a["dtype"]).tolist()
    return list(a)


def titles(at) -> list[str]:
    return [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]


def test_a_missing_corpus_is_named_and_train_is_off(apptest, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))  # an empty data directory
    at = apptest(PAGE).run(timeout=60)
    at.selectbox(key=f"{KEY}-corpus").set_value("uci_sentences").run(timeout=60)
    assert not at.exception
    assert any("sentiment_labelled_sentences" in e.value for e in at.error), [e.value for e in at.error]
    assert at.button(key=f"{KEY}-train").disabled


@pytest.mark.slow
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


def test_a_diverged_run_draws_what_it_measured_and_says_it_diverged(apptest):
    """At learning rate 10 the loss explodes at step 6: one point had been logged, drawn as nothing
    on an accuracy axis from −100 % to 100 % (issue 25)."""
    at = apptest(PAGE).run(timeout=60)
    at.selectbox(key=f"{KEY}-corpus").set_value("uci_sentences")
    at.select_slider(key=f"{KEY}-ntrain").set_value(500)
    at.select_slider(key=f"{KEY}-maxlen").set_value(12)
    at.select_slider(key=f"{KEY}-vocab").set_value(1000)
    at.select_slider(key=f"{KEY}-lr").set_value(10.0)
    at.run(timeout=60)
    at.button(key=f"{KEY}-train").click().run(timeout=60)
    job = job_of(at, KEY)
    assert job.wait(120) and job.state == "failed" and "exploded" in job.error, (job.state, job.error)
    at.run(timeout=60)
    assert not at.exception and any("exploded" in e.value for e in at.error)
    run = at.session_state[f"run:{KEY}"]
    charts = {json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec)
              for c in at.get("plotly_chart")}
    step = job.metrics()[-1]["step"]
    loss = charts[f"Run {run} · loss (cross-entropy per word) — diverged at step {step}"]
    acc = charts[f"Run {run} · words rebuilt — diverged at step {step}"]
    for fig in (loss, acc):
        steps = fig["data"][0]
        assert len(values(steps["x"])) == 2 and "markers" in steps["mode"], steps  # step 1 and the explosion
    assert values(loss["data"][0]["y"])[-1] > 50
    low, high = acc["layout"]["yaxis"]["range"]
    assert low == 0 and 0 < high <= 1


def test_a_reload_shows_the_last_run_and_the_sentence_typed(apptest, monkeypatch, tmp_path):
    """A reload (a new session) dropped the run's curves, results and the sentence typed (issue 25)."""
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    at = apptest(PAGE).run(timeout=60)
    at.selectbox(key=f"{KEY}-corpus").set_value("uci_sentences")
    at.select_slider(key=f"{KEY}-ntrain").set_value(500)
    at.select_slider(key=f"{KEY}-maxlen").set_value(12)
    at.select_slider(key=f"{KEY}-vocab").set_value(1000)
    at.number_input(key=f"{KEY}-epochs").set_value(1)
    at.run(timeout=60)
    at.button(key=f"{KEY}-train").click().run(timeout=60)
    job = job_of(at, KEY)
    assert job.wait(120) and job.state == "done", job.error
    at.run(timeout=60)
    run = at.session_state[f"run:{KEY}"]
    at.text_area(key=f"{KEY}-own-{run}").input("the phone is great").run(timeout=60)
    # A reload whose address is not the run's any more (a setting changed after training).
    again = apptest(PAGE)
    again.query_params.update({f"{KEY}-epochs": "3"})
    again.run(timeout=60)
    assert not again.exception
    assert again.session_state.get(f"run:{KEY}") == run
    assert f"Run {run} · loss (cross-entropy per word)" in titles(again)
    assert any(h.value == f"Run {run} on the test set" for h in again.subheader)
    assert again.text_area(key=f"{KEY}-own-{run}").value == "the phone is great"
    assert any("→ rebuilt:" in m.value for m in again.markdown)
