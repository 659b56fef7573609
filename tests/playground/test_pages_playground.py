"""The playground page's additions, through AppTest: more classes, your own data, the weight
editor, the stop condition, save / load / export, the sweep and a teacher's hidden controls."""
from __future__ import annotations

import json
import re

import numpy as np
import pytest

from dlplay.playground import export, sweep
from dlplay.playground.custom import read_csv
from dlplay.runs import get_store

PAGE = "pages/playground/playground.py"


def _open(apptest, query: dict | None = None):
    at = apptest(PAGE)
    at.query_params.update(query or {})
    return at.run()


def _html(at) -> str:
    views = [json.loads(c.proto.json)["html"] for c in at.get("bidi_component") if c.proto.json]
    return "".join(m.value for m in at.markdown) + "".join(h.proto.body for h in at.get("html")) + "".join(views)


def _q(at, key: str) -> str:
    v = at.query_params[key]
    return v if isinstance(v, str) else v[-1]


def _sim(at):
    return at.session_state["pg:sim"]


def test_three_spirals_show_classes_accuracy_and_a_confusion_matrix(apptest):
    at = _open(apptest, {"dataset": "spiral3"})
    assert not at.exception
    assert at.radio(key="pg-dataset").value == "spiral3"
    sim = _sim(at)
    assert sim.classes == 3 and sim.net.activations[-1] == "softmax"
    for _ in range(3):
        at.button(key="pg-step").click().run()
    html = _html(at)
    assert "pg-confusion" in html and "pg-legend" in html and "output, class 3" in html
    acc = re.search(r"class='pg-test-acc'[^>]*>([\d.]+)%<", html).group(1)
    assert float(acc) == pytest.approx(100 * _sim(at).accuracy("test"), abs=0.05)
    # the confusion matrix's cells add up to the test points
    cells = re.findall(r"<td[^>]*>([\d,]+)</td>", html)
    assert sum(int(c.replace(",", "")) for c in cells) == len(_sim(at).test_pts)


def test_own_data_becomes_the_dataset_and_trains(apptest):
    rng = np.random.default_rng(0)
    pts = rng.uniform(-5, 5, (200, 2))
    rows = "\n".join(f"{x:.3f},{y:.3f},{'in' if x * x + y * y < 9 else 'out'}" for x, y in pts)
    data = read_csv(("x1,x2,label\n" + rows).encode(), "ring.csv")
    at = apptest(PAGE)
    at.session_state["pg:data"] = data
    at.session_state["pg-dataset"] = "custom"
    at.run()
    assert not at.exception
    assert at.radio(key="pg-dataset").value == "custom" and "Your data" in at.radio(key="pg-dataset").options
    sim = _sim(at)
    assert len(sim.train_pts) + len(sim.test_pts) == 200 and sim.classes == 2
    assert _q(at, "dataset") == "custom" and _q(at, "numClasses") == "2"
    assert r"ring\.csv (200 points, yours)" in "".join(m.value for m in at.markdown)  # the name escaped
    before = _sim(at).test_loss
    for _ in range(5):
        at.button(key="pg-step").click().run()
    assert _sim(at).epoch == 5 and _sim(at).test_loss < before


def test_a_link_with_custom_data_but_no_points_says_so(apptest):
    at = _open(apptest, {"dataset": "custom", "numClasses": "3"})
    assert not at.exception
    assert any("links don't carry" in i.value for i in at.info)
    assert at.radio(key="pg-dataset").value == "circle"


def test_editing_a_weight_from_the_list_sets_it_and_training_goes_on(apptest):
    at = _open(apptest, {"dataset": "xor", "networkShape": "3"})
    at.selectbox(key="pg-pick_list").set_value(("w", (1, 2, 0))).run()  # layer 1 neuron 3 → output
    assert not at.exception
    assert at.session_state["pg:pick"] == ("w", (1, 2, 0))
    assert "layer 1 neuron 3 to output" in at.selectbox(key="pg-pick_list").format_func(("w", (1, 2, 0)))
    at.number_input(key="pg-edit_value").set_value(2.5).run()
    at.button(key="pg-edit_set").click().run()
    sim = _sim(at)
    assert sim.net.weights[1][2, 0] == 2.5
    assert "data-w='1,2,0' data-value='2.5'" in _html(at)
    at.button(key="pg-step").click().run()
    assert _sim(at).epoch == 1 and _sim(at).net.weights[1][2, 0] != 2.5  # trained on from 2.5
    at.button(key="pg-zero").click().run()
    assert all(not w.any() for w in _sim(at).net.weights)


