"""The four from-scratch pages in AppTest: they render, their controls work, training
produces results, Stop keeps what was learned, and settings survive a visit elsewhere."""
from __future__ import annotations

import base64
import json
import re

import numpy as np
import pytest

from dlplay.jobs import get_scheduler
from tests.conftest import job_of, run_of


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def wait_for_job(at, timeout: float = 90) -> None:
    """Live fragments don't re-fire in AppTest: wait for the session's job, then rerun."""
    jobs = list(get_scheduler()._jobs.values())
    assert jobs, "no job was started"
    for job in jobs:
        assert job.wait(timeout), f"{job.name} did not finish"
    at.run()
    assert not at.exception


def no_errors(at) -> None:
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]


# --- perceptron --------------------------------------------------------------------------------

def test_perceptron_step_reset_and_convergence(apptest):
    at = apptest("pages/scratch/perceptron.py").run()
    no_errors(at)
    assert metrics(at)["Updates"] == "0"
    w_before = [m.value for m in at.markdown if m.value.startswith("**w** =")]
    at.button(key="pc-step").click().run()
    no_errors(at)
    assert metrics(at)["Updates"] == "1"
    assert [m.value for m in at.markdown if m.value.startswith("**w** =")] != w_before
    assert len(at.get("plotly_chart")) == 2  # the board and the mistakes-per-update chart
    at.button(key="pc-reset").click().run()
    assert metrics(at)["Updates"] == "0"
    at.radio(key="pc-mode").set_value("batch").run()  # one batch update = one epoch
    at.button(key="pc-step").click().run()
    at.button(key="pc-step").click().run()
    assert (metrics(at)["Updates"], metrics(at)["Epoch"]) == ("2", "2")
    at.radio(key="pc-mode").set_value("online").run()
    assert metrics(at)["Updates"] == "0"  # a new rule starts from the initial weights
    # Play: each run of the board advances `speed` updates until every point is right.
    at.select_slider(key="pc-speed").set_value(25).run()
    at.button(key="pc-play").click().run()
    for _ in range(40):
        if at.success:
            break
        at.run()
    no_errors(at)
    assert at.success and "Converged" in at.success[0].value
    assert metrics(at)["Misclassified"].startswith("0 /")
    assert at.session_state["pc-playing"] is False  # Play stopped itself
    assert at.button(key="pc-play").label == "Play"


def test_perceptron_on_xor_keeps_updating(apptest):
    at = apptest("pages/scratch/perceptron.py").run()
    at.radio(key="pc-data").set_value("XOR (four clouds)").run()
    at.select_slider(key="pc-speed").set_value(25).run()
    at.button(key="pc-play").click().run()
    seen = []
    for _ in range(6):
        at.run()
        seen.append(int(metrics(at)["Updates"]))
    no_errors(at)
    assert seen == sorted(seen) and seen[-1] > seen[0] >= 25  # the counter keeps climbing
    assert not at.success
    assert metrics(at)["Misclassified"].split(" /")[0] != "0"


# --- logic gates -------------------------------------------------------------------------------------

@pytest.mark.parametrize("gate,hidden,solves", [("XOR", 2, True), ("AND", 1, True), ("XOR", 1, False)])
def test_logic_gates_trains_live(apptest, gate, hidden, solves):
    at = apptest("pages/scratch/logic_gates.py").run()
    no_errors(at)
    at.radio(key="gates-gate").set_value(gate)
    at.slider(key="gates-hidden").set_value(hidden)
    at.toggle(key="gates-slow").set_value(False).run()
    at.button(key="gates-train").click().run()
    wait_for_job(at)
    no_errors(at)
    assert len(at.get("plotly_chart")) == 3  # regions, loss curve, hidden units
    assert any(c.value.startswith("step 2000 · loss") for c in at.caption)
    if solves:
        assert at.success and f"Solved {gate}" in at.success[0].value
    else:
        assert at.warning and "Not solved" in at.warning[0].value


