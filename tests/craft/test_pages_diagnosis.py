"""AppTests of the page "Training diagnosis"."""
import json

import pytest

from dlplay.craft.diagnosis import CASES
from tests.conftest import chart_titles, job_of, page_texts

PAGE = "pages/craft/diagnosis.py"
KEY = "diag"
FIX = "diagfix"


def test_defaults_render_with_the_source_shown_and_no_diagnosis_given_away(apptest):
    at = apptest(PAGE).run(timeout=120)
    assert not at.exception and not at.error
    page = page_texts(at)
    assert "MNIST: 60,000 training and 10,000 test images" in page and "MNIST/raw" in page
    assert at.selectbox(key=f"{KEY}-case").value == "lr_high"
    assert at.select_slider(key=f"{KEY}-ntrain").value == 5000
    assert not at.button(key=f"{KEY}-train").disabled
    # The select box names mysteries, not diagnoses; the guesses list them all, in another order.
    assert at.selectbox(key=f"{KEY}-case").options == [f"Mystery {i}" for i in range(1, len(CASES) + 1)]
    guess = at.radio(key=f"{KEY}-guess")
    assert guess.value is None and sorted(guess.options) == sorted(c.title for c in CASES.values())
    assert CASES["lr_high"].symptom not in page and "What to notice" in [h.value for h in at.subheader]


def test_missing_mnist_is_an_error_and_train_is_off(apptest, monkeypatch):
    from dlplay import data

    def nowhere(name, progress=None):
        raise data.DatasetUnavailable("MNIST is not there: put the four files in the data directory")

    monkeypatch.setattr(data, "load", nowhere)
    at = apptest(PAGE).run(timeout=120)
    assert not at.exception
    assert any("MNIST is not there" in e.value for e in at.error)
    assert at.button(key=f"{KEY}-train").disabled


@pytest.mark.slow
def test_train_guess_reveal_and_the_fix_side_by_side(apptest):
    at = apptest(PAGE).run(timeout=120)
    at.selectbox(key=f"{KEY}-case").set_value("zero_init")
    at.select_slider(key=f"{KEY}-ntrain").set_value(1000)
    at.number_input(key=f"{KEY}-epochs").set_value(1).run()
    at.button(key=f"{KEY}-train").click().run()
    assert not at.exception
    job = job_of(at, KEY)
    assert job.wait(60) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    broken = at.session_state[f"run:{KEY}"]
    titles = chart_titles(at)
    for title in ("loss", "accuracy, train vs test", "gradient norm per layer (‖∂loss/∂W‖)",
                  "dead (ReLU) or saturated (sigmoid) units", "weights per layer over the steps"):
        assert f"Run {broken} · {title}" in titles, (title, titles)
    assert all(t.startswith("Run ") for t in titles)
    assert len(at.get("graphviz_chart")) == 1
    # Zero weights: 100 % of the units dead on the chart, the loss at log 10.
    charts = {json.loads(c.proto.spec)["layout"]["title"]["text"]: json.loads(c.proto.spec)
              for c in at.get("plotly_chart")}
    dead = charts[f"Run {broken} · dead (ReLU) or saturated (sigmoid) units"]["data"]
    assert all(v == 1.0 for trace in dead for v in trace["y"])
    assert job.result.final_loss() > 2.25

    # A wrong guess, then reveal: the diagnosis and the fix appear, and the fixed run trains beside it.
    at.radio(key=f"{KEY}-guess").set_value("lr_high").run()
    assert CASES["zero_init"].symptom not in page_texts(at)
    at.button(key=f"{KEY}-reveal").click().run()
    assert not at.exception
    assert any("you guessed “Learning rate far too high”" in w.value for w in at.warning)
    assert CASES["zero_init"].symptom in page_texts(at) and CASES["zero_init"].fix in page_texts(at)
    at.button(key=f"{FIX}-train").click().run()
    fix_job = job_of(at, FIX)
    assert fix_job.wait(60) and fix_job.state == "done", fix_job.error
    at.run()
    assert not at.exception and not at.error
    fixed = at.session_state[f"run:{FIX}"]
    assert fixed != broken
    titles = chart_titles(at)
    assert f"Run {broken} · loss" in titles and f"Run {fixed} · loss" in titles
    assert len(at.get("graphviz_chart")) == 2
    # Measured (1,000 images, 1 epoch of 15 steps): zero init 10.1 % test accuracy, the fix 66.4 %.
    assert fix_job.result.test_acc > 0.6 > job.result.test_acc + 0.3
    assert any(f"Run {fixed}" in c.value and "test accuracy" in c.value for c in at.caption)

    # The right guess says so.
    at.radio(key=f"{KEY}-guess").set_value("zero_init").run()
    assert any(s.value.startswith("Right") for s in at.success)


def test_a_diverged_run_is_a_result_not_an_error(apptest):
    at = apptest(PAGE).run(timeout=120)
    at.select_slider(key=f"{KEY}-ntrain").set_value(1000)
    at.number_input(key=f"{KEY}-epochs").set_value(1).run()
    at.button(key=f"{KEY}-train").click().run()  # Mystery 1: the learning rate far too high
    job = job_of(at, KEY)
    assert job.wait(60) and job.state == "done", job.error
    at.run()
    assert not at.exception and not at.error
    run_id = at.session_state[f"run:{KEY}"]
    assert any(f"Run {run_id}: the loss" in w.value and "at step" in w.value and "the symptom" in w.value
               for w in at.warning)
    assert f"Run {run_id} · weights per layer over the steps" in chart_titles(at)


def test_the_guess_survives_a_visit_to_another_page(apptest):
    """Issue 25: a guess made, the Runs page visited, and back: it said "No guess made"."""
    at = apptest("app.py").run(timeout=120)
    at.switch_page(PAGE).run(timeout=120)
    at.radio(key=f"{KEY}-guess").set_value("zero_init").run(timeout=120)
    at.switch_page("pages/runs.py").run(timeout=120)
    at.switch_page(PAGE).run(timeout=120)
    assert not at.exception
    assert at.radio(key=f"{KEY}-guess").value == "zero_init"
    at.button(key=f"{KEY}-reveal").click().run(timeout=120)
    assert not any("No guess made" in i.value for i in at.info)
    assert any("you guessed “Weights initialised to zero”" in w.value for w in at.warning)  # the case is lr_high