def test_the_stop_condition_stops_and_says_why(apptest):
    at = _open(apptest, {"stopMetric": "epochs", "stopValue": "3"})
    assert at.selectbox(key="pg-stop").value == "epochs" and at.number_input(key="pg-stop_epochs").value == 3
    for _ in range(5):
        at.button(key="pg-step").click().run()
    assert not at.exception
    assert _sim(at).epoch == 3
    assert any("Stopped at epoch 3" in s.value for s in at.success)


def test_hidden_controls_are_not_drawn(apptest):
    at = _open(apptest, {"hide": "noise,dropout,learning_rate,hide_panel"})
    assert not at.exception
    keys = {w.key for w in (*at.slider, *at.select_slider, *at.multiselect)}
    assert not keys & {"pg-noise", "pg-dropout", "pg-lr", "pg-hide"}
    assert {"pg-batch", "pg-train", "pg-reg_rate"} <= keys
    assert any("Noise, Learning rate, Dropout, Teacher's panel" in c.value for c in at.caption)
    at.button(key="pg-step").click().run()
    assert _q(at, "hide") == "noise,learning_rate,dropout,hide_panel"


def test_save_then_load_brings_the_network_back(apptest):
    at = _open(apptest, {"dataset": "gauss", "networkShape": "2"})
    for _ in range(4):
        at.button(key="pg-step").click().run()
    saved_weights = [w.copy() for w in _sim(at).net.weights]
    at.button(key="pg-save").click().run()
    run_id = at.session_state["pg:saved"]
    run = get_store().get(run_id)
    assert run.page == "pg" and run.state == "done" and run.has_model
    at.button(key="pg-reset").click().run()
    assert _sim(at).epoch == 0
    at.radio(key="pg-dataset").set_value("xor").run()
    at.selectbox(key="pg-load_run").set_value(run_id).run()
    at.button(key="pg-load").click().run()
    assert not at.exception
    sim = _sim(at)
    assert at.radio(key="pg-dataset").value == "gauss" and sim.epoch == 4
    assert all(np.array_equal(a, b) for a, b in zip(sim.net.weights, saved_weights))
    # the Runs page's "Reopen on its page" lands here with the run
    fresh = apptest(PAGE)
    fresh.session_state["_dlplay_reopen"] = {"page": "pg", "run": run_id}
    fresh.run()
    assert not fresh.exception and _sim(fresh).epoch == 4 and fresh.radio(key="pg-dataset").value == "gauss"
    assert any(f"Opened run {run_id}" in s.value for s in fresh.success)
    source = next(d for d in at.get("download_button")).proto
    assert "playground_net.py" in str(source)
    assert "class PlaygroundNet" in export.torch_source(sim)


def test_a_sweep_of_four_values_gives_four_runs_and_their_maps(apptest):
    at = _open(apptest, {"dataset": "xor", "networkShape": "3"})
    at.selectbox(key="pg-sweep_setting").set_value("learning_rate").run()
    at.selectbox(key="pg-sweep_lo").set_value(0.001).run()
    at.selectbox(key="pg-sweep_hi").set_value(0.3).run()
    at.number_input(key="pg-sweep_n").set_value(4).run()
    at.selectbox(key="pg-sweep_epochs").set_value(50).run()
    at.button(key="pg-sweep_go").click().run()
    assert not at.exception
    started = at.session_state["pg:sweep"]
    assert sweep.wait(started, timeout=120)
    ids = started.run_ids
    assert len(ids) == 4
    at.run()
    html = _html(at)
    assert html.count("run ") >= 4 and "pg-sweep" in html
    sweep_svg = re.search(r"<svg[^>]*class='pg-sweep'.*?</svg>", html, re.S).group(0)
    assert sweep_svg.count("<image") == 4
    assert [get_store().get(i).settings["value"] for i in ids] == [0.001, 0.01, 0.03, 0.3]
