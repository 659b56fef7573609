"""AppTests of the page "Catastrophic forgetting": defaults, one short run, a comparison of
remedies one after another, Stop keeping a run's row, and a diverging learning rate."""
import json

import pandas as pd
import pytest

from dlplay import data
from tests.conftest import job_of, need_shared, run_of

PAGE = "pages/vision/forgetting.py"


@pytest.fixture(autouse=True)
def fresh_data():
    need_shared("MNIST", "raw")
    data.clear_cache()


def chart(at, title_part: str) -> dict:
    for c in at.get("plotly_chart"):
        spec = json.loads(c.proto.spec)
        if title_part in spec["layout"]["title"]["text"]:
            return spec
    raise AssertionError(f"no chart titled …{title_part}…: "
                         f"{[json.loads(c.proto.spec)['layout']['title']['text'] for c in at.get('plotly_chart')]}")


def small(at, n=1000, a=1, b=1):
    at.select_slider(key="forget-ntrain").set_value(n)
    at.number_input(key="forget-epochs-a").set_value(a)
    at.number_input(key="forget-epochs-b").set_value(b)
    return at.run()


def test_defaults_render_with_the_source_an_empty_chart_and_every_remedy(apptest):
    at = apptest(PAGE).run()
    assert not at.exception and not at.error
    assert any("Source — data directory" in c.value for c in at.caption)
    assert at.selectbox(key="forget-pair").value == "split"
    assert at.radio(key="forget-remedy").options == ["no remedy", "rehearsal", "EWC", "freeze lower layers",
                                                     "lower learning rate for B"]
    assert "Press Train" in chart(at, "Press Train")["layout"]["title"]["text"]
    assert not at.button(key="forget-train").disabled
    assert at.multiselect(key="forget-compare").value == ["none", "rehearsal", "ewc", "freeze", "lower_lr"]
    assert any("**Task A**: digits 0–4 · **task B**: digits 5–9" in m.value for m in at.markdown)
    at.selectbox(key="forget-pair").set_value("fashion").run()
    assert not at.exception and any("Fashion-MNIST: 60,000" in c.value for c in at.caption), "B's source too"


def test_a_short_run_shows_both_curves_named_by_its_run_and_what_b_cost_a(apptest):
    at = small(apptest(PAGE).run(), n=2000, a=2, b=2)
    at.button(key="forget-train").click().run()
    job = job_of(at, "forget")
    assert job.wait(120) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    run = run_of(at, "forget")
    fig = chart(at, f"Run {run.id} · MNIST digits 0–4 → digits 5–9 · no remedy")
    a, b = fig["data"]
    assert a["name"] == "task A: digits 0–4" and b["name"] == "task B: digits 5–9"
    assert a["x"] == [0, 1, 2, 3, 4], "before training and after each of 2 + 2 epochs"
    assert a["y"][2] > 0.9 and a["y"][4] < 0.1, "A learned, then gone after two (short) epochs of B"
    metrics = {m.label: m for m in at.metric}
    assert float(metrics["Task A after A"].value.rstrip("%")) > 90
    assert float(metrics["Task A after B"].value.rstrip("%")) < 10
    assert float(metrics["Task B after B"].value.rstrip("%")) > 80
    assert any("cost digits 0–4 **" in m.value for m in at.markdown)
    assert run.page == "forget" and run.spec["n_train"] == 2000 and run.headline.startswith("task A 9")