# --- NumPy digits ----------------------------------------------------------------------------------

def test_numpy_digits_trains_and_reports(apptest):
    at = apptest("pages/scratch/numpy_digits.py").run()
    no_errors(at)
    assert "real MNIST digits" in at.caption[0].value  # the dataset's source is shown
    at.number_input(key="npdigits-epochs").set_value(2).run()
    at.button(key="npdigits-train").click().run()
    wait_for_job(at)
    no_errors(at)
    acc = float(metrics(at)["Test accuracy"].rstrip("%")) / 100
    assert acc > 0.88
    assert len(at.get("plotly_chart")) == 3  # loss, accuracy, confusion matrix
    assert not at.info  # the "train first" hint is gone; the canvas is ready for a drawing


def test_numpy_digits_divergence_is_a_message(apptest):
    at = apptest("pages/scratch/numpy_digits.py").run()
    at.select_slider(key="npdigits-lr").set_value(10.0)
    at.select_slider(key="npdigits-l2").set_value(0.0)
    at.number_input(key="npdigits-epochs").set_value(1).run()
    at.button(key="npdigits-train").click().run()
    wait_for_job(at)
    assert not at.exception
    assert at.error and "lower the learning rate" in at.error[0].value
    assert "Test accuracy" not in metrics(at)


# --- regression & model selection -------------------------------------------------------------------

def test_regression_grid_search_and_polynomials(apptest):
    at = apptest("pages/scratch/regression.py").run()
    no_errors(at)
    at.select_slider(key="regsel-epochs").set_value(200)
    at.multiselect(key="regsel-lr").set_value([0.001, 0.1, 3.0])
    at.slider(key="regsel-k").set_value(3).run()
    at.button(key="regsel-train").click().run()
    wait_for_job(at)
    no_errors(at)
    table = at.dataframe[0].value
    assert len(table) == 2 * 2 * 3 * 2
    assert list(table["cv_mse"]) == sorted(table["cv_mse"])  # best first
    assert table["lr"].iloc[0] != 0.001  # the tiny learning rate underfits
    assert metrics(at)["Winner's CV MSE"].startswith(f"{table['cv_mse'].iloc[0]:.4f}")
    charts = at.get("plotly_chart")
    assert len(charts) == 4  # search progress, winner's fit, polynomial fit, error against degree

    # Polynomial part: degree 20 without a penalty overfits; L1 switches coefficients off.
    at.slider(key="regsel-degree").set_value(5).run()
    test5 = float(metrics(at)["Test MSE"])
    at.slider(key="regsel-degree").set_value(20).run()
    assert float(metrics(at)["Test MSE"]) > 3 * test5
    assert float(metrics(at)["Train MSE"]) < test5
    at.radio(key="regsel-penalty").set_value("l1").run()
    no_errors(at)
    assert "Laplace" in at.info[0].value
    assert int(metrics(at)["Non-zero coefficients"].split()[0]) < 20
    at.radio(key="regsel-penalty").set_value("l2").run()
    assert "Gaussian" in at.info[0].value


def test_regression_empty_grid_is_a_message(apptest):
    at = apptest("pages/scratch/regression.py").run()
    at.multiselect(key="regsel-width").set_value([]).run()
    no_errors(at)
    assert at.warning and "Units per layer" in at.warning[0].value
    assert at.button(key="regsel-train").disabled


# --- runs: Stop keeps the model, results are the run's own ---------------------------------------------

def start_and_stop(at, key: str, rows: int = 1):
    """Press Train, wait for the first `rows` metric rows, press Stop; returns the job."""
    at.button(key=f"{key}-train").click().run()
    job = job_of(at, key)
    while len(job.metrics()) < rows:
        assert not job.wait(0.05) or job.state == "running", f"ended early: {job.state} {job.error}"
    at.button(key=f"{key}-stop").click().run()
    assert job.wait(30) and job.state == "stopped", (job.state, job.error)
    at.run()
    no_errors(at)
    return job


