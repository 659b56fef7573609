"""AppTests of the page "Hyperparameter search"."""
import json

from tests.conftest import chart_titles, job_of, page_texts

PAGE = "pages/craft/search.py"
KEY = "search"


def small(at):
    """3 settings fixed, learning rate and width searched on 2,000 examples for 2 epochs."""
    at.select_slider(key=f"{KEY}-n").set_value(2000)
    at.slider(key=f"{KEY}-epochs").set_value(2)
    at.select_slider(key=f"{KEY}-depth").set_value((1, 1))
    at.select_slider(key=f"{KEY}-dropout").set_value((0.0, 0.0))
    return at.run()


def test_defaults_render_with_the_source_and_the_grid_size(apptest):
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception and not at.error
    page = page_texts(at)
    assert "MNIST: 60,000 training" in page
    assert "a grid of 2 values each would be 16 trials" in page
    assert not at.slider(key=f"{KEY}-trials").disabled and at.slider(key=f"{KEY}-points").disabled
    at.radio(key=f"{KEY}-method").set_value("grid").run()
    assert at.slider(key=f"{KEY}-trials").disabled and not at.slider(key=f"{KEY}-points").disabled
    at.slider(key=f"{KEY}-points").set_value(4).run()
    at.select_slider(key=f"{KEY}-decay").set_value((0.0, 1e-2)).run()
    assert any("too many to train here" in w.value for w in at.warning)  # 4^5 = 1,024 combinations
    assert at.button(key=f"{KEY}-train").disabled


def test_a_search_fills_its_table_and_tests_once(apptest):
    at = small(apptest(PAGE).run(timeout=60))
    at.slider(key=f"{KEY}-trials").set_value(6).run()
    at.button(key=f"{KEY}-train").click().run()
    job = job_of(at, KEY)
    assert job.wait(120) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    run_id = at.session_state[f"run:{KEY}"]
    table = at.dataframe[0].value
    assert len(table) == 6 and sorted(table["trial"]) == list(range(1, 7))
    scored = table["val accuracy"].dropna()
    assert list(scored) == sorted(scored, reverse=True), "best first"
    assert table["state"].str.contains("pruned").sum() == job.result.n_pruned
    shown = chart_titles(at)
    for title in ("validation accuracy by trial", "every trial's settings and score", "what pruning watched"):
        assert any(t.startswith(f"Run {run_id} · {title}") for t in shown), shown
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Test accuracy (once)"] == f"{job.result.test_acc:.2%}" and job.result.test_acc > 0.85
    assert "The test set was scored 1 time." in page_texts(at)
    assert at.dataframe[-1].value.iloc[0]["run"] == run_id  # every search of the page


def test_three_searches_at_equal_budget(apptest):
    at = small(apptest(PAGE).run(timeout=60))
    at.button(key=f"{KEY}-cmp-train").click().run()
    seq = at.session_state[f"{KEY}-sequence"]
    assert seq.wait(180) and all(j.state == "done" for j in seq.jobs), [j.error for j in seq.jobs]
    at.run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "method" in d.value.columns)  # the comparison's, then the page's
    assert list(table["run"]) == seq.run_ids
    assert [m.split(" ")[0] for m in table["method"]] == ["Grid", "Random", "Optuna"]
    assert (table["trials"] == 4).all(), "each gets the grid's 4 trials"
    assert table["test (once)"].notna().all() and (table["best val"] > 0.5).all()


def test_a_search_reopened_from_the_runs_page_comes_back_with_its_ranges(apptest):
    """The run's settings are stored as JSON, where a range slider's tuple becomes a list; restored as
    it is, select_slider took the list for one value and the page crashed on `tuple(map(float, lr))`."""
    at = small(apptest(PAGE).run(timeout=60))
    at.slider(key=f"{KEY}-epochs").set_value(1)
    at.slider(key=f"{KEY}-trials").set_value(2)
    at.select_slider(key=f"{KEY}-lr").set_value((1e-3, 1e-2)).run()
    at.button(key=f"{KEY}-train").click().run()
    job = job_of(at, KEY)
    assert job.wait(120) and job.state == "done", job.error
    run_id = at.session_state[f"run:{KEY}"]

    again = apptest(PAGE)  # a new session, as the Runs page's "Reopen" leaves it (ui.runs.reopen)
    again.session_state["_dlplay_reopen"] = {"page": KEY, "run": run_id}
    again.run(timeout=60)
    assert not again.exception, again.exception
    assert again.select_slider(key=f"{KEY}-lr").value == (1e-3, 1e-2)
    assert again.select_slider(key=f"{KEY}-depth").value == (1, 1)
    assert again.select_slider(key=f"{KEY}-dropout").value == (0.0, 0.0)
    assert again.session_state[f"run:{KEY}"] == run_id
    assert any(f"run {run_id}" in m.value for m in again.markdown)
    assert not any("Settings changed" in i.value for i in again.info), "the widgets hold the run's settings"
    assert len(again.dataframe[0].value) == 2, "its two trials"
    assert again.dataframe[0].proto.HasField("placeholder") and again.dataframe[0].proto.placeholder == "", \
        "a pruned trial's empty score is blank, not the text None"
    par = next(json.loads(c.proto.spec) for c in again.get("plotly_chart") if "every trial's settings" in c.proto.spec)
    labels = [d["label"] for d in par["data"][0]["dimensions"]]
    assert "hidden layers" not in labels and "dropout" not in labels and "batch size" not in labels, labels
    assert any("Not drawn, the same in every trial: hidden layers 1, dropout 0" in c.value for c in again.caption)