@pytest.mark.slow
def test_remedies_compared_one_after_another_in_a_table_with_overlaid_curves(apptest):
    at = small(apptest(PAGE).run(), n=2000, a=1, b=2)
    at.multiselect(key="forget-compare").set_value(["none", "rehearsal"]).run()
    at.button(key="forget-cmp-train").click().run()
    seq = at.session_state["forget-sequence"]
    assert seq.wait(180), "the comparison did not finish"
    at.run()
    assert not at.exception
    first, second = seq.jobs
    assert first.state == second.state == "done" and first.finished <= second.started, "one after another"
    df = at.dataframe[0].value
    assert list(df["remedy"]) == ["no remedy", "rehearsal of 200 images"] and list(df["run"]) == seq.run_ids
    none, reh = df.iloc[0], df.iloc[1]
    assert none["fall (points)"] >= 30 and reh["A after B"] > none["A after B"] + 0.3
    assert none["A after A"] == pytest.approx(reh["A after A"]), "the same task A"
    assert (df["seconds"] > 0).all()
    fig = chart(at, f"runs {seq.run_ids[0]}, {seq.run_ids[1]}")
    assert [t["name"] for t in fig["data"]] == [
        f"run {seq.run_ids[0]} · no remedy · task A", f"run {seq.run_ids[0]} · no remedy · task B",
        f"run {seq.run_ids[1]} · rehearsal of 200 images · task A",
        f"run {seq.run_ids[1]} · rehearsal of 200 images · task B"]


def test_stop_keeps_the_stopped_runs_curve_and_row_and_skips_the_rest(apptest):
    at = small(apptest(PAGE).run(), n=2000, a=1, b=20)
    at.multiselect(key="forget-compare").set_value(["none", "ewc"]).run()
    at.button(key="forget-cmp-train").click().run()
    seq = at.session_state["forget-sequence"]
    job = seq.jobs[0]
    seen = 0
    while job.is_active and not any(r.get("phase") == "B" and "acc_a" in r for r in job.metrics()):
        job.wait_for_events(seen, timeout=1.0, kind="metric")
        seen = job.n_events
    at.button(key="forget-cmp-stop").click().run()
    assert seq.wait(30) and len(seq.jobs) == 1, "the second remedy never started"
    at.run()
    assert not at.exception
    df = at.dataframe[0].value
    row = df.iloc[0]
    assert row["state"].startswith("stopped in task B at epoch"), row["state"]
    assert row["A after A"] > 0.9 and row["A after B"] < 0.5, "the stopped run's figures are kept"
    assert df.iloc[1]["state"] == "waiting" and pd.isna(df.iloc[1]["run"])
    assert any("remedies not started yet were skipped" in i.value for i in at.info)
    fig = chart(at, f"— run {seq.run_ids[0]}")
    assert len(fig["data"][0]["x"]) >= 3, "its curve up to the stop"


def test_a_diverging_learning_rate_fails_with_what_to_do(apptest):
    at = small(apptest(PAGE).run())
    at.select_slider(key="forget-lr").set_value(10.0).run()
    at.button(key="forget-train").click().run()
    job = job_of(at, "forget")
    assert job.wait(60) and job.state == "failed"
    at.run()
    assert not at.exception
    assert any("lower the learning rate (now 10)" in e.value for e in at.error), [e.value for e in at.error]


def test_a_run_reopened_after_a_restart_brings_its_settings_curves_and_figures_back(apptest):
    from dlplay import jobs
    from dlplay.runs.record import _results

    at = small(apptest(PAGE).run(), n=2000, a=1, b=1)
    at.radio(key="forget-remedy").set_value("rehearsal").run()
    at.button(key="forget-train").click().run()
    job = job_of(at, "forget")
    assert job.wait(120) and job.state == "done", job.error
    live, run = job.result, run_of(at, "forget")
    # A new session after a server restart (no live job, no cached result), as the Runs page reopens it.
    jobs._scheduler.shutdown(timeout=30)
    jobs._scheduler = None
    _results.drop(run.id)
    again = apptest(PAGE)
    again.session_state["_dlplay_reopen"] = {"page": "forget", "run": run.id}
    again.run()
    assert not again.exception
    assert again.radio(key="forget-remedy").value == "rehearsal"
    assert again.number_input(key="forget-epochs-b").value == 1
    assert not any("Settings changed" in i.value for i in again.info)
    fig = chart(again, f"Run {run.id} · MNIST digits 0–4 → digits 5–9 · rehearsal of 200 images")
    assert fig["data"][0]["y"] == [p["acc_a"] for p in live.points], "the stored curve"
    metrics = {m.label: m.value for m in again.metric}
    assert metrics["Task A after B"] == f"{live.a_after_b:.1%}" and metrics["Task A after A"] == f"{live.a_after_a:.1%}"
