"""The text pages' tables keep their key columns on screen (issue 25, finding 6): at 1,400 px the
sentiment comparison's test accuracy was off the screen and its best validation accuracy cut, and
the analogy-accuracy table was cut the same way. Key columns come first, the long ones last, and
the columns before the long ones fit the page's width at 1,400 px (about 940 px beside the sidebar)."""
import json

import pytest

from dlplay import runs

VISIBLE_PX = 940  # the main column's width at a 1,400 px window, sidebar open (measured in Chromium)
WIDTHS = {"small": 75, "medium": 200, "large": 400}


@pytest.fixture(autouse=True)
def own_store(monkeypatch, tmp_path):
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))


def columns(frame) -> dict:
    """{column: width in px} of an AppTest dataframe (its index as "_index"), as configured."""
    config = json.loads(frame.proto.columns or "{}")
    return {name: WIDTHS.get(c.get("width"), c.get("width")) for name, c in config.items()}


def table_with(at, column: str):
    return next(f for f in at.dataframe if column in f.value.columns)


def test_the_sentiment_comparison_shows_accuracy_first(apptest):
    store = runs.get_store()
    run = store.create(workspace="local", page="sent", title="Sentiment", brief="LSTM 64 · 1 layer · max-pooled · dropout "
                       "0.2 · vocab 10,000 · 200 words · 4 epochs",
                       spec={"net": {"kind": "lstm", "embed_dim": 64, "hidden": 64}})
    store.update(run.id, state=runs.DONE, summary={"test_acc": 0.871, "n_params": 673_410, "seconds_per_epoch": 21.3,
                                                   "n_train": 22_500, "rows": [{"val_acc": 0.86}], "n_words": 10_000,
                                                   "classes": ["negative", "positive"]})
    at = apptest("pages/text/sentiment.py").run(timeout=60)
    assert not at.exception
    frame = table_with(at, "run")
    shown = list(frame.value.columns)
    assert shown[:4] == ["run", "model", "test acc", "best val acc"] and shown[-1] == "setup", shown
    widths = columns(frame)
    assert all(widths.get(c) for c in shown), widths
    key = sum(w for c, w in widths.items() if c not in ("setup", "_index"))
    assert key <= VISIBLE_PX, widths  # everything but the setup is on screen
    assert frame.value.iloc[0]["test acc"] == 0.871


def test_the_analogy_table_shows_every_accuracy_first(apptest):
    at = apptest("pages/text/embeddings.py").run(timeout=60)
    at.select_slider(key="emb-ntrain").set_value(500)
    at.number_input(key="emb-epochs").set_value(1)
    at.button(key="emb-train").click().run(timeout=60)
    from tests.conftest import job_of

    job = job_of(at, "emb")
    assert job.wait(120) and job.state == "done", job.error
    at.run(timeout=60)
    assert not at.exception
    frame = at.dataframe[0]
    shown = list(frame.value.columns)
    assert [c.rsplit(" · ", 1)[1] for c in shown] == ["accuracy", "accuracy", "covered", "covered"], shown
    widths = columns(frame)
    accuracies = widths["_index"] + sum(w for c, w in widths.items() if c.endswith("accuracy"))
    assert accuracies <= VISIBLE_PX, widths
