"""Every exercise: its reference passes every hidden check, its starter fails them, and each of its typical
mistakes (at least three) is recognised with its own message; derivatives are checked against finite
differences, the loop convolution against torch.nn.functional.conv2d."""
from __future__ import annotations

import numpy as np
import pytest

from dlplay.exercises import checks, sandbox
from dlplay.exercises.catalog import BY_ID, EXERCISES
from tests.exercises.conftest import needs_sandbox

IDS = [e.id for e in EXERCISES]


def test_the_catalog_covers_the_course():
    from dlplay import course

    assert len(EXERCISES) >= 14 and len(set(IDS)) == len(IDS)
    pages = {e.page for e in EXERCISES}
    assert pages <= {p.key for p in course.COURSE}
    assert {"pc", "npdigits", "cnn", "sent", "vae", "gan", "rl"} <= pages  # every part of the course
    for e in EXERCISES:
        assert len(e.mistakes) >= 3 and len(e.hints) >= 3 and e.function in e.signature and e.statement  # hints escalate


@needs_sandbox
@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_passes_and_the_starter_fails(exercise_id):
    e = BY_ID[exercise_id]
    good = checks.check(e, e.reference_source)
    assert good.passed, [c.message for c in good.checks if not c.passed] or good.error
    stub = checks.check(e, e.stub)
    assert not stub.passed and stub.error is None
    assert all("NotImplementedError" in c.message for c in stub.checks)


@pytest.mark.parametrize("exercise_id", IDS)
def test_each_typical_mistake_gets_its_own_message(exercise_id):
    """The answer a mistake gives, as the sandbox would send it back, is named by that mistake's message
    (on at least one of the hidden cases), not by another's and not only by a bare difference."""
    e = BY_ID[exercise_id]
    reference, cases = e.reference(), e.cases(np.random.default_rng(0))
    for mistake in e.mistakes:
        messages = []
        for case in cases:
            answer = sandbox.encode(mistake.wrong(*case.args))
            result = checks._one(e, reference, case, {"value": _roundtrip(answer)})
            messages.append(result.message)
        assert any(mistake.says in m for m in messages), (mistake.says, messages)


def _roundtrip(value):
    """As JSON would carry it back from the sandbox."""
    import json

    return json.loads(json.dumps(value))


def test_a_failed_check_names_the_input_the_expected_the_received_and_where():
    e = BY_ID["perceptron"]
    case = e.cases(np.random.default_rng(0))[0]
    wrong = sandbox.encode(case.args[0] - case.args[3] * case.args[2] * case.args[1])
    message = checks._one(e, e.reference(), case, {"value": wrong}).message
    assert message.startswith("For w=[0.5, -1, 0.2], x=[1, 2, 1], y=1, lr=0.5: expected [1, 0, 0.7], got [0, -2, -0.3]")
    assert "wrong sign" in message
    assert checks.difference(np.zeros((2, 3)), np.zeros((3, 2)), 1e-6).endswith("(are the dimensions swapped?)")
    assert checks.difference(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.5, 3.0]), 1e-6) == \
        "they first differ at index (1,): 2 expected, 2.5 received"
