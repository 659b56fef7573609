"""Runs trained one after another are one stored object: after a reload (a new browser
session) the page shows the finished sequence again, and reopening any of its runs from
the Runs page brings back the whole sequence on its own page (Shuffle, batch, repeat here;
Compare CNNs, transfer, forgetting and image regression share `ui.sequence`)."""
from __future__ import annotations

import pytest

PAGE, KEY = "pages/craft/pipeline_order.py", "pipe"


def train_sequence(apptest):
    at = apptest("app.py").run()
    at.switch_page(PAGE).run(timeout=60)
    at.select_slider(key=f"{KEY}-ntrain").set_value(5000)
    at.number_input(key=f"{KEY}-epochs").set_value(1)
    at.button(key=f"{KEY}-train").click().run()
    seq = at.session_state[f"{KEY}-sequence"]
    assert seq.wait(180) and all(j.state == "done" for j in seq.jobs), [j.error for j in seq.jobs]
    at.run()
    return seq, at.dataframe[0].value


@pytest.mark.slow
def test_a_finished_sequence_comes_back_after_a_reload_and_from_the_runs_page(apptest, tmp_path, monkeypatch):
    monkeypatch.setenv("DLPLAY_HOME", str(tmp_path / "home"))
    seq, table = train_sequence(apptest)

    reloaded = apptest("app.py").run()  # the same browser after a reload: a new session, nothing in it
    reloaded.switch_page(PAGE).run(timeout=60)
    assert not reloaded.exception and not reloaded.error
    assert reloaded.dataframe, "the table of the finished sequence is shown again"
    again = reloaded.dataframe[0].value
    assert list(again["run"]) == seq.run_ids
    assert list(again["test accuracy"]) == list(table["test accuracy"])

    runs_page = apptest("app.py").run()  # another session opens one of its runs on the Runs page
    runs_page.switch_page("pages/runs.py").run()
    runs_page.multiselect(key="runs-chosen").set_value([seq.run_ids[1]]).run()
    runs_page.button(key="runs-reopen").click().run(timeout=60)
    assert not runs_page.exception and not runs_page.error
    assert runs_page.dataframe and list(runs_page.dataframe[0].value["run"]) == seq.run_ids, "the whole sequence"
