"""AppTests of the page "Overfitting lab"."""
import json

import pytest

from tests.conftest import job_of, chart_titles, page_texts

PAGE = "pages/craft/overfitting.py"
KEY = "overfit"


texts, titles = page_texts, chart_titles


def test_defaults_render_with_the_source_shown(apptest):
    at = apptest(PAGE).run(timeout=120)
    assert not at.exception and not at.error
    page = texts(at)
    assert "AG News: 6,000 training and 1,600 test texts" in page and "ag_news_csv" in page
    assert "What to notice" in [h.value for h in at.subheader]
    assert at.select_slider(key=f"{KEY}-ntrain").value == 1000
    assert not at.button(key=f"{KEY}-train").disabled


def test_a_missing_corpus_is_an_error_and_train_is_off(apptest, monkeypatch, tmp_path):
    monkeypatch.setenv("DLPLAY_DATA_DIR", str(tmp_path))
    at = apptest(PAGE).run(timeout=120)
    assert not at.exception
    assert any("AG News is not there" in e.value and "test.csv" in e.value for e in at.error)
    assert at.button(key=f"{KEY}-train").disabled


def test_overfit_it_sets_the_preset(apptest):
    at = apptest(PAGE).run(timeout=120)
    at.selectbox(key=f"{KEY}-dataset").set_value("mnist").run()
    at.select_slider(key=f"{KEY}-ntrain").set_value(2000)
    at.toggle(key=f"{KEY}-l2on").set_value(True).run()
    at.button(key=f"{KEY}-overfit").click().run()
    assert not at.exception
    assert at.select_slider(key=f"{KEY}-ntrain").value == 500
    assert at.selectbox(key=f"{KEY}-hidden").value == "512-512"
    assert not at.toggle(key=f"{KEY}-l2on").value and not at.toggle(key=f"{KEY}-l1on").value
    assert at.selectbox(key=f"{KEY}-dataset").value == "mnist", "the preset keeps the chosen dataset"
    assert "MNIST" in texts(at) and not at.warning


@pytest.mark.slow
def test_a_short_run_shows_its_curves_table_row_and_histograms(apptest):
    at = apptest(PAGE).run(timeout=120)
    at.selectbox(key=f"{KEY}-dataset").set_value("mnist").run()
    at.button(key=f"{KEY}-overfit").click().run()
    at.toggle(key=f"{KEY}-l1on").set_value(True).run()
    at.number_input(key=f"{KEY}-epochs").set_value(8)
    at.button(key=f"{KEY}-train").click().run()
    assert not at.exception
    job = job_of(at, KEY)
    assert job.wait(120) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    run_id = at.session_state[f"run:{KEY}"]
    shown = titles(at)
    assert f"Run {run_id} · loss, train vs validation" in shown and f"Run {run_id} · accuracy, train vs validation" in shown
    assert f"Run {run_id} · layer 1 weights" in shown and f"Run {run_id} · layer 3 weights" in shown
    row = at.dataframe[0].value.iloc[0]
    # Measured (8 epochs, 500 digits, L1 0.1): train 100 %, val 88.3 %, 9.7 % of the weights exactly zero
    # (34.6 % after 20 epochs, test_overfit.py).
    assert row["run"] == run_id and row["regularisers"] == "L1 0.1"
    assert row["train acc"] > 0.95 and row["val acc"] > 0.8 and row["zeros share"] > 0.05
    assert any("are exactly zero" in c.value and f"{job.result.zeros[0]:.1%}" in c.value for c in at.caption)

    # A second run with early stopping: its restored epoch marked on the curves, both runs in the table.
    at.toggle(key=f"{KEY}-l1on").set_value(False).run()
    at.toggle(key=f"{KEY}-eson").set_value(True).run()
    at.number_input(key=f"{KEY}-epochs").set_value(20)
    at.button(key=f"{KEY}-train").click().run()
    job = job_of(at, KEY)
    assert job.wait(120) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    second = at.session_state[f"run:{KEY}"]
    best = job.result.best_epoch
    assert best >= 1  # measured: epoch 6 (patience 2)
    charts = [json.loads(c.proto.spec)["layout"] for c in at.get("plotly_chart")]
    loss = next(c for c in charts if c.get("title", {}).get("text") == f"Run {second} · loss, train vs validation")
    assert any(a.get("text") == f"restored epoch {best}" for a in loss.get("annotations", []))
    assert any(sh.get("x0") == best for sh in loss.get("shapes", []))
    table = at.dataframe[0].value
    assert list(table["run"]) == [second, run_id]
    assert table.iloc[0]["regularisers"] == "early stopping (patience 2)" and table.iloc[0]["best epoch"] == str(best)
