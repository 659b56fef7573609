"""AppTests of the page "Image regression from files"."""
import json

import pytest

PAGE = "pages/vision/image_regression.py"
KEY = "imgreg"


def texts(at) -> str:
    return "\n".join([m.value for m in at.markdown] + [c.value for c in at.caption])


def test_defaults_render_with_the_source_and_the_target_explained(apptest):
    at = apptest(PAGE).run(timeout=120)  # the first visit writes the digit folder
    assert not at.exception and not at.error
    page = texts(at)
    assert "What the network must read" in [h.value for h in at.subheader]
    assert "slant in degrees" in page and "−μ₁₁/μ₀₂" in page and "costs no labelling" in page
    assert "12,000 training files, 2,000 test files" in page and "nothing opened yet" in page
    assert at.radio(key=f"{KEY}-labels").value == "both"
    assert at.button(key=f"{KEY}-train").label == "Train 2 runs, one after another"
    assert not at.button(key=f"{KEY}-train").disabled


def test_a_missing_folder_says_what_to_put_where_and_train_is_off(apptest, tmp_path):
    at = apptest(PAGE).run(timeout=120)
    at.selectbox(key=f"{KEY}-source").set_value("utkface").run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert any("UTKFace" in e and "26_0_1_20170116174525125.jpg" in e and "DLPLAY_DATA_DIR" in e for e in errors)
    assert at.button(key=f"{KEY}-train").disabled
    at.selectbox(key=f"{KEY}-source").set_value("folder").run()
    at.text_input(key=f"{KEY}-folder").set_value(str(tmp_path / "nowhere")).run()
    assert any("No folder at" in e.value and "nowhere" in e.value for e in at.error)
    assert at.button(key=f"{KEY}-train").disabled and not at.exception


@pytest.mark.slow
def test_a_short_run_of_both_labels_ends_with_scatters_and_the_mae(apptest):
    at = apptest(PAGE).run(timeout=120)
    at.select_slider(key=f"{KEY}-ntrain").set_value(2000)
    at.number_input(key=f"{KEY}-epochs").set_value(1)
    at.button(key=f"{KEY}-train").click().run()
    assert not at.exception
    seq = at.session_state[f"{KEY}-sequence"]
    assert seq.wait(240), "both runs finish"
    assert all(j.state == "done" for j in seq.jobs), [j.error for j in seq.jobs]
    at.run()
    assert not at.exception and not at.error
    titles = [json.loads(c.proto.spec)["layout"].get("title", {}).get("text", "") for c in at.get("plotly_chart")]
    a, b = seq.run_ids
    assert any(f"Run {a} · exact labels · test MAE" in t for t in titles), "the exact run's scatter, named"
    assert any(f"Run {b} · labels rounded to 10°" in t for t in titles), "the rounded run's scatter, named"
    table = at.dataframe[0].value
    assert list(table["run"]) == [a, b] and list(table["labels"]) == ["exact", "rounded to 10"]
    exact = table.iloc[0]
    # 15 steps learn a little (measured: 9.1° against 11.9° for predicting the mean); test_regression.py
    # checks how much a longer run learns.
    assert exact["test MAE (exact labels)"] < 0.9 * exact["MAE predicting the mean"], table.to_dict("records")
    assert any("Rounded labels (whole multiples of 10°)" in s.value for s in at.success)