def n_values(array) -> int:
    """Length of an array in a plotly figure's JSON: a list, or base64 bytes with a dtype."""
    if isinstance(array, dict):
        return len(base64.b64decode(array["bdata"])) // np.dtype(array["dtype"]).itemsize
    return len(array)


def infos(at) -> str:
    return " ".join(i.value for i in at.info)


def test_numpy_digits_stop_keeps_a_measured_model(apptest):
    at = apptest("pages/scratch/numpy_digits.py").run()
    at.select_slider(key="npdigits-units0").set_value(64)
    at.number_input(key="npdigits-epochs").set_value(30).run()
    start_and_stop(at, "npdigits")
    # Stop is pressed during epoch 1; on a loaded machine the page's rerun may land an epoch later.
    stopped = re.search(r"Stopped at epoch (\d+) of 30", infos(at))
    assert stopped and int(stopped.group(1)) <= 3, infos(at)
    assert float(metrics(at)["Test accuracy"].rstrip("%")) > 30, "measured like a finished run"
    assert len(at.get("plotly_chart")) == 3  # loss, accuracy, confusion matrix
    assert "Train the network first" not in infos(at), "the canvas works on the stopped model"
    run = run_of(at, "npdigits")
    assert run.state == "stopped" and run.has_model and run.status.startswith(f"stopped at epoch {stopped.group(1)} of 30")
    assert f"npdigits-canvas-{run.id}" in str(at._tree)  # the canvas belongs to the run


def test_logic_gates_stop_keeps_the_network_and_a_later_visit_shows_it(apptest):
    at = apptest("pages/scratch/logic_gates.py").run()
    at.select_slider(key="gates-steps").set_value(5000).run()  # slow motion: ~4 s in all
    start_and_stop(at, "gates", rows=2)
    assert "Stopped at step" in infos(at) and "of 5,000" in infos(at)
    assert len(at.get("plotly_chart")) == 3  # regions, loss, hidden units of the stopped network
    assert at.success or at.warning  # the verdict on the network it kept
    run = run_of(at, "gates")
    assert run.state == "stopped" and run.has_model

    # Another session opens the run: no live job, no snapshots; everything comes from the store.
    get_scheduler().release_session(at.session_state["_dlplay_session"].id)
    later = apptest("pages/scratch/logic_gates.py")
    later.session_state["run:gates"] = run.id
    later.run()
    no_errors(later)
    assert len(later.get("plotly_chart")) == 3
    assert any(c.value.startswith("step ") for c in later.caption)


def test_logic_gates_result_is_the_runs_gate_not_the_selected_one(apptest):
    at = apptest("pages/scratch/logic_gates.py").run()
    at.radio(key="gates-gate").set_value("AND")
    at.slider(key="gates-hidden").set_value(1)
    at.toggle(key="gates-slow").set_value(False).run()
    at.button(key="gates-train").click().run()
    wait_for_job(at)
    at.radio(key="gates-gate").set_value("XOR").run()  # one hidden unit can't do XOR, but this run learned AND
    no_errors(at)
    assert at.success and "Solved AND" in at.success[0].value
    assert "Settings changed since run" in infos(at)
    at.toggle(key="gates-slow").set_value(True).run()
    at.radio(key="gates-gate").set_value("AND").run()
    assert "Settings changed" not in infos(at), "slow motion changes the pace, not the run"


def test_regression_stop_keeps_the_best_setting_so_far(apptest):
    at = apptest("pages/scratch/regression.py").run()
    at.multiselect(key="regsel-width").set_value([2, 4, 8, 16])
    at.multiselect(key="regsel-lr").set_value([0.01, 0.03, 0.1])
    at.select_slider(key="regsel-epochs").set_value(500)
    at.slider(key="regsel-k").set_value(3).run()
    start_and_stop(at, "regsel")
    done = len(at.dataframe[0].value)
    assert 1 <= done < 48
    assert f"Stopped after {done} of 48 settings" in infos(at)
    assert "Winner's CV MSE" in metrics(at) and "Winner's MSE on all 60 points" in metrics(at)


