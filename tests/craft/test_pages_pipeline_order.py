"""AppTests of the page "Shuffle, batch, repeat"."""
import json

PAGE = "pages/craft/pipeline_order.py"
KEY = "pipe"


def test_three_orders_train_and_each_shows_its_batches(apptest):
    at = apptest(PAGE).run(timeout=60)
    assert not at.exception and not at.error
    assert any("MNIST: 60,000 training" in c.value for c in at.caption), "the source is shown"
    at.select_slider(key=f"{KEY}-ntrain").set_value(5000)
    at.number_input(key=f"{KEY}-epochs").set_value(1)
    at.button(key=f"{KEY}-train").click().run()
    seq = at.session_state[f"{KEY}-sequence"]
    assert seq.wait(180) and all(j.state == "done" for j in seq.jobs), [j.error for j in seq.jobs]
    at.run()
    assert not at.exception and not at.error
    table = at.dataframe[0].value
    assert list(table["run"]) == seq.run_ids and table["test accuracy"].notna().all()
    mixed, never = table.iloc[0], table.iloc[2]
    assert mixed["classes per batch"] > 9 and never["classes per batch"] < 1.3
    assert mixed["test accuracy"] > never["test accuracy"]
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
    for run_id in seq.run_ids:
        assert any(t.startswith(f"Run {run_id} · ") and "labels in each" in t for t in titles), titles
