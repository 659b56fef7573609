"""AppTests of the page "Music with an LSTM"."""
from tests.conftest import chart_titles, job_of, page_texts

PAGE = "pages/music/lstm_music.py"
KEY = "music"


def test_a_short_run_plays_and_offers_its_midi(apptest):
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception and not at.error
    assert "Nottingham: 694/173/170 pieces" in page_texts(at) and "Nottingham.pickle" in page_texts(at)
    at.selectbox(key=f"{KEY}-dataset").set_value("jsb").run()
    assert "JSB Chorales: 229/76/77 pieces" in page_texts(at)
    at.slider(key=f"{KEY}-epochs").set_value(2)
    at.select_slider(key=f"{KEY}-window").set_value(25)
    at.select_slider(key=f"{KEY}-hidden").set_value(64)
    at.slider(key=f"{KEY}-length").set_value(32).run()
    at.button(key=f"{KEY}-train").click().run()
    job = job_of(at, KEY)
    assert job.wait(120) and job.state == "done", job.error
    at.run(timeout=60)
    assert not at.exception and not at.error
    run_id = at.session_state[f"run:{KEY}"]
    titles = chart_titles(at)
    assert f"Run {run_id} · negative log-likelihood per frame (nats)" in titles
    assert any(t.startswith(f"Run {run_id} · continued (test piece 0") for t in titles), titles
    metrics = {m.label: m.value for m in at.metric}
    assert float(metrics["Validation NLL / frame"]) < float(metrics["Per-key baseline"]) + 1
    assert any("Played by FluidSynth" in c.value for c in at.caption)
    assert at.get("audio") and at.get("download_button")
    assert "Published: TCN (Bai et al. 2018) 8.1" in page_texts(at)


def test_without_the_collections_bach_is_the_default_and_a_missing_one_says_what_to_add(apptest, monkeypatch,
                                                                                          tmp_path):
    from dlplay.music import rolls

    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    real = rolls._bach
    monkeypatch.setattr(rolls, "_bach", lambda progress=None: real(progress, limit=5))  # 5 chorales: quick
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception and not at.error
    assert at.selectbox(key=f"{KEY}-dataset").value == "bach"
    assert "Bach chorales (music21 corpus): 3/1/1 pieces" in page_texts(at) and "music21's corpus" in page_texts(at)
    at.selectbox(key=f"{KEY}-dataset").set_value("nottingham").run()
    assert not at.exception
    assert any("Nottingham is not there" in e.value and "Bach chorales from music21 always work" in e.value
               for e in at.error)
    assert at.button(key=f"{KEY}-train").disabled