def test_regression_results_keep_the_runs_points(apptest):
    at = apptest("pages/scratch/regression.py").run()
    at.multiselect(key="regsel-lr").set_value([0.1])
    at.multiselect(key="regsel-l2").set_value([0.0])
    at.select_slider(key="regsel-epochs").set_value(200)
    at.slider(key="regsel-k").set_value(2).run()
    at.button(key="regsel-train").click().run()
    wait_for_job(at)
    before = metrics(at)["Winner's MSE on all 60 points"]
    at.slider(key="regsel-n").set_value(100)
    at.slider(key="regsel-noise").set_value(0.5).run()  # new data on screen; the run keeps its own
    no_errors(at)
    assert "Settings changed since run" in infos(at)
    assert metrics(at)["Winner's MSE on all 60 points"] == before
    winner = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert winner["layout"]["title"]["text"] == "The winner, retrained on all 60 points"
    assert n_values(winner["data"][0]["x"]) == 60  # the training points drawn are the run's
    assert "0.0625" in at.metric[0].help  # the run's noise (0.25²), not the slider's


# --- bugs ------------------------------------------------------------------------------------------------

def test_perceptron_mistakes_chart_has_whole_number_ticks(apptest):
    """Was: ticks at 1.5 and 2.5 on a chart of counts."""
    at = apptest("pages/scratch/perceptron.py").run()
    for _ in range(3):
        at.button(key="pc-step").click().run()
    for updates in (3, 150):
        chart = json.loads(at.get("plotly_chart")[1].proto.spec)
        for axis in ("xaxis", "yaxis"):
            layout = chart["layout"][axis]
            assert layout.get("tickformat") == "d" and layout.get("tick0") == 0, layout
            assert isinstance(layout.get("dtick"), int) and layout["dtick"] >= 1, layout
        if updates == 3:
            assert chart["layout"]["xaxis"]["dtick"] == 1
            at.radio(key="pc-data").set_value("XOR (four clouds)").run()  # never converges: many updates
            at.select_slider(key="pc-speed").set_value(25).run()
            at.button(key="pc-play").click().run()
            for _ in range(6):
                at.run()
    assert chart["layout"]["xaxis"]["dtick"] > 1  # 150 updates: every 20 or 50, not 150 labels


NAVIGATION = {  # page → settings changed before leaving: (widget kind, key, new value)
    "pages/scratch/perceptron.py": [("slider", "pc-n", 50), ("radio", "pc-mode", "batch"), ("select_slider", "pc-lr", 1.0)],
    "pages/scratch/numpy_digits.py": [("select_slider", "npdigits-lr", 0.1), ("number_input", "npdigits-epochs", 3),
                              ("selectbox", "npdigits-act", "tanh")],
    "pages/scratch/logic_gates.py": [("radio", "gates-gate", "AND"), ("toggle", "gates-slow", False),
                             ("slider", "gates-hidden", 4)],
    "pages/scratch/regression.py": [("multiselect", "regsel-width", [4]), ("slider", "regsel-noise", 0.4),
                            ("slider", "regsel-degree", 12)],
}


@pytest.mark.parametrize("page", list(NAVIGATION))
def test_settings_survive_a_visit_to_another_page(apptest, page):
    """Was: back from another page, every setting was at its default again."""
    at = apptest("app.py").run()
    at.switch_page(page).run()
    for kind, key, value in NAVIGATION[page]:
        getattr(at, kind)(key=key).set_value(value).run()
    at.switch_page("pages/home.py").run()
    assert not at.exception and at.title[0].value.startswith("dlplay")
    at.switch_page(page).run()
    no_errors(at)
    assert [getattr(at, kind)(key=key).value for kind, key, _ in NAVIGATION[page]] == \
        [value for _, _, value in NAVIGATION[page]]
