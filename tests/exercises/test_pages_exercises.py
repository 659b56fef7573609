"""The Exercises page in AppTest sessions: an exercise's statement and its starter, Check running the hidden
checks as a job in the sandbox, a typical mistake named, hints one at a time, a passing answer, the code and
progress kept in the workspace beyond the session, the reference behind the teacher's switch."""
from __future__ import annotations

import pytest

from dlplay.exercises import catalog, progress
from dlplay_app.ui.workspace import LOCAL_WORKSPACE
from tests.conftest import job_of, page_texts
from tests.exercises.conftest import needs_sandbox

PAGE, KEY = "pages/exercises.py", "ex"
RULE = catalog.BY_ID["perceptron"]
WRONG = "def update(w, x, y, lr):\n    return w - lr * y * x if y * (w @ x) <= 0 else w\n"


def _open(apptest, exercise: str):
    at = apptest(PAGE)
    at.query_params["ex"] = exercise
    return at.run()


def _check(at):
    at.button(key=f"{KEY}-check").click().run()
    assert job_of(at, f"{KEY}-check").wait(60), "the check did not finish"
    return at.run()


@needs_sandbox
def test_a_wrong_rule_is_named_a_right_one_passes_and_both_are_kept(apptest):
    at = _open(apptest, "perceptron")
    assert not at.exception
    assert "perceptron learning rule" in page_texts(at) and "0 of 16 exercises passed" in page_texts(at)
    code = f"{KEY}-code-perceptron"
    assert at.session_state[code] == RULE.stub

    at.session_state[code] = WRONG
    at = _check(at)
    assert any("the update has the wrong sign" in e.value for e in at.error), [e.value for e in at.error]
    assert progress.get(LOCAL_WORKSPACE, "perceptron").attempts == 1
    at.button(key=f"{KEY}-hint").click().run()
    assert [i.value for i in at.info if i.value.startswith("Hint")] == [f"Hint 1: {RULE.hints[0]}"]

    at.session_state[code] = RULE.reference_source
    at = _check(at)
    assert not at.error and any("Every check passed (4)" in s.value for s in at.success)
    kept = progress.get(LOCAL_WORKSPACE, "perceptron")
    assert kept.passed and kept.attempts == 2 and kept.code == RULE.reference_source

    again = _open(apptest, "perceptron")  # a new session (a reload, a restart): the code and progress are back
    assert again.session_state[code] == RULE.reference_source
    assert "1 of 16 exercises passed" in page_texts(again)


def test_the_reference_is_behind_the_teachers_switch(apptest, monkeypatch):
    at = _open(apptest, "relu")
    assert any("The reference" in x.label for x in at.expander)
    monkeypatch.setenv("DLPLAY_SOLUTIONS", "hide")
    hidden = _open(apptest, "relu")
    assert not hidden.exception and not any("The reference" in x.label for x in hidden.expander)


def test_a_lesson_page_offers_its_exercises_and_the_welcome_page_counts_them(apptest):
    progress.checked(LOCAL_WORKSPACE, "relu", catalog.BY_ID["relu"].reference_source, True)
    at = apptest("app.py").run()
    assert not at.exception
    passed = sum(p.passed for p in progress.of(LOCAL_WORKSPACE).values())
    assert f"You have passed {passed} of 16." in page_texts(at) and passed >= 1
    at.switch_page("pages/scratch/perceptron.py").run()
    sidebar = "\n".join(m.value for m in at.sidebar.markdown)
    assert "Write it yourself" in sidebar and "(exercises?ex=perceptron)" in sidebar


@needs_sandbox
@pytest.mark.parametrize("exercise_id", ["sigmoid", "dense", "conv2d", "attention", "vae", "sarsa"])
def test_one_exercise_of_each_part_of_the_course_passes_with_its_reference(apptest, exercise_id):
    """From scratch, neural networks, CNNs, sequences, generative models, RL: the page checks the
    reference as a learner's answer and every check passes; the starter, every check fails."""
    e = catalog.BY_ID[exercise_id]
    at = _open(apptest, exercise_id)
    assert not at.exception and e.title in at.selectbox(key=f"{KEY}-id").format_func(exercise_id)
    at = _check(at)  # the starter
    assert at.error and not at.success
    at.session_state[f"{KEY}-code-{exercise_id}"] = e.reference_source
    at = _check(at)
    assert not at.error and any(f"Every check passed ({len(e.cases(__import__('numpy').random.default_rng(0)))})"
                                in s.value for s in at.success)


@needs_sandbox
def test_hostile_code_checked_on_the_page_is_stopped_or_contained_and_the_page_goes_on(apptest, monkeypatch):
    """Each hostile answer through the page's Check: the learner reads what happened, the page keeps working
    (a right answer passes after them all), and nothing of them remains (processes, cgroups, files)."""
    import os
    from pathlib import Path

    from dlplay.exercises import checks
    from tests.exercises.test_sandbox import LEFT, QUICK, _cgroups, _processes, hostile

    monkeypatch.setattr(checks.check, "__defaults__", (QUICK,))  # the page's limits, shortened: 2 s of CPU
    before = _processes()
    at = _open(apptest, "perceptron")
    for what, (code, says) in hostile(os.environ["DLPLAY_HOME"]).items():
        at.session_state[f"{KEY}-code-perceptron"] = code
        at = _check(at)
        assert not at.exception, what
        assert any(says in e.value for e in at.error), (what, [e.value for e in at.error])
    at.session_state[f"{KEY}-code-perceptron"] = RULE.reference_source
    at = _check(at)
    assert any("Every check passed" in s.value for s in at.success)
    assert _processes() <= before and _cgroups() == [] and not (Path("/tmp") / LEFT).exists()
