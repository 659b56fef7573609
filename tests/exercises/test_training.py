"""Train with your code: every exercise's model learns with the learner's piece — the reference's here, run
as learner code — and learns; in the sandbox, beside the reference on the same data and seed, rows streamed
as they come; a wrong piece learns differently; the training is a run like any other (the fair-use limits, the
store, marked "your code"), and Stop ends it keeping what it learned."""
from __future__ import annotations

import pytest

from dlplay import work
from dlplay.exercises import catalog, trainers, training
from dlplay.exercises.lesson import LESSON, FitSpec
from dlplay.jobs import DONE
from dlplay.runs import get_store
from tests.conftest import job_of
from tests.exercises.conftest import needs_sandbox
from tests.exercises.test_pages_exercises import WRONG, _check, _open

RULE = catalog.BY_ID["perceptron"]


def _rows(exercise_id: str, fn=None) -> list[dict]:
    """The trainer run in this process on `fn` (the reference's function by default): no sandbox."""
    e, t = catalog.BY_ID[exercise_id], training.TRAINERS[exercise_id]
    namespace: dict = {}
    exec(compile(trainers.source(t.module), t.module, "exec"), namespace)  # noqa: S102 - dlplay's own source
    return list(namespace["train"](fn or e.reference(), **t.args))


def test_every_exercise_has_a_model_to_train():
    assert sorted(training.TRAINERS) == sorted(catalog.BY_ID)


@pytest.mark.parametrize("exercise_id", sorted(training.TRAINERS))
def test_every_model_learns_with_the_reference_piece(exercise_id):
    """Far above chance (the classifiers), far down (the losses, the GAN's gap, the episodes' lengths): what
    the page's curve shows a learner whose piece is right."""
    t = training.TRAINERS[exercise_id]
    rows = _rows(exercise_id)
    values = [r[t.metric] for r in rows]
    assert 2 <= len(rows) <= t.rows
    if t.metric == "accuracy":
        assert values[-1] > 0.8, values
    elif exercise_id == "early_stopping":  # the rule stops before the last epoch, at a best `patience` back
        last = rows[-1]
        assert len(rows) < t.rows and last["stopped_at"] == len(rows)
        assert last["stopped_at"] - last["best_epoch"] == 10 and last["kept_accuracy"] > 0.7, last
        assert min(values) == values[last["best_epoch"] - 1] < values[-1]
    elif exercise_id == "vae":  # the negative ELBO falls, and the 2-D code carries the digits (KL > 1 nat)
        assert values[-1] < 0.8 * values[0] and rows[-1]["kl"] > 1, rows[-1]
    else:
        assert values[-1] < values[0] / 2, values


@pytest.mark.slow  # three trainings of each of 16 models
@pytest.mark.parametrize("exercise_id", sorted(training.TRAINERS))
def test_typical_mistakes_learn_differently(exercise_id):
    """The exercise's typical mistakes as the learner's piece: curves that part from the reference's (or a
    model that can't be built with it). A mistake may go unseen by one curve (the early-stopping rule that
    counts epochs worse than the one before stops where the right one does on a smooth validation curve),
    so at least one must part — the checks catch them all."""
    e = catalog.BY_ID[exercise_id]
    t = training.TRAINERS[exercise_id]
    right, parted = _rows(exercise_id), 0
    for mistake in e.mistakes:
        try:
            wrong = _rows(exercise_id, mistake.wrong)
        except (ValueError, IndexError, TypeError, FloatingPointError):
            parted += 1  # the model can't be built with it: the training says so
            continue
        parted += not training.agree(wrong, right, t.metric)
    assert parted >= 1


@needs_sandbox
def test_the_right_rule_learns_alike_in_the_sandbox_streaming_its_rows():
    from dlplay.jobs import Scheduler

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
    assert [m["accuracy"] for m in job.metrics() if m["split"] == "yours"] == yours


@needs_sandbox
def test_a_wrong_rule_learns_differently_in_the_sandbox():
    out = training.side_by_side(RULE, WRONG)
    assert not out["agree"] and not out["stopped"]
    assert out["rows"]["yours"][-1]["accuracy"] < out["rows"]["reference"][-1]["accuracy"]


@needs_sandbox
def test_a_training_is_a_stored_run_marked_your_code_and_stop_keeps_it(monkeypatch):
    monkeypatch.setenv("DLPLAY_SHARED", "1")  # a class's server: its fair-use rules
    me = work.Visitor("exercise-fit", "tab")
    conv = catalog.BY_ID["conv2d"]  # the slowest: loops over every digit before its first row
    run, job = work.start_run(me, LESSON, FitSpec("conv2d", conv.reference_source))
    with pytest.raises(work.Refused, match="still training"):  # one unit of work per visitor
        work.start_run(work.Visitor(me.workspace, "tab-2"), LESSON, FitSpec("perceptron", RULE.reference_source))
    job.cancel()
    assert job.wait(10) and job.state == "stopped", job.state
    stored = get_store().get(run.id)
    assert "your code" in stored.label() and stored.state == "stopped"
    assert LESSON.spec_from(stored.spec).code == conv.reference_source

    run, job = work.start_run(me, LESSON, FitSpec("perceptron", RULE.reference_source))
    assert job.wait(60) and job.state == DONE, job.error
    from dlplay.runs import result_of

    result = result_of(get_store().get(run.id))
    assert result.agree and len(result.yours) == len(result.reference) == 12
    assert {m["split"] for m in get_store().metrics(run.id)} == {"yours", "reference"}


@needs_sandbox
def test_the_page_trains_with_your_code_once_the_checks_pass(apptest):
    at = _open(apptest, "perceptron")
    at.session_state["ex-code-perceptron"] = RULE.reference_source
    at = _check(at)
    at.button(key="ex-train").click().run()
    assert job_of(at, "ex").wait(60)
    at.run()
    assert not at.exception
    assert any("learned alike" in s.value for s in at.success), [s.value for s in at.success]


@needs_sandbox
def test_a_training_reopened_from_the_runs_page_shows_its_exercise_code_and_curves(apptest):
    from dlplay_app.ui.workspace import LOCAL_WORKSPACE

    sarsa = catalog.BY_ID["sarsa"]
    run, job = work.start_run(work.Visitor(LOCAL_WORKSPACE, "earlier-tab"), LESSON,
                              FitSpec("sarsa", sarsa.reference_source))
    assert job.wait(60) and job.state == DONE, job.error
    at = apptest("pages/exercises.py")
    at.session_state["_dlplay_reopen"] = {"page": "ex", "run": run.id}
    at.run()
    assert not at.exception
    assert at.selectbox(key="ex-id").value == "sarsa"
    assert any("learned alike" in s.value for s in at.success), [s.value for s in at.success]
    assert sum(c.value.strip() == sarsa.reference_source.strip() for c in at.code) == 2  # trained with; the reference
