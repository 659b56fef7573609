"""Train with your code: the learner's perceptron rule trains a model in the sandbox, beside the reference on
the same data and seed, rows streamed as they come; the right rule learns exactly alike, a wrong one not."""
from __future__ import annotations

import pytest

from dlplay.exercises import catalog, training
from dlplay.jobs import DONE, Scheduler
from tests.exercises.conftest import needs_sandbox
from tests.exercises.test_pages_exercises import WRONG, _check, _open

pytestmark = needs_sandbox
RULE = catalog.BY_ID["perceptron"]


def test_the_right_rule_learns_exactly_as_the_reference_and_streams_its_rows():
    sched = Scheduler(max_workers=1)
    try:
        job = sched.submit(lambda j: training.side_by_side(RULE, RULE.reference_source, j), session_id="s",
                           name="fit")
        assert job.wait(60) and job.state == DONE, job.error
    finally:
        sched.shutdown()
    out = job.result
    assert out["agree"] and not out["stopped"]
    yours = [r["accuracy"] for r in out["rows"]["yours"]]
    assert len(yours) == 12 and yours[-1] > 0.85, yours  # two overlapping clouds: most points separable
    streamed = [m for m in job.metrics() if m["split"] == "yours"]
    assert [m["accuracy"] for m in streamed] == yours


@pytest.mark.parametrize("exercise_id", sorted(training.TRAINERS))
def test_every_trainable_exercise_learns_with_its_reference(exercise_id):
    """The reference as the learner's code learns exactly as the reference, and learns: perceptron and
    softmax regression above chance, momentum down the valley, the TD agents to shorter episodes."""
    e = catalog.BY_ID[exercise_id]
    out = training.side_by_side(e, e.reference_source)
    assert out["agree"] and not out["stopped"]
    values = [r[out["metric"]] for r in out["rows"]["yours"]]
    if out["metric"] == "accuracy":
        assert values[-1] > 0.85, values
    else:  # loss or steps per episode: far lower at the end
        assert values[-1] < values[0] / 2, values


def test_a_wrong_rule_learns_differently():
    out = training.side_by_side(RULE, WRONG)
    assert not out["agree"] and not out["stopped"]
    assert out["rows"]["yours"][-1]["accuracy"] < out["rows"]["reference"][-1]["accuracy"]


def test_the_page_trains_with_your_code_once_the_checks_pass(apptest):
    at = _open(apptest, "perceptron")
    at.session_state["ex-code-perceptron"] = RULE.reference_source
    at = _check(at)
    at.button(key="ex-fit-start").click().run()
    from tests.conftest import job_of

    assert job_of(at, "ex-fit").wait(60)
    at.run()
    assert not at.exception
    assert any("learned exactly alike" in s.value for s in at.success), [s.value for s in at.success]
