"""The four from-scratch pages in AppTest: they render, their controls work, and training
produces results."""
from __future__ import annotations

import pytest

from dlplay.jobs import get_scheduler


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
    at = apptest("pages/perceptron.py").run()
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
    at = apptest("pages/perceptron.py").run()
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
    at = apptest("pages/logic_gates.py").run()
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
    at = apptest("pages/numpy_digits.py").run()
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
    at = apptest("pages/numpy_digits.py").run()
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
    at = apptest("pages/regression.py").run()
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
    at = apptest("pages/regression.py").run()
    at.multiselect(key="regsel-width").set_value([]).run()
    no_errors(at)
    assert at.warning and "Units per layer" in at.warning[0].value
    assert at.button(key="regsel-train").disabled
